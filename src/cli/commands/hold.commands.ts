import { type Command, Option } from 'commander';
import { call } from '../api/api.client.js';
import type { CliContext } from '../cli.context.js';
import { printable } from '../output.js';
import { holdDetails, holdTable } from '../render.js';
import { positiveInt } from './teardown.commands.js';

/** holds place | lift | list (role admin; list also auditor). */
export function registerHoldCommands(program: Command, ctx: CliContext): void {
  const holds = program
    .command('holds')
    .description('legal holds: while one is in force, nothing of its workflow is cancelled or deleted');

  holds
    .command('place')
    .description('place a legal hold on a workflow')
    .argument('<workflowId>', 'the DialNexa workflow id')
    .requiredOption('--reason <text>', 'why (3-2000 characters)')
    .action(async (workflowId: string, options: { reason: string }) => {
      const { client, baseUrl } = ctx.client();
      const placed = await call(baseUrl, () =>
        client.POST('/v1/holds', { body: { workflowId, reason: options.reason } }),
      );
      ctx.output.result(placed, () => {
        const teardowns = placed.teardowns.map(
          (t) =>
            `  teardown ${printable(t.id)} ${printable(t.status)}` +
            (t.deleteSent
              ? ': a DELETE may already have reached DialNexa'
              : t.cancelSent
                ? ': already cancelled upstream'
                : ': stopped before its cancel'),
        );
        return [`placed: ${holdDetails(placed)}`, ...teardowns].join('\n');
      });
    });

  holds
    .command('lift')
    .description('lift a legal hold')
    .argument('<holdId>', 'the hold id (hold_…)')
    .action(async (id: string) => {
      const { client, baseUrl } = ctx.client();
      const hold = await call(baseUrl, () => client.DELETE('/v1/holds/{id}', { params: { path: { id } } }));
      ctx.output.result(hold, () => `lifted: ${holdDetails(hold)}`);
    });

  holds
    .command('list')
    .description('list legal holds')
    .option('--workflow <id>', 'only those of this workflow')
    .addOption(new Option('--active', 'only holds in force').conflicts('lifted'))
    .option('--lifted', 'only lifted holds')
    .option('--limit <n>', 'at most this many (1-100)', positiveInt)
    .option('--cursor <id>', "the previous page's nextCursor")
    .action(
      async (options: {
        workflow?: string;
        active?: boolean;
        lifted?: boolean;
        limit?: number;
        cursor?: string;
      }) => {
        const { client, baseUrl } = ctx.client();
        const active = options.active ? 'true' : options.lifted ? 'false' : undefined;
        const page = await call(baseUrl, () =>
          client.GET('/v1/holds', {
            params: {
              query: { workflowId: options.workflow, active, limit: options.limit, cursor: options.cursor },
            },
          }),
        );
        ctx.output.result(
          page,
          () => `${holdTable(page.data)}${page.nextCursor ? `\nmore: --cursor ${page.nextCursor}` : ''}`,
        );
      },
    );
}
