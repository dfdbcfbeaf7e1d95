import { z } from 'zod';
import { ERROR_CODES } from '../common/domain-error.js';
import { restoreIdSchema, teardownIdSchema } from '../common/ids.dto.js';
import { type IdMap, idMapOf, RESTORE_STATUSES, type Restore, type RestoreItem } from './restore.js';

const isoDateTime = () => z.string().meta({ format: 'date-time' });
const count = () => z.strictObject({ done: z.int(), total: z.int().nullable() });
const idMapping = () => z.record(z.string(), z.string());

/** What a restore cannot bring back, for every restore: DialNexa has no way to set it. */
const NEVER_RESTORED = [
  { what: 'leadProgress', why: 'new leads start pending at the entry node; per-lead progress cannot be set' },
  { what: 'leadHistory', why: 'per-lead history cannot be recreated upstream' },
  { what: 'callLogs', why: "they stay with the deleted workflow's ids" },
  { what: 'originalIds', why: 'DialNexa mints every id; the id map links old and new' },
  { what: 'statusAndTimestamps', why: 'the workflow is a new draft (never activated), with new timestamps' },
];

export const restoreResourceSchema = z
  .strictObject({
    id: restoreIdSchema,
    teardownId: teardownIdSchema,
    sourceWorkflowId: z.string(),
    status: z.enum(RESTORE_STATUSES),
    snapshot: z.enum(['export', 'final']),
    dryRun: z.boolean(),
    reason: z.string(),
    requestedBy: z.string(),
    excludeLeadStatuses: z.array(z.string()),
    newWorkflowId: z.string().nullable(),
    progress: z.strictObject({
      workflow: count(),
      nodes: count(),
      edges: count(),
      leads: count(),
      leadFiles: count(),
      upstreamRequests: z.int(),
      requestsTotal: z
        .int()
        .nullable()
        .meta({ description: 'the creates the restore costs (known once verified)' }),
      secondsAtCurrentRate: z.number().nullable(),
    }),
    idMap: z.strictObject({
      workflow: idMapping(),
      nodes: idMapping(),
      edges: idMapping(),
      leads: idMapping(),
    }),
    idMapKey: z.string().nullable().meta({ description: 'the id map in the bucket, once written' }),
    notRestored: z.array(
      z.strictObject({
        what: z.string(),
        why: z.string(),
        count: z.int().optional(),
        byStatus: z.record(z.string(), z.int()).optional(),
        byReason: z.record(z.string(), z.int()).optional(),
        leadIds: z.array(z.string()).optional(),
      }),
    ),
    error: z
      .strictObject({
        code: z.enum(ERROR_CODES),
        message: z.string(),
        retryable: z.boolean(),
        details: z.record(z.string(), z.unknown()),
      })
      .nullable(),
    createdAt: isoDateTime(),
    updatedAt: isoDateTime(),
    completedAt: isoDateTime().nullable(),
  })
  .meta({ id: 'Restore' });

export const restorePageSchema = z.strictObject({ data: z.array(restoreResourceSchema) });

export type RestoreResource = z.output<typeof restoreResourceSchema>;

export function presentRestore(restore: Restore, items: readonly RestoreItem[]): RestoreResource {
  const plan = restore.plan;
  const done = (kind: RestoreItem['kind']) =>
    items.filter((i) => i.kind === kind && (i.newId ?? i.leads)).length;
  const idMap: IdMap = idMapOf(restore.sourceWorkflowId, items);
  const notRestored: RestoreResource['notRestored'] = [...NEVER_RESTORED];
  if (plan) {
    notRestored.push({
      what: 'excludedLeads',
      why: `their status is one of: ${restore.excludeLeadStatuses.join(', ') || '(none)'}`,
      count: plan.excludedLeads.total,
      byStatus: plan.excludedLeads.byStatus,
    });
    if (plan.alteredLeads && plan.alteredLeads.count > 0) {
      notRestored.push({
        what: 'alteredLeadMetadata',
        why: 'restored, but a lone surrogate became U+FFFD or an empty value was left out (CSV cannot carry them)',
        count: plan.alteredLeads.count,
        byReason: plan.alteredLeads.byReason,
      });
    }
    const unmapped = plan.leads - Object.keys(idMap.leads).length;
    if (restore.status === 'completed' && !restore.dryRun && unmapped > 0) {
      notRestored.push({
        what: 'unmappedLeads',
        why: "uploaded, but DialNexa's answer named no new lead for them: they may or may not be in the new workflow",
        count: unmapped,
      });
    }
    if (plan.unencodableLeads.count > 0) {
      notRestored.push({
        what: 'unencodableLeads',
        why: 'they cannot be written as CSV (the first 100 ids are named)',
        count: plan.unencodableLeads.count,
        leadIds: plan.unencodableLeads.leadIds,
      });
    }
  }
  return {
    id: restore.id,
    teardownId: restore.teardownId,
    sourceWorkflowId: restore.sourceWorkflowId,
    status: restore.status,
    snapshot: restore.snapshot,
    dryRun: restore.dryRun,
    reason: restore.reason,
    requestedBy: restore.requestedBy,
    excludeLeadStatuses: restore.excludeLeadStatuses,
    newWorkflowId: restore.newWorkflowId,
    progress: {
      workflow: { done: done('workflow'), total: 1 },
      nodes: { done: done('node'), total: plan?.nodes ?? null },
      edges: { done: done('edge'), total: plan?.edges ?? null },
      leads: { done: Object.keys(idMap.leads).length, total: plan?.leads ?? null },
      leadFiles: { done: done('leads'), total: plan?.leadFiles ?? null },
      upstreamRequests: restore.upstreamRequests,
      requestsTotal: plan?.requests ?? null,
      secondsAtCurrentRate: plan?.secondsAtCurrentRate ?? null,
    },
    idMap,
    idMapKey: restore.idMapKey,
    notRestored,
    error: restore.error,
    createdAt: restore.createdAt.toISOString(),
    updatedAt: restore.updatedAt.toISOString(),
    completedAt: restore.completedAt?.toISOString() ?? null,
  };
}
