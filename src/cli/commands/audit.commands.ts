import type { Command } from 'commander';
import { call } from '../api/api.client.js';
import type { CliContext } from '../cli.context.js';
import { printable } from '../output.js';
import { verificationText } from '../render.js';

/** audit verify | trail. */
export function registerAuditCommands(program: Command, ctx: CliContext): void {
  const audit = program.command('audit').description('the append-only audit chain');

  audit
    .command('verify')
    .description('verify the audit chain and its anchors (role auditor); exit 1 when it fails')
    .action(async () => {
      const { client, baseUrl } = ctx.client();
      const report = await call(baseUrl, () => client.GET('/v1/audit/verify'));
      ctx.output.result(report, () => verificationText(report));
      if (!report.ok) ctx.fail();
    });

  audit
    .command('trail')
    .description("a teardown's audit events, oldest first")
    .argument('<id>', 'the teardown id (td_…)')
    .action(async (id: string) => {
      const { client, baseUrl } = ctx.client();
      const trail = await call(baseUrl, () =>
        client.GET('/v1/teardowns/{id}/audit', { params: { path: { id } } }),
      );
      ctx.output.result(trail, () =>
        trail.data
          .map(
            (e) =>
              `#${e.seq} ${e.at} ${e.type.padEnd(18)} by ${printable(e.actor)}  hash ${e.hash.slice(0, 16)}…`,
          )
          .join('\n'),
      );
    });
}
