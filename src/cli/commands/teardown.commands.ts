import { type Command, InvalidArgumentError, Option } from 'commander';
import { call, type TeardownResource } from '../api/api.client.js';
import type { CliContext } from '../cli.context.js';
import { teardownDetails, teardownTable } from '../render.js';
import { progressViewFor, watchTeardown } from '../teardown-watcher.js';

const STATUSES = [
  'awaiting_approval',
  'queued',
  'exporting',
  'cancelling',
  'deleting',
  'completed',
  'failed',
  'rejected',
  'aborted',
] as const;

export function positiveInt(value: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(value)) throw new InvalidArgumentError('must be a positive whole number');
  return Number(value);
}

const intervalOption = () =>
  new Option('--interval <ms>', 'how often to poll the teardown').argParser(positiveInt).default(1000);

/** request, status, list, watch, approve, reject, abort, retry. */
export function registerTeardownCommands(program: Command, ctx: CliContext): void {
  program
    .command('request')
    .description('request the teardown of a workflow (archive, audit, cancel, delete)')
    .argument('<workflowId>', 'the DialNexa workflow id')
    .requiredOption('--reason <text>', 'why (3-2000 characters); kept in the audit trail')
    .option('--ticket <id>', 'a ticket reference')
    .option('--dry-run', 'export and audit only: never cancel or delete')
    .option('--include-lead-history', "also archive each lead's history (one upstream request per lead)")
    .option('--idempotency-key <key>', 'repeating the request with the same key answers the same teardown')
    .option('--wait', 'follow the teardown to its end, showing its progress; exit 1 unless it completed')
    .addOption(intervalOption())
    .action(
      async (
        workflowId: string,
        options: {
          reason: string;
          ticket?: string;
          dryRun?: boolean;
          includeLeadHistory?: boolean;
          idempotencyKey?: string;
          wait?: boolean;
          interval: number;
        },
      ) => {
        const { client, baseUrl } = ctx.client();
        const teardown = await call(baseUrl, () =>
          client.POST('/v1/teardowns', {
            body: {
              workflowId,
              reason: options.reason,
              ...(options.ticket === undefined ? {} : { ticket: options.ticket }),
              ...(options.dryRun ? { dryRun: true } : {}),
              ...(options.includeLeadHistory ? { includeLeadHistory: true } : {}),
            },
            params: {
              header:
                options.idempotencyKey === undefined ? {} : { 'Idempotency-Key': options.idempotencyKey },
            },
          }),
        );
        if (!options.wait) {
          ctx.output.result(teardown, () => `requested: ${teardownDetails(teardown)}`);
          return;
        }
        ctx.output.info(`requested teardown ${teardown.id} of ${workflowId}`);
        await follow(ctx, teardown.id, options.interval);
      },
    );

  program
    .command('status')
    .description('show a teardown: status, progress, archive, error')
    .argument('<id>', 'the teardown id (td_…)')
    .action(async (id: string) => {
      const teardown = await getTeardown(ctx, id);
      ctx.output.result(teardown, () => teardownDetails(teardown));
    });

  program
    .command('list')
    .description('list teardowns, newest first')
    .option('--workflow <id>', 'only those of this workflow')
    .addOption(new Option('--status <status>', 'only those in this status').choices(STATUSES))
    .option('--limit <n>', 'at most this many (1-100)', positiveInt)
    .option('--cursor <id>', "the previous page's nextCursor")
    .action(
      async (options: {
        workflow?: string;
        status?: (typeof STATUSES)[number];
        limit?: number;
        cursor?: string;
      }) => {
        const { client, baseUrl } = ctx.client();
        const page = await call(baseUrl, () =>
          client.GET('/v1/teardowns', {
            params: {
              query: {
                workflowId: options.workflow,
                status: options.status,
                limit: options.limit,
                cursor: options.cursor,
              },
            },
          }),
        );
        ctx.output.result(page, () => {
          const more = page.nextCursor ? `\nmore: --cursor ${page.nextCursor}` : '';
          return `${teardownTable(page.data)}${more}`;
        });
      },
    );

  program
    .command('watch')
    .description('follow a teardown to its end with a live progress bar; exit 1 unless it completed')
    .argument('<id>', 'the teardown id (td_…)')
    .addOption(intervalOption())
    .action(async (id: string, options: { interval: number }) => {
      await follow(ctx, id, options.interval);
    });

  for (const decision of ['approve', 'reject'] as const) {
    program
      .command(decision)
      .description(`${decision} a teardown awaiting approval (role approver, not its requester)`)
      .argument('<id>', 'the teardown id (td_…)')
      .option('--comment <text>', 'kept in the audit trail')
      .action(async (id: string, options: { comment?: string }) => {
        const { client, baseUrl } = ctx.client();
        const request = {
          params: { path: { id } },
          body: options.comment === undefined ? {} : { comment: options.comment },
        };
        const teardown = await call(baseUrl, () =>
          decision === 'approve'
            ? client.POST('/v1/teardowns/{id}/approve', request)
            : client.POST('/v1/teardowns/{id}/reject', request),
        );
        ctx.output.result(
          teardown,
          () => `${decision === 'approve' ? 'approved' : 'rejected'}: ${teardownDetails(teardown)}`,
        );
      });
  }

  program
    .command('abort')
    .description('abort a teardown (possible until its cancel has been sent upstream)')
    .argument('<id>', 'the teardown id (td_…)')
    .action(async (id: string) => {
      const { client, baseUrl } = ctx.client();
      const teardown = await call(baseUrl, () =>
        client.POST('/v1/teardowns/{id}/abort', { params: { path: { id } } }),
      );
      ctx.output.result(teardown, () => `aborted: ${teardownDetails(teardown)}`);
    });

  program
    .command('retry')
    .description('retry a teardown that failed retryably, from the step that failed')
    .argument('<id>', 'the teardown id (td_…)')
    .option('--wait', 'follow it to its end; exit 1 unless it completed')
    .addOption(intervalOption())
    .action(async (id: string, options: { wait?: boolean; interval: number }) => {
      const { client, baseUrl } = ctx.client();
      const teardown = await call(baseUrl, () =>
        client.POST('/v1/teardowns/{id}/retry', { params: { path: { id } } }),
      );
      if (!options.wait) {
        ctx.output.result(teardown, () => `retrying: ${teardownDetails(teardown)}`);
        return;
      }
      await follow(ctx, id, options.interval);
    });
}

async function getTeardown(ctx: CliContext, id: string): Promise<TeardownResource> {
  const { client, baseUrl } = ctx.client();
  return call(baseUrl, () => client.GET('/v1/teardowns/{id}', { params: { path: { id } } }));
}

/** Watches the teardown to its end; the run fails unless it completed. */
async function follow(ctx: CliContext, id: string, intervalMs: number): Promise<void> {
  const output = ctx.output;
  const teardown = await watchTeardown(() => getTeardown(ctx, id), progressViewFor(output), {
    intervalMs,
    sleep: ctx.deps.sleep,
  });
  if (!output.json) output.info(teardownDetails(teardown));
  if (teardown.status !== 'completed') ctx.fail();
}
