import type { Command } from 'commander';
import path from 'node:path';
import { call } from '../api/api.client.js';
import { archiveCheckText, checkArchiveDir, downloadArchive } from '../archive-check.js';
import type { CliContext } from '../cli.context.js';

/** archive get | verify. */
export function registerArchiveCommands(program: Command, ctx: CliContext): void {
  const archive = program.command('archive').description("a teardown's archive in S3");

  archive
    .command('get')
    .description(
      'download an archive (role auditor) and verify every object against its manifest; exit 1 on a mismatch',
    )
    .argument('<id>', 'the teardown id (td_…)')
    .requiredOption('--out <dir>', 'a new or empty directory to download into')
    .action(async (id: string, options: { out: string }) => {
      const { client, baseUrl } = ctx.client();
      const description = await call(baseUrl, () =>
        client.GET('/v1/teardowns/{id}/archive', { params: { path: { id } } }),
      );
      const check = await downloadArchive(description, path.resolve(options.out), ctx.deps.fetch);
      ctx.output.result(check, () => archiveCheckText(check));
      if (!check.ok) ctx.fail();
    });

  archive
    .command('verify')
    .description('verify an archive downloaded earlier against its manifests; exit 1 on a mismatch')
    .argument('<dir>', 'the directory `archive get` wrote')
    .option(
      '--sha256 <hex>',
      "manifest.json's SHA-256 as the service recorded it (teardown.archive.manifestSha256)",
    )
    .option(
      '--final-sha256 <hex>',
      "final/manifest.json's SHA-256 as the service recorded it (teardown.archive.final.manifestSha256)",
    )
    .action(async (dir: string, options: { sha256?: string; finalSha256?: string }) => {
      const check = await checkArchiveDir(path.resolve(dir), {
        export: options.sha256?.toLowerCase() ?? null,
        final: options.finalSha256?.toLowerCase() ?? null,
      });
      ctx.output.result(check, () => archiveCheckText(check));
      if (!check.ok) ctx.fail();
    });
}
