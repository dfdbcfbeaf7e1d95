import { z } from 'zod';

/**
 * The archive manifest (service contract, "Archive layout in S3"). It is written last, once, and
 * an archive is complete only when every object it lists matches it. Fields beyond the contract
 * (`versionId`, `retainUntil`, `leadsTotalReported`) are additions: readers must ignore unknown ones.
 */

export const MANIFEST_FORMAT_VERSION = 1;

export interface ManifestObject {
  key: string;
  bytes: number;
  sha256: string;
  /** JSON objects in the object: 1 for workflow.json, array length for nodes/edges, lines for NDJSON. */
  records: number;
  contentType: string;
  /** The S3 version this entry describes; the bucket is versioned. */
  versionId: string | null;
}

export interface Manifest {
  formatVersion: number;
  teardownId: string;
  workflowId: string;
  exportedAt: string;
  source: { baseUrl: string; apiVersion: 'v1' };
  objects: ManifestObject[];
  /** `meta.total` of the leads listing as DialNexa reported it. */
  leadsTotalReported: number | null;
  /** `export` (before the cancel) or `final` (after it, once leads in transit settled). */
  snapshot?: ArchiveSnapshot;
  /** In a final snapshot: the names of the objects whose content differs from the export. */
  changedSinceExport?: string[];
  /** See ArchiveRef.leadsDigest. */
  leadsDigest?: string;
}

export type ArchiveSnapshot = 'export' | 'final';

/** What the teardown row keeps of its archive; shown as `teardown.archive`. */
export interface ArchiveRef {
  bucket: string;
  manifestKey: string;
  manifestSha256: string;
  manifestVersionId: string | null;
  counts: { nodes: number; edges: number; leads: number };
  objects: ManifestObject[];
  verifiedAt: string | null;
  /**
   * Order-independent digest of the leads (the sum of the SHA-256 of each lead's line), so that a
   * later snapshot can tell whether any lead changed without keeping them.
   */
  leadsDigest?: string | null;
  /** The post-cancel snapshot under `final/`, once taken. */
  final?: ArchiveRef | null;
}

export type ArchiveObjectName =
  'workflow.json' | 'nodes.json' | 'edges.json' | 'leads.ndjson.gz' | 'lead-history.ndjson.gz';

export function archiveDir(
  prefix: string,
  workflowId: string,
  teardownId: string,
  snapshot: ArchiveSnapshot = 'export',
): string {
  return `${prefix}${workflowId}/${teardownId}/${snapshot === 'final' ? 'final/' : ''}`;
}

export function manifestKey(
  prefix: string,
  workflowId: string,
  teardownId: string,
  snapshot: ArchiveSnapshot = 'export',
): string {
  return `${archiveDir(prefix, workflowId, teardownId, snapshot)}manifest.json`;
}

/** Manifest bytes are canonical (stable key order, trailing newline) so their hash is reproducible. */
export function serializeManifest(manifest: Manifest): Buffer {
  return Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
}

const manifestSchema = z.object({
  formatVersion: z.literal(MANIFEST_FORMAT_VERSION),
  teardownId: z.string().min(1),
  workflowId: z.string().min(1),
  exportedAt: z.string().min(1),
  source: z.object({ baseUrl: z.string(), apiVersion: z.literal('v1') }),
  objects: z
    .array(
      z.object({
        key: z.string().min(1),
        bytes: z.number().int().nonnegative(),
        sha256: z.string().regex(/^[0-9a-f]{64}$/),
        records: z.number().int().nonnegative(),
        contentType: z.string().min(1),
        versionId: z.string().nullable(),
      }),
    )
    .min(1),
  leadsTotalReported: z.number().int().nonnegative().nullable(),
  snapshot: z.enum(['export', 'final']).optional(),
  changedSinceExport: z.array(z.string()).optional(),
  leadsDigest: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
});

/** Parses manifest bytes read back from the store; throws with the reason when they are not one. */
export function parseManifest(bytes: Buffer): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new Error('manifest.json is not valid JSON', { cause: error });
  }
  const result = manifestSchema.safeParse(json);
  if (!result.success) {
    throw new Error(
      `manifest.json does not match format ${MANIFEST_FORMAT_VERSION}: ${result.error.message}`,
    );
  }
  return result.data;
}

export function countsOf(manifest: Manifest): ArchiveRef['counts'] {
  const records = (name: ArchiveObjectName) =>
    manifest.objects.find((o) => o.key.endsWith(`/${name}`))?.records ?? 0;
  return { nodes: records('nodes.json'), edges: records('edges.json'), leads: records('leads.ndjson.gz') };
}
