import { z } from 'zod';
import { AUDIT_EVENT_TYPES } from './audit-event.js';

/** One event of the append-only audit chain, as `GET /v1/audit` and `/v1/teardowns/{id}/audit` show it. */
export const auditEventSchema = z
  .strictObject({
    id: z.string(),
    seq: z.int().min(1),
    at: z.string().meta({ format: 'date-time' }),
    actor: z.string().meta({ description: 'the caller whose request caused it, or `system`' }),
    teardownId: z.string().nullable(),
    workflowId: z.string().nullable(),
    type: z.enum(AUDIT_EVENT_TYPES),
    details: z.record(z.string(), z.unknown()),
    prevHash: z.string().regex(/^[0-9a-f]{64}$/),
    hash: z.string().regex(/^[0-9a-f]{64}$/),
  })
  .meta({ id: 'AuditEvent' });

export const auditEventPageSchema = z
  .strictObject({
    data: z.array(auditEventSchema),
    nextCursor: z.string().nullable().meta({ description: 'pass as `cursor` for the next page' }),
  })
  .meta({ id: 'AuditEventPage' });

export const auditTrailSchema = z
  .strictObject({ data: z.array(auditEventSchema).meta({ description: 'oldest first' }) })
  .meta({ id: 'AuditTrail' });

const anchorSchema = z.strictObject({ key: z.string(), seq: z.int(), hash: z.string() });

const anchorSummarySchema = z.strictObject({
  checked: z.int().meta({ description: 'anchors compared with the chain' }),
  latest: anchorSchema.nullable(),
  unanchoredEvents: z.int(),
  lagSeconds: z.int().meta({ description: 'age of the oldest event no anchor covers yet' }),
  lastFailure: z.strictObject({ at: z.string(), reason: z.string() }).nullable(),
});

/** `GET /v1/audit/verify`: the chain walked and compared with the anchors in the bucket. */
export const verificationReportSchema = z
  .discriminatedUnion('ok', [
    z.strictObject({
      ok: z.literal(true),
      events: z.int(),
      head: z.string(),
      anchors: anchorSummarySchema,
    }),
    z.strictObject({
      ok: z.literal(false),
      events: z.int(),
      firstBad: z.strictObject({ seq: z.int(), id: z.string().nullable(), reason: z.string() }),
      anchors: anchorSummarySchema,
    }),
  ])
  .meta({ id: 'AuditVerification' });
