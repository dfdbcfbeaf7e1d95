import type { Approval } from '../approvals/approval.js';
import type { Teardown } from './teardown.js';

/** The teardown resource of the service contract (`GET /v1/teardowns/{id}`). */
export function presentTeardown(teardown: Teardown, approvals: readonly Approval[] = []) {
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

export type TeardownResource = ReturnType<typeof presentTeardown>;
