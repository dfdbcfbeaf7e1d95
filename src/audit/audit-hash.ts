import { createHash } from 'node:crypto';
import { canonicalJson } from '../common/canonical-json.js';
import type { AuditEvent } from './audit-event.js';

/** The `prevHash` of the first event of the chain. */
export const GENESIS_HASH = '0'.repeat(64);

/** hash = SHA-256(prevHash ‖ canonical JSON of the event without its own hash). */
export function auditHash(prevHash: string, event: Omit<AuditEvent, 'hash' | 'prevHash'>): string {
  const body = canonicalJson({
    id: event.id,
    seq: event.seq,
    at: event.at,
    actor: event.actor,
    teardownId: event.teardownId,
    workflowId: event.workflowId,
    type: event.type,
    details: event.details,
  });
  return createHash('sha256').update(prevHash, 'utf8').update(body, 'utf8').digest('hex');
}
