import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { access, mkdir, readdir, readFile, stat } from 'node:fs/promises';
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
 * Downloading an archive and checking it against its manifests (service contract: "An archive is
 * complete only when its manifest exists and every object matches it"): each manifest's own
 * SHA-256 against the one the service recorded, then every object's size, SHA-256 and record
 * count against its manifest. The export's manifest is `manifest.json`; the snapshot taken after
 * the cancel, when there is one, is under `final/` with its own `final/manifest.json`. The same
 * check runs on a directory downloaded earlier.
 */

const EXPORT_MANIFEST = 'manifest.json';
const FINAL_MANIFEST = 'final/manifest.json';

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
type Manifest = z.output<typeof manifestSchema>;
type ManifestEntry = Manifest['objects'][number];
type SnapshotDownload = Schemas['ArchiveSnapshotDownload'];

export interface ManifestCheck {
  /** The manifest's file, relative to the archive directory. */
  file: string;
  sha256: string;
  /** The SHA-256 the service recorded for it, when known. */
  expectedSha256: string | null;
  problems: string[];
}

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
  manifests: ManifestCheck[];
  objects: ObjectCheck[];
}

/** The manifests' SHA-256 as the service recorded them (`teardown.archive`). */
export interface ExpectedManifests {
  export: string | null;
  /** Null: check `final/manifest.json` only if it is there. */
  final: string | null;
}

/** Downloads the archive the API describes into `dir` (new or empty), then checks it. */
export async function downloadArchive(
  description: Schemas['ArchiveDownload'],
  dir: string,
  fetchImpl: typeof fetch = globalThis.fetch,
): Promise<ArchiveCheck> {
  await ensureEmptyDir(dir);
  const unlisted = await downloadSnapshot(fetchImpl, description, dir, EXPORT_MANIFEST);
  if (description.final)
    unlisted.push(...(await downloadSnapshot(fetchImpl, description.final, dir, FINAL_MANIFEST)));
  const check = await checkArchiveDir(dir, {
    export: description.manifestSha256,
    final: description.final?.manifestSha256 ?? null,
  });
  for (const object of check.objects) {
    if (unlisted.includes(object.key)) object.problems.unshift('the service offered no download URL for it');
  }
  return { ...check, ok: check.ok && unlisted.length === 0 };
}

/** Downloads one snapshot; answers the keys its manifest lists that the service gave no URL for. */
async function downloadSnapshot(
  fetchImpl: typeof fetch,
  snapshot: SnapshotDownload,
  dir: string,
  manifestFile: string,
): Promise<string[]> {
  await mkdir(path.dirname(path.join(dir, manifestFile)), { recursive: true });
  await download(fetchImpl, snapshot.manifestUrl, path.join(dir, manifestFile));
  const manifest = parseManifest(await readFile(path.join(dir, manifestFile)), manifestFile);
  const urls = new Map(snapshot.objects.map((o) => [o.key, o.url]));
  const unlisted: string[] = [];
  for (const entry of manifest.objects) {
    const url = urls.get(entry.key);
    if (!url) {
      unlisted.push(entry.key);
      continue;
    }
    const file = relativeFile(manifest, entry.key, manifestFile);
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await download(fetchImpl, url, path.join(dir, file));
  }
  return unlisted;
}

/**
 * Checks a downloaded archive directory: `manifest.json` and its objects, and `final/manifest.json`
 * and its objects when that is there (or expected).
 */
export async function checkArchiveDir(dir: string, expected: ExpectedManifests): Promise<ArchiveCheck> {
  const exported = await checkSnapshot(dir, EXPORT_MANIFEST, expected.export);
  const hasFinal =
    expected.final !== null ||
    (await access(path.join(dir, FINAL_MANIFEST)).then(
      () => true,
      () => false,
    ));
  const final = hasFinal ? await checkSnapshot(dir, FINAL_MANIFEST, expected.final) : null;
  const manifests = [exported.manifest, ...(final ? [final.manifest] : [])];
  const objects = [...exported.objects, ...(final?.objects ?? [])];
  return {
    ok: [...manifests, ...objects].every((c) => c.problems.length === 0),
    dir,
    teardownId: exported.teardownId,
    workflowId: exported.workflowId,
    manifests,
    objects,
  };
}

async function checkSnapshot(dir: string, manifestFile: string, expectedSha256: string | null) {
  const bytes = await readFile(path.join(dir, manifestFile)).catch((error: unknown) => {
    throw new CliError(
      'ARCHIVE_MANIFEST_MISSING',
      `${path.join(dir, manifestFile)} cannot be read: ${errorText(error)}`,
    );
  });
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const manifest = parseManifest(bytes, manifestFile);
  const problems =
    expectedSha256 !== null && expectedSha256 !== sha256
      ? [`SHA-256 is ${sha256}, the service recorded ${expectedSha256}`]
      : [];
  const objects: ObjectCheck[] = [];
  for (const entry of manifest.objects) objects.push(await checkObject(dir, manifest, entry, manifestFile));
  return {
    teardownId: manifest.teardownId,
    workflowId: manifest.workflowId,
    manifest: { file: manifestFile, sha256, expectedSha256, problems },
    objects,
  };
}

async function checkObject(
  dir: string,
  manifest: Manifest,
  entry: ManifestEntry,
  manifestFile: string,
): Promise<ObjectCheck> {
  const file = relativeFile(manifest, entry.key, manifestFile);
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
  if (check.sha256 !== entry.sha256) {
    check.problems.push(`SHA-256 is ${check.sha256}, the manifest says ${entry.sha256}`);
  }
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

function parseManifest(bytes: Buffer, manifestFile: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new CliError('ARCHIVE_MANIFEST_INVALID', `${manifestFile} is not JSON: ${errorText(error)}`);
  }
  const result = manifestSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new CliError(
      'ARCHIVE_MANIFEST_INVALID',
      `${manifestFile} is not a manifest: ${issue?.path.join('.')} ${issue?.message}`,
    );
  }
  return result.data;
}

/**
 * An object's file, relative to the archive directory: its key after `{workflowId}/{teardownId}/`
 * (so `final/leads.ndjson.gz` keeps its folder). A key that would leave the directory, or
 * overwrite a manifest, is refused.
 */
export function relativeFile(
  manifest: Pick<Manifest, 'workflowId' | 'teardownId'>,
  key: string,
  manifestFile: string = EXPORT_MANIFEST,
): string {
  const base = `${manifest.workflowId}/${manifest.teardownId}/`;
  const at = key.indexOf(base);
  const relative = at < 0 ? '' : key.slice(at + base.length);
  const normalized = path.posix.normalize(relative);
  if (
    !relative ||
    normalized !== relative ||
    normalized.startsWith('../') ||
    path.posix.isAbsolute(normalized) ||
    [EXPORT_MANIFEST, FINAL_MANIFEST, manifestFile].includes(normalized)
  ) {
    throw new CliError(
      'ARCHIVE_MANIFEST_INVALID',
      `${manifestFile} names an object outside its archive: ${JSON.stringify(key)}`,
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
      `${path.basename(file)}: the store answered ${response.status} (presigned URLs expire: run the command again)`,
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

/** The human report of a check: one line per manifest and per object, then the verdict. */
export function archiveCheckText(check: ArchiveCheck): string {
  const lines: string[] = [];
  for (const manifest of check.manifests) {
    const verdict =
      manifest.problems.length > 0
        ? `BAD  ${manifest.file}  ${manifest.problems.join('; ')}`
        : `ok   ${manifest.file}  sha256 ${manifest.sha256} ${manifest.expectedSha256 ? 'as the service recorded' : '(not compared: no --sha256)'}`;
    lines.push(verdict);
  }
  for (const object of check.objects) {
    const measured = object.bytes === null ? '' : `${object.bytes} B, ${object.records ?? '-'} records`;
    const problems = object.problems.length > 0 ? `: ${object.problems.join('; ')}` : '';
    lines.push(
      `${object.problems.length === 0 ? 'ok  ' : 'BAD '} ${printable(object.file)}  ${measured}${problems}`,
    );
  }
  lines.push(
    check.ok
      ? `archive of ${check.teardownId} verified: ${check.manifests.length} manifest(s) and ${check.objects.length} objects match (${check.dir})`
      : `archive of ${check.teardownId} FAILED verification (${check.dir})`,
  );
  return lines.join('\n');
}
