import { z } from 'zod';

const manifestObjectSchema = z.strictObject({
  key: z.string(),
  bytes: z.int().min(0),
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .meta({ description: "SHA-256 of the object's bytes as stored" }),
  records: z.int().min(0).meta({ description: 'JSON objects in it: 1 for workflow.json, elements, lines' }),
  contentType: z.string(),
  versionId: z.string().nullable(),
});

/** `manifest.json` as stored (service contract, "Archive layout in S3"); readers ignore unknown fields. */
export const manifestDocumentSchema = z
  .object({
    formatVersion: z.literal(1),
    teardownId: z.string(),
    workflowId: z.string(),
    exportedAt: z.string().meta({ format: 'date-time' }),
    source: z.object({ baseUrl: z.string(), apiVersion: z.literal('v1') }),
    objects: z.array(manifestObjectSchema),
    leadsTotalReported: z.int().nullable(),
    snapshot: z.enum(['export', 'final']).optional(),
    changedSinceExport: z.array(z.string()).optional(),
    leadsDigest: z.string().optional(),
  })
  .meta({ id: 'ArchiveManifest' });

/**
 * One snapshot of an archive: its manifest as stored, with a short-lived presigned download URL
 * for the manifest and for each object (`ArchiveService.describe`).
 */
const archiveSnapshotDownloadSchema = z
  .strictObject({
    bucket: z.string(),
    manifestKey: z.string(),
    manifestSha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .meta({ description: "SHA-256 of manifest.json's bytes" }),
    manifestUrl: z.url(),
    expiresAt: z.string().meta({ format: 'date-time', description: 'when the URLs stop working' }),
    manifest: manifestDocumentSchema,
    objects: z.array(manifestObjectSchema.extend({ url: z.url() })),
  })
  .meta({ id: 'ArchiveSnapshotDownload' });

/**
 * `GET /v1/teardowns/{id}/archive`: the export, and the snapshot taken after the cancel (under
 * `final/`) once there is one.
 */
export const archiveDescriptionSchema = archiveSnapshotDownloadSchema
  .extend({
    final: archiveSnapshotDownloadSchema.nullable().meta({
      description: 'the snapshot taken after the cancel, once leads in transit settled (null before)',
    }),
  })
  .meta({ id: 'ArchiveDownload' });
export type ArchiveDownload = z.output<typeof archiveDescriptionSchema>;
