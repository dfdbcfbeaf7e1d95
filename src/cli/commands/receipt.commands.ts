import type { Command } from 'commander';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { call } from '../api/api.client.js';
import type { CliContext } from '../cli.context.js';
import { CliError, EXIT } from '../cli.error.js';
import {
  checkReceiptOffline,
  checkReceiptOnline,
  parseJwks,
  receiptCheckText,
  type ReceiptSources,
} from '../receipt-check.js';

/** receipt get | verify. */
export function registerReceiptCommands(program: Command, ctx: CliContext): void {
  const receipt = program.command('receipt').description("a completed teardown's signed deletion receipt");

  receipt
    .command('get')
    .description('save the receipt (roles auditor, admin, or the requester) exactly as the service stores it')
    .argument('<id>', 'the teardown id (td_…)')
    .requiredOption('--out <file>', 'a new file to write it to')
    .action(async (id: string, options: { out: string }) => {
      const { client, baseUrl } = ctx.client();
      const bytes = await call(baseUrl, () =>
        client.GET('/v1/teardowns/{id}/receipt', { params: { path: { id } }, parseAs: 'arrayBuffer' }),
      );
      const file = path.resolve(options.out);
      await writeNew(file, Buffer.from(bytes));
      ctx.output.result(
        { teardownId: id, file, bytes: bytes.byteLength },
        () => `receipt of ${id} saved to ${file}`,
      );
    });

  receipt
    .command('verify')
    .description(
      'check a receipt offline: canonical bytes and an Ed25519 signature by a key of the JWK set; ' +
        'with --online also its manifests and anchor in S3 and its events in the audit chain; exit 1 when any check fails',
    )
    .argument('<file>', 'the receipt (from `receipt get` or the bucket)')
    .option(
      '--jwks <file>',
      "the JWK set to check against, for fully offline use (default: the service's /.well-known/jwks.json)",
    )
    .option('--online', 'also check it against the bucket and the audit chain (role auditor)')
    .action(async (file: string, options: { jwks?: string; online?: boolean }) => {
      const bytes = await readInput(path.resolve(file));
      const jwks = options.jwks
        ? parseJwks((await readInput(path.resolve(options.jwks))).toString('utf8'), options.jwks)
        : await fetchJwks(ctx);
      const { report, receipt: checked } = checkReceiptOffline(bytes, jwks, file);
      if (options.online && checked) {
        report.online = await checkReceiptOnline(bytes, checked, apiSources(ctx));
        report.ok = report.online.checks.every((c) => c.ok);
      }
      ctx.output.result(report, () => receiptCheckText(report));
      if (!report.ok) ctx.fail();
    });
}

async function fetchJwks(ctx: CliContext) {
  const { client, baseUrl } = ctx.client();
  const jwks = await call(baseUrl, () => client.GET('/.well-known/jwks.json'));
  return parseJwks(JSON.stringify(jwks), `${baseUrl}/.well-known/jwks.json`);
}

function apiSources(ctx: CliContext): ReceiptSources {
  const { client, baseUrl } = ctx.client();
  return {
    evidence: (id) =>
      call(baseUrl, () => client.GET('/v1/teardowns/{id}/receipt/evidence', { params: { path: { id } } })),
    events: async (teardownId) => {
      const events = [];
      let cursor: string | undefined;
      do {
        const page = await call(baseUrl, () =>
          client.GET('/v1/audit', { params: { query: { teardownId, limit: 500, cursor } } }),
        );
        events.push(...page.data);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return events;
    },
    chainVerifies: async () => {
      const report = await call(baseUrl, () => client.GET('/v1/audit/verify'));
      return report.ok
        ? { ok: true, detail: `${report.events} events, head ${report.head.slice(0, 16)}…` }
        : { ok: false, detail: `event #${report.firstBad.seq} ${report.firstBad.reason}` };
    },
    download: async (url) => {
      let response: Response;
      try {
        response = await ctx.deps.fetch(url);
      } catch (error) {
        throw new CliError('STORE_UNREACHABLE', `no answer from the store: ${(error as Error).message}`);
      }
      if (!response.ok) {
        throw new CliError(
          'STORE_DOWNLOAD_FAILED',
          `the store answered ${response.status} (presigned URLs expire)`,
        );
      }
      return Buffer.from(await response.arrayBuffer());
    },
  };
}

async function readInput(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    throw new CliError('FILE_UNREADABLE', `${file}: ${(error as Error).message}`, EXIT.USAGE);
  }
}

async function writeNew(file: string, bytes: Buffer): Promise<void> {
  try {
    await writeFile(file, bytes, { flag: 'wx' });
  } catch (error) {
    const exists = (error as NodeJS.ErrnoException).code === 'EEXIST';
    throw new CliError(
      exists ? 'OUTPUT_FILE_EXISTS' : 'FILE_UNWRITABLE',
      exists ? `${file} exists: give a new file` : `${file}: ${(error as Error).message}`,
      EXIT.USAGE,
    );
  }
}
