import type { ArchiveRef, ArchiveSnapshot } from '../../archive/manifest.js';
import { type AppConfig, loadConfig } from '../../config/app.config.js';
import type { Teardown } from '../teardown.js';

export const WORKFLOW_ID = 'wfl_m3v7zb9rk2px';
export const TEARDOWN_ID = 'td_01JB6Z3K4V9Q2W8E5R7T1Y3U6I';

export function buildTeardown(overrides: Partial<Teardown> = {}): Teardown {
  const created = new Date('2024-05-01T09:00:00.000Z');
  return {
    id: TEARDOWN_ID,
    workflowId: WORKFLOW_ID,
    status: 'queued',
    step: 'export',
    dryRun: false,
    includeLeadHistory: false,
    reason: 'customer offboarding',
    ticket: 'OPS-1234',
    requestedBy: 'billing-team',
    approvalsRequired: 0,
    attempt: 1,
    fencingToken: 0n,
    claimsSinceProgress: 0,
    leaseOwner: null,
    leaseExpiresAt: null,
    leadsExported: 0,
    leadsTotal: null,
    upstreamRequests: 0,
    estimate: null,
    cancelSentAt: null,
    cancelledAt: null,
    deletePending: false,
    deleteAttempts: 0,
    deleteWaitStartedAt: null,
    deletedAt: null,
    archive: null,
    error: null,
    createdAt: created,
    updatedAt: created,
    completedAt: null,
    ...overrides,
  };
}

export function buildArchiveRef(
  overrides: Partial<ArchiveRef> = {},
  snapshot: ArchiveSnapshot = 'export',
): ArchiveRef {
  const dir = `teardowns/${WORKFLOW_ID}/${TEARDOWN_ID}/${snapshot === 'final' ? 'final/' : ''}`;
  return {
    bucket: 'archive',
    manifestKey: `${dir}manifest.json`,
    manifestSha256: 'a'.repeat(64),
    manifestVersionId: `v-${snapshot}`,
    counts: { nodes: 2, edges: 1, leads: 2 },
    objects: [
      {
        key: `${dir}workflow.json`,
        bytes: 120,
        sha256: 'b'.repeat(64),
        records: 1,
        contentType: 'application/json',
        versionId: `v-${snapshot}-workflow`,
      },
    ],
    verifiedAt: '2024-05-01T09:05:00.000Z',
    leadsDigest: 'c'.repeat(64),
    final: null,
    ...overrides,
  };
}

/** A teardown resumed at `step`, as an earlier worker left it: its archive exported and verified. */
export function buildResumedTeardown(
  step: 'cancel' | 'finalize' | 'delete',
  overrides: Partial<Teardown> = {},
): Teardown {
  const archive = buildArchiveRef();
  return buildTeardown({
    status: step === 'delete' ? 'deleting' : 'cancelling',
    step,
    leadsExported: 2,
    archive: step === 'delete' ? { ...archive, final: buildArchiveRef({}, 'final') } : archive,
    cancelSentAt: step === 'cancel' ? null : new Date(),
    cancelledAt: step === 'cancel' ? null : new Date(),
    deleteWaitStartedAt: step === 'cancel' ? null : new Date(),
    ...overrides,
  });
}

/**
 * A valid configuration whose runner timings are small enough for unit tests. The lease (2 s)
 * and the settle timeout (1 s) are the smallest the schema allows.
 */
export function buildConfig(env: Record<string, string> = {}): AppConfig {
  return loadConfig({
    DATABASE_URL: 'postgresql://svc@db:5432/teardown_test',
    DIALNEXA_API_KEY: 'dnx_test_k3yS3cr3tV4lu3',
    S3_BUCKET: 'archive',
    API_KEYS: JSON.stringify([{ name: 'billing-team', key: 'plain-key-0000000001', roles: ['requester'] }]),
    DIALNEXA_MAX_ATTEMPTS: '3',
    RUNNER_LEASE_SECONDS: '2',
    RUNNER_MAX_CLAIMS_WITHOUT_PROGRESS: '3',
    RUNNER_STEP_ATTEMPTS: '2',
    RUNNER_STEP_BACKOFF_MS: '1',
    DELETE_SETTLE_TIMEOUT_S: '1',
    DELETE_BACKOFF_BASE_MS: '1',
    DELETE_BACKOFF_MAX_MS: '4',
    ...env,
  });
}
