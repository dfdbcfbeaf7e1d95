import { z } from 'zod';
import type { Approval } from '../approvals/approval.js';
import { ERROR_CODES } from '../common/domain-error.js';
import { teardownIdSchema } from '../common/ids.dto.js';
import { TEARDOWN_STATUSES, TEARDOWN_STEPS, type Teardown } from './teardown.js';

const isoDateTime = () => z.string().meta({ format: 'date-time' });
const sha256Hex = () => z.string().regex(/^[0-9a-f]{64}$/);
const archiveCountsSchema = z.strictObject({ nodes: z.int(), edges: z.int(), leads: z.int() });

/**
 * The teardown resource of the service contract (`GET /v1/teardowns/{id}`), as the OpenAPI
 * document describes it; `presentTeardown` builds it.
 */
export const teardownResourceSchema = z
  .strictObject({
    id: teardownIdSchema,
    workflowId: z.string(),
    status: z.enum(TEARDOWN_STATUSES),
    dryRun: z.boolean(),
    includeLeadHistory: z.boolean(),
    reason: z.string(),
    ticket: z.string().nullable(),
    requestedBy: z.string(),
    approvalsRequired: z.int(),
    approvals: z.array(
      z.strictObject({
        approver: z.string(),
        decision: z.enum(['approved', 'rejected']),
        comment: z.string().nullable(),
        decidedAt: isoDateTime(),
      }),
    ),
    attempt: z.int(),
    createdAt: isoDateTime(),
    updatedAt: isoDateTime(),
    completedAt: isoDateTime().nullable(),
    progress: z.strictObject({
      step: z.enum(TEARDOWN_STEPS).meta({ description: 'the step running now, or the last one run' }),
      leadsExported: z.int(),
      leadsTotal: z.int().nullable().meta({ description: "DialNexa's count, once the export has read it" }),
      upstreamRequests: z.int().meta({
        description: 'upstream requests sent for this teardown so far, every attempt and resend included',
      }),
      upstreamRequestsLeft: z.int().nullable().meta({
        description:
          'an estimate of the upstream requests still to send (0 once finished), null before one is made',
      }),
      secondsLeft: z.number().nullable().meta({
        description:
          "an estimate of the time those requests take at the key's stated rate limit or the pace seen, without the settle wait",
      }),
      estimatedAt: isoDateTime().nullable().meta({ description: 'when the estimate was made' }),
    }),
    archive: z
      .strictObject({
        bucket: z.string(),
        manifestKey: z.string(),
        manifestSha256: sha256Hex(),
        manifestVersionId: z.string().nullable(),
        counts: archiveCountsSchema,
        verifiedAt: isoDateTime().nullable(),
        final: z
          .strictObject({
            manifestKey: z.string(),
            manifestSha256: sha256Hex(),
            counts: archiveCountsSchema,
            verifiedAt: isoDateTime().nullable(),
          })
          .nullable()
          .meta({ description: 'the snapshot taken after the cancel, once leads in transit settled' }),
      })
      .nullable()
      .meta({ description: 'the verified export, once written; kept when the teardown fails or is aborted' }),
    error: z
      .strictObject({
        code: z.enum(ERROR_CODES),
        message: z.string(),
        step: z.enum(TEARDOWN_STEPS),
        retryable: z.boolean(),
      })
      .nullable(),
  })
  .meta({ id: 'Teardown' });
export type TeardownResource = z.output<typeof teardownResourceSchema>;

export const teardownPageSchema = z
  .strictObject({
    data: z.array(teardownResourceSchema).meta({ description: 'newest first' }),
    nextCursor: teardownIdSchema.nullable().meta({ description: 'pass as `cursor` for the next page' }),
  })
  .meta({ id: 'TeardownPage' });

/** The teardown resource of the service contract (`GET /v1/teardowns/{id}`). */
export function presentTeardown(teardown: Teardown, approvals: readonly Approval[] = []): TeardownResource {
  const archive = teardown.archive;
  return {
    id: teardown.id,
    workflowId: teardown.workflowId,
    status: teardown.status,
    dryRun: teardown.dryRun,
    includeLeadHistory: teardown.includeLeadHistory,
    reason: teardown.reason,
    ticket: teardown.ticket,
    requestedBy: teardown.requestedBy,
    approvalsRequired: teardown.approvalsRequired,
    approvals: approvals.map((a) => ({
      approver: a.approver,
      decision: a.decision,
      comment: a.comment,
      decidedAt: a.decidedAt.toISOString(),
    })),
    attempt: teardown.attempt,
    createdAt: teardown.createdAt.toISOString(),
    updatedAt: teardown.updatedAt.toISOString(),
    completedAt: teardown.completedAt?.toISOString() ?? null,
    progress: {
      step: teardown.step,
      leadsExported: teardown.leadsExported,
      leadsTotal: teardown.leadsTotal,
      upstreamRequests: teardown.upstreamRequests,
      upstreamRequestsLeft: teardown.estimate?.requestsLeft ?? null,
      secondsLeft: teardown.estimate?.secondsLeft ?? null,
      estimatedAt: teardown.estimate?.at.toISOString() ?? null,
    },
    archive: archive
      ? {
          bucket: archive.bucket,
          manifestKey: archive.manifestKey,
          manifestSha256: archive.manifestSha256,
          manifestVersionId: archive.manifestVersionId,
          counts: archive.counts,
          verifiedAt: archive.verifiedAt,
          final: archive.final
            ? {
                manifestKey: archive.final.manifestKey,
                manifestSha256: archive.final.manifestSha256,
                counts: archive.final.counts,
                verifiedAt: archive.final.verifiedAt,
              }
            : null,
        }
      : null,
    error: teardown.error,
  };
}
