import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { createGunzip } from 'node:zlib';
import { z } from 'zod';
import type { Schemas } from './api/api.client.js';
import { CliError, EXIT } from './cli.error.js';
import { printable } from './output.js';

/**
 * Downloading an archive and checking it against its manifest (service contract: "An archive is
 * complete only when its manifest exists and every object matches it"): the manifest's own
 * SHA-256 against the one the service recorded, then every object's size, SHA-256 and record
 * count against the manifest. The same check runs on a directory downloaded earlier.
 */

const MANIFEST_FILE = 'manifest.json';

const manifestSchema = z.object({
  formatVersion: z.literal(1),
  teardownId: z.string().min(1),
  workflowId: z.string().min(1),
  objects: z
    .array(
      z.object({
        key: z.string().min(1),
        bytes: z.int().min(0),
        sha256: z.string().regex(/^[0-9a-f]{64}$/),
        records: z.int().min(0),
      }),
    )
    .min(1),
});
type ManifestEntry = z.output<typeof manifestSchema>['objects'][number];

export interface ObjectCheck {
  key: string;
  /** Where it is, relative to the archive directory. */
  file: string;
  bytes: number | null;
  sha256: string | null;
  records: number | null;
  problems: string[];
}

export interface ArchiveCheck {
  ok: boolean;
  dir: string;
  teardownId: string;
  workflowId: string;
  manifest: { sha256: string; expectedSha256: string | null; problems: string[] };
  objects: ObjectCheck[];
}

/** Downloads the archive the API describes into `dir` (new or empty), then checks it. */
export async function downloadArchive(
  description: Schemas['ArchiveDownload'],
  dir: string,
  fetchImpl: typeof fetch = globalThis.fetch,
): Promise<ArchiveCheck> {
  await ensureEmptyDir(dir);
  await download(fetchImpl, description.manifestUrl, path.join(dir, MANIFEST_FILE));
  const manifest = await readManifest(dir);
  const listed = new Map(description.objects.map((o) => [o.key, o.url]));
  const missing: string[] = [];
  for (const entry of manifest.objects) {
    const url = listed.get(entry.key);
    if (!url) {
      missing.push(entry.key);
      continue;
    }
    const file = relativeFile(manifest, entry.key);
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await download(fetchImpl, url, path.join(dir, file));
  }
  const check = await checkArchiveDir(dir, description.manifestSha256);
  for (const key of missing) {
    const object = check.objects.find((o) => o.key === key);
    object?.problems.unshift('the service offered no download URL for it');
  }
  return { ...check, ok: check.ok && missing.length === 0 };
}

/** Checks a downloaded archive directory against its manifest.json (and its SHA-256, when known). */
export async function checkArchiveDir(
  dir: string,
  expectedManifestSha256: string | null,
): Promise<ArchiveCheck> {
  const manifestBytes = await readFile(path.join(dir, MANIFEST_FILE)).catch((error: unknown) => {
    throw new CliError(
      'ARCHIVE_MANIFEST_MISSING',
      `${path.join(dir, MANIFEST_FILE)} cannot be read: ${String(error)}`,
    );
  });
  const manifestSha256 = createHash('sha256').update(manifestBytes).digest('hex');
  const manifest = parseManifest(manifestBytes);
  const manifestProblems =
    expectedManifestSha256 !== null && expectedManifestSha256 !== manifestSha256
      ? [`SHA-256 is ${manifestSha256}, the service recorded ${expectedManifestSha256}`]
      : [];
  const objects: ObjectCheck[] = [];
  for (const entry of manifest.objects) objects.push(await checkObject(dir, manifest, entry));
  return {
    ok: manifestProblems.length === 0 && objects.every((o) => o.problems.length === 0),
    dir,
    teardownId: manifest.teardownId,
    workflowId: manifest.workflowId,
    manifest: { sha256: manifestSha256, expectedSha256: expectedManifestSha256, problems: manifestProblems },
    objects,
  };
}

async function checkObject(dir: string, manifest: Manifest, entry: ManifestEntry): Promise<ObjectCheck> {
  const file = relativeFile(manifest, entry.key);
  const full = path.join(dir, file);
  const check: ObjectCheck = { key: entry.key, file, bytes: null, sha256: null, records: null, problems: [] };
  try {
    check.bytes = (await stat(full)).size;
  } catch {
    check.problems.push('missing');
    return check;
  }
  check.sha256 = await sha256Of(full);
  if (check.bytes !== entry.bytes)
    check.problems.push(`${check.bytes} bytes, the manifest says ${entry.bytes}`);
  if (check.sha256 !== entry.sha256)
    check.problems.push(`SHA-256 is ${check.sha256}, the manifest says ${entry.sha256}`);
  try {
    check.records = await recordsOf(full);
    if (check.records !== null && check.records !== entry.records) {
      check.problems.push(`${check.records} records, the manifest says ${entry.records}`);
    }
  } catch (error) {
    check.problems.push(
      `cannot be read as ${file.endsWith('.gz') ? 'gzip NDJSON' : 'JSON'}: ${errorText(error)}`,
    );
  }
  return check;
}

type Manifest = z.output<typeof manifestSchema>;

function parseManifest(bytes: Buffer): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new CliError('ARCHIVE_MANIFEST_INVALID', `manifest.json is not JSON: ${errorText(error)}`);
  }
  const result = manifestSchema.safeParse(json);
  if (!result.success) {
    throw new CliError(
      'ARCHIVE_MANIFEST_INVALID',
      `manifest.json is not a manifest: ${result.error.issues[0]?.message}`,
    );
  }
  return result.data;
}

async function readManifest(dir: string): Promise<Manifest> {
  return parseManifest(await readFile(path.join(dir, MANIFEST_FILE)));
}

/**
 * An object's file, relative to the archive directory: its key after `{workflowId}/{teardownId}/`
 * (so `final/leads.ndjson.gz` keeps its folder). A key that would leave the directory is refused.
 */
export function relativeFile(manifest: Pick<Manifest, 'workflowId' | 'teardownId'>, key: string): string {
  const base = `${manifest.workflowId}/${manifest.teardownId}/`;
  const at = key.indexOf(base);
  const relative = at < 0 ? '' : key.slice(at + base.length);
  const normalized = path.posix.normalize(relative);
  if (
    !relative ||
    normalized !== relative ||
    normalized.startsWith('../') ||
    path.posix.isAbsolute(normalized) ||
    normalized === MANIFEST_FILE
  ) {
    throw new CliError(
      'ARCHIVE_MANIFEST_INVALID',
      `the manifest names an object outside its archive: ${JSON.stringify(key)}`,
    );
  }
  return normalized;
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

/**
 * JSON objects in the file, as the manifest counts them: lines of a gzip NDJSON file (split on
 * `\n` only: U+2028 and U+2029 are legal inside JSON strings), the elements of a JSON array, 1 for
 * a JSON object. Null for other kinds of files, whose count is not checked.
 */
async function recordsOf(file: string): Promise<number | null> {
  if (file.endsWith('.ndjson.gz')) return linesOf(file);
  if (!file.endsWith('.json')) return null;
  const value: unknown = JSON.parse(await readFile(file, 'utf8'));
  return Array.isArray(value) ? value.length : 1;
}

async function linesOf(file: string): Promise<number> {
  let lines = 0;
  let pending = false;
  const counter = new Writable({
    write(chunk: Buffer, _encoding, done) {
      let at = 0;
      for (;;) {
        const newline = chunk.indexOf(0x0a, at);
        if (newline < 0) {
          if (at < chunk.length) pending = true;
          break;
        }
        if (newline > at || pending) lines += 1;
        pending = false;
        at = newline + 1;
      }
      done();
    },
  });
  await pipeline(createReadStream(file), createGunzip(), counter);
  return lines + (pending ? 1 : 0);
}

async function download(fetchImpl: typeof fetch, url: string, file: string): Promise<void> {
  let response: Response;
  try {
    response = await fetchImpl(url);
  } catch (error) {
    throw new CliError(
      'ARCHIVE_DOWNLOAD_FAILED',
      `${path.basename(file)}: no answer from the store: ${errorText(error)}`,
    );
  }
  if (!response.ok || !response.body) {
    throw new CliError(
      'ARCHIVE_DOWNLOAD_FAILED',
      `${path.basename(file)}: the store answered ${response.status} (presigned URLs expire: request them again)`,
    );
  }
  await pipeline(
    Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
    createWriteStream(file, { flags: 'wx' }),
  );
}

async function ensureEmptyDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  if ((await readdir(dir)).length > 0) {
    throw new CliError(
      'OUTPUT_DIR_NOT_EMPTY',
      `${dir} is not empty: give a new or empty directory`,
      EXIT.USAGE,
    );
  }
}

function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.cause instanceof Error ? `${error.message} (${error.cause.message})` : error.message;
}

/** The human report of a check: one line per object, then the verdict. */
export function archiveCheckText(check: ArchiveCheck): string {
  const lines = [
    `manifest.json  sha256 ${check.manifest.sha256}  ${check.manifest.problems.length === 0 ? (check.manifest.expectedSha256 ? 'matches the service' : 'not compared (no --sha256)') : check.manifest.problems.join('; ')}`,
  ];
  for (const object of check.objects) {
    const measured = object.bytes === null ? '' : `${object.bytes} B, ${object.records ?? '-'} records`;
    lines.push(
      `${object.problems.length === 0 ? 'ok  ' : 'BAD '} ${printable(object.file)}  ${measured}${object.problems.length ? `: ${object.problems.join('; ')}` : ''}`,
    );
  }
  lines.push(
    check.ok
      ? `archive of ${check.teardownId} verified: ${check.objects.length} objects match their manifest (${check.dir})`
      : `archive of ${check.teardownId} FAILED verification (${check.dir})`,
  );
  return lines.join('\n');
}
