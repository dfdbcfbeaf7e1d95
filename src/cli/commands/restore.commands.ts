import { type Command, Option } from 'commander';
import { call, type Schemas } from '../api/api.client.js';
import type { CliContext } from '../cli.context.js';
import { printable } from '../output.js';
import { positiveInt } from './teardown.commands.js';

type RestoreResource = Schemas['Restore'];

const ENDED = new Set(['completed', 'failed']);

/** restore start | get | list (start: role admin; get and list: admin, auditor). */
export function registerRestoreCommands(program: Command, ctx: CliContext): void {
  const restore = program
    .command('restore')
    .description("restore a deleted workflow from its teardown's archive, as a new draft (never activated)");

  restore
    .command('start')
    .description('start a restore of a completed teardown (role admin)')
    .argument('<teardownId>', 'the teardown id (td_…)')
    .requiredOption('--reason <text>', 'why (3-2000 characters); kept in the audit trail')
    .option('--dry-run', 'verify the archive and report what would be created, creating nothing')
    .addOption(
      new Option(
        '--snapshot <snapshot>',
        'which snapshot (default: final when the teardown has one)',
      ).choices(['export', 'final']),
    )
    .option(
      '--exclude-status <status...>',
      'lead statuses not to re-enrol (default: removed); give none with --exclude-status ""',
    )
    .option('--idempotency-key <key>', 'repeating the request with the same key answers the same restore')
    .option('--wait', 'follow the restore to its end; exit 1 unless it completed')
    .action(
      async (
        teardownId: string,
        options: {
          reason: string;
          dryRun?: boolean;
          snapshot?: 'export' | 'final';
          excludeStatus?: string[];
          idempotencyKey?: string;
          wait?: boolean;
        },
      ) => {
        const { client, baseUrl } = ctx.client();
        const started = await call(baseUrl, () =>
          client.POST('/v1/restores', {
            body: {
              teardownId,
              reason: options.reason,
              dryRun: options.dryRun,
              snapshot: options.snapshot,
              excludeLeadStatuses: options.excludeStatus?.filter((s) => s !== ''),
            },
            params: { header: options.idempotencyKey ? { 'Idempotency-Key': options.idempotencyKey } : {} },
          }),
        );
        if (!options.wait) {
          ctx.output.result(started, () => restoreDetails(started));
          return;
        }
        await follow(ctx, started.id, 1000);
      },
    );

  restore
    .command('get')
    .description('show a restore: status, progress, id map size, what was not restored, error')
    .argument('<id>', 'the restore id (rst_…)')
    .option('--watch', 'poll until it ends; exit 1 unless it completed')
    .addOption(new Option('--interval <ms>', 'how often to poll').argParser(positiveInt).default(1000))
    .action(async (id: string, options: { watch?: boolean; interval: number }) => {
      if (options.watch) {
        await follow(ctx, id, options.interval);
        return;
      }
      const found = await getRestore(ctx, id);
      ctx.output.result(found, () => restoreDetails(found));
    });

  restore
    .command('list')
    .description("a teardown's restores, newest first")
    .requiredOption('--teardown <id>', 'the teardown id (td_…)')
    .option('--limit <n>', 'at most this many (1-100)', positiveInt)
    .action(async (options: { teardown: string; limit?: number }) => {
      const { client, baseUrl } = ctx.client();
      const page = await call(baseUrl, () =>
        client.GET('/v1/restores', {
          params: { query: { teardownId: options.teardown, limit: options.limit } },
        }),
      );
      ctx.output.result(page, () =>
        page.data.length === 0 ? 'no restores' : page.data.map((r) => restoreLine(r)).join('\n'),
      );
    });
}

async function getRestore(ctx: CliContext, id: string): Promise<RestoreResource> {
  const { client, baseUrl } = ctx.client();
  return call(baseUrl, () => client.GET('/v1/restores/{id}', { params: { path: { id } } }));
}

/** Polls until the restore ends, a line per change; the run fails unless it completed. */
async function follow(ctx: CliContext, id: string, intervalMs: number): Promise<void> {
  const sleep = ctx.deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let last = '';
  for (;;) {
    const found = await getRestore(ctx, id);
    const line = restoreLine(found);
    if (line !== last) {
      if (ctx.output.json) ctx.output.result(found, () => line);
      else ctx.output.info(line);
      last = line;
    }
    if (ENDED.has(found.status)) {
      ctx.output.info(restoreDetails(found, false));
      if (found.status !== 'completed') ctx.fail();
      return;
    }
    await sleep(intervalMs);
  }
}

function count(c: { done: number; total: number | null }): string {
  return `${c.done}/${c.total ?? '?'}`;
}

function restoreLine(r: RestoreResource): string {
  const p = r.progress;
  return (
    `${printable(r.id)} ${printable(r.status)}${r.dryRun ? ' (dry run)' : ''} teardown ${printable(r.teardownId)}: ` +
    `nodes ${count(p.nodes)}, edges ${count(p.edges)}, leads ${count(p.leads)}`
  );
}

/** The restore in full; `headline: false` when its one-line summary was just printed. */
function restoreDetails(r: RestoreResource, headline = true): string {
  const lines = headline ? [restoreLine(r)] : [];
  if (r.newWorkflowId) lines.push(`new draft workflow: ${printable(r.newWorkflowId)}`);
  if (r.progress.requestsTotal !== null) {
    const time =
      r.progress.secondsAtCurrentRate === null
        ? ''
        : `, ~${r.progress.secondsAtCurrentRate} s at the current rate`;
    lines.push(`requests: ${r.progress.upstreamRequests} sent of ${r.progress.requestsTotal} creates${time}`);
  }
  if (r.idMapKey) lines.push(`id map: ${printable(r.idMapKey)}`);
  for (const n of r.notRestored) {
    lines.push(
      `not restored: ${printable(n.what)}${n.count === undefined ? '' : ` (${n.count})`}: ${printable(n.why)}`,
    );
  }
  if (r.error) lines.push(`error ${r.error.code}: ${printable(r.error.message)}`);
  return lines.join('\n');
}
