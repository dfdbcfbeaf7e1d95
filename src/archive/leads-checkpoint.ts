import type { UploadedPart } from './archive-store.client.js';

/**
 * One uploaded part of `leads.ndjson.gz`, as a resumable export records it once the store has it.
 * Each part is a gzip member of its own that ends at a page boundary, so an export that dies
 * after it goes on from `lastPage + 1` with the state recorded here, not from page 1.
 */
export interface LeadsPartRecord {
  partNumber: number;
  etag: string;
  bytes: number;
  /** Distinct leads in the part. */
  leads: number;
  firstPage: number;
  lastPage: number;
  /** The SHA-256 of the object up to the end of this part, as a resumable hash state. */
  sha256State: Buffer;
  /** The LeadsDigest of the leads up to the end of this part (hex). */
  leadsDigest: string;
  /** The de-duplication fingerprints the part's leads added (8 bytes a lead). */
  fingerprints: Buffer;
  /** DialNexa's `meta.total` when the part was cut. */
  leadsTotalReported: number | null;
}

/** The multipart upload of an export's leads, and the parts recorded so far. */
export interface LeadsUpload {
  key: string;
  uploadId: string;
  /** The seeds of the de-duplication fingerprints (a restored set must use the same ones). */
  seeds: [number, number];
  parts: LeadsPartRecord[];
}

/**
 * Where an export keeps its leads upload across attempts (PostgreSQL, on the teardown). Every
 * write is fenced like the teardown's own: a worker that lost the lease records nothing.
 */
export interface LeadsCheckpoints {
  load(): Promise<LeadsUpload | null>;
  /** Starts a new upload record, forgetting any earlier one and its parts. */
  begin(upload: Omit<LeadsUpload, 'parts'>): Promise<void>;
  savePart(part: LeadsPartRecord): Promise<void>;
  clear(): Promise<void>;
}

export type ResumePlan =
  | { kind: 'fresh'; reason: string | null }
  /** `upload.parts` are the recorded parts the store still holds; `dropped` were recorded but are not. */
  | { kind: 'resume'; upload: LeadsUpload; dropped: number };

/**
 * How an export of `key` starts, given what it recorded and what the store holds of that upload
 * (`null`: the upload is gone, aborted or expired). It goes on after the longest run of recorded
 * parts, from part 1 on, that the store holds with the same ETag and size; a part the store holds
 * beyond them (uploaded, not recorded) is sent again, which replaces it.
 */
export function planResume(
  recorded: LeadsUpload | null,
  key: string,
  onStore: UploadedPart[] | null,
): ResumePlan {
  if (recorded === null) return { kind: 'fresh', reason: null };
  if (recorded.key !== key)
    return { kind: 'fresh', reason: `the recorded upload is of another key (${recorded.key})` };
  if (onStore === null)
    return { kind: 'fresh', reason: `upload ${recorded.uploadId} is gone (aborted or expired)` };
  const stored = new Map(onStore.map((part) => [part.partNumber, part]));
  const sorted = [...recorded.parts].sort((a, b) => a.partNumber - b.partNumber);
  const kept: LeadsPartRecord[] = [];
  for (const part of sorted) {
    const there = stored.get(part.partNumber);
    const expectedPage = kept.length === 0 ? 1 : kept.at(-1)!.lastPage + 1;
    if (part.partNumber !== kept.length + 1 || part.firstPage !== expectedPage) break;
    if (!there || there.etag !== part.etag || there.bytes !== part.bytes) break;
    kept.push(part);
  }
  return { kind: 'resume', upload: { ...recorded, parts: kept }, dropped: sorted.length - kept.length };
}

/** Where a resumed export goes on: the next page and part, and the totals so far. */
export function resumePoint(parts: readonly LeadsPartRecord[]): {
  nextPage: number;
  nextPart: number;
  leads: number;
  bytes: number;
} {
  const last = parts.at(-1);
  return {
    nextPage: last ? last.lastPage + 1 : 1,
    nextPart: parts.length + 1,
    leads: parts.reduce((sum, part) => sum + part.leads, 0),
    bytes: parts.reduce((sum, part) => sum + part.bytes, 0),
  };
}
