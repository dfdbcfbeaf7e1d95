/**
 * The bench's correctness check, which fails it outright: the teardown completed, the teardown
 * resource says the archive holds N leads and was verified, and the archived leads object, read
 * back here, holds N lines with N distinct lead ids. It also hands back the NDJSON bytes, which
 * the floor compresses and uploads again.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { TeardownResource } from './export-run.ts';
import { readGunzipped } from './floor.ts';

export interface ArchiveCheck {
  ok: boolean;
  problems: string[];
  countsLeads: number | null;
  verifiedAt: string | null;
  lines: number;
  distinctIds: number;
  ndjsonBytes: number;
  gzipBytes: number;
  /** The archived NDJSON, exactly as the service wrote it (released once the floor is measured). */
  ndjson: Buffer[];
}

const NEWLINE = 0x0a;
const ID_PREFIX = Buffer.from('{"id":"');

export async function checkArchive(
  s3: S3Client,
  teardown: TeardownResource,
  leads: number,
): Promise<ArchiveCheck> {
  const problems: string[] = [];
  const archive = teardown.archive;
  if (teardown.status !== 'completed') {
    problems.push(
      `teardown ${teardown.id} ended ${teardown.status}${teardown.error ? ` (${teardown.error.code} at ${teardown.error.step}: ${teardown.error.message})` : ''}`,
    );
  }
  if (!archive) problems.push('the teardown resource has no archive');
  else {
    if (archive.counts.leads !== leads)
      problems.push(`archive.counts.leads is ${archive.counts.leads}, expected ${leads}`);
    if (!archive.verifiedAt) problems.push('archive.verifiedAt is null: the manifest was never verified');
  }
  const empty = { lines: 0, distinctIds: 0, ndjsonBytes: 0, gzipBytes: 0, ndjson: [] };
  if (!archive) return { ok: false, problems, countsLeads: null, verifiedAt: null, ...empty };

  const manifestOut = await s3.send(
    new GetObjectCommand({
      Bucket: archive.bucket,
      Key: archive.manifestKey,
      VersionId: archive.manifestVersionId ?? undefined,
    }),
  );
  const manifest = JSON.parse(await manifestOut.Body!.transformToString('utf8')) as {
    objects: Array<{ key: string; versionId: string | null; records: number }>;
  };
  const object = manifest.objects.find((o) => o.key.endsWith('/leads.ndjson.gz'));
  if (!object) {
    problems.push('the manifest lists no leads.ndjson.gz');
    return {
      ok: false,
      problems,
      countsLeads: archive.counts.leads,
      verifiedAt: archive.verifiedAt,
      ...empty,
    };
  }
  const read = await readGunzipped(s3, archive.bucket, object.key, object.versionId);
  const { lines, distinctIds } = countLeads(read.chunks);
  if (lines !== leads) problems.push(`leads.ndjson.gz holds ${lines} lines, expected ${leads}`);
  if (distinctIds !== lines) problems.push(`leads.ndjson.gz holds ${lines - distinctIds} duplicate lead ids`);
  return {
    ok: problems.length === 0,
    problems,
    countsLeads: archive.counts.leads,
    verifiedAt: archive.verifiedAt,
    lines,
    distinctIds,
    ndjsonBytes: read.bytes,
    gzipBytes: read.gzipBytes,
    ndjson: read.chunks,
  };
}

/** Lines split on `\n` only (never readline: U+2028 is legal inside a JSON string), and their ids. */
function countLeads(chunks: readonly Buffer[]): { lines: number; distinctIds: number } {
  const ids = new Set<string>();
  let lines = 0;
  let pending: Buffer[] = [];
  const take = (line: Buffer): void => {
    if (line.length === 0) return;
    lines += 1;
    ids.add(leadId(line));
  };
  for (const chunk of chunks) {
    let start = 0;
    for (let end = chunk.indexOf(NEWLINE); end !== -1; end = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, end);
      if (pending.length > 0) {
        take(Buffer.concat([...pending, piece]));
        pending = [];
      } else take(piece);
      start = end + 1;
    }
    if (start < chunk.length) pending.push(chunk.subarray(start));
  }
  if (pending.length > 0) take(Buffer.concat(pending));
  return { lines, distinctIds: ids.size };
}

/** The lead's id: read from the line's start when it is the first key (as served), parsed otherwise. */
function leadId(line: Buffer): string {
  if (line.subarray(0, ID_PREFIX.length).equals(ID_PREFIX)) {
    const end = line.indexOf(0x22, ID_PREFIX.length);
    const id = line.toString('latin1', ID_PREFIX.length, end);
    if (end > 0 && !id.includes('\\')) return id;
  }
  const parsed = JSON.parse(line.toString('utf8')) as { id?: unknown };
  return String(parsed.id);
}
