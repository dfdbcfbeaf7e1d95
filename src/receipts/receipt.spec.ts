import { describe, expect, it } from '@jest/globals';
import type { ArchiveRef } from '../archive/manifest.js';
import type { AuditEvent, AuditEventType } from '../audit/audit-event.js';
import { buildReceipt, receiptEvents, type ReceiptSubject } from './receipt.js';

const TEARDOWN_ID = 'td_01JD0000000000000000000000';

function buildArchive(overrides: Partial<ArchiveRef> = {}): ArchiveRef {
  return {
    bucket: 'archive',
    manifestKey: `teardowns/wfl_1/${TEARDOWN_ID}/manifest.json`,
    manifestSha256: 'a'.repeat(64),
    manifestVersionId: 'v1',
    counts: { nodes: 2, edges: 1, leads: 3 },
    objects: [],
    verifiedAt: '2026-12-02T10:00:02.000Z',
    ...overrides,
  };
}

function buildSubject(overrides: Partial<ReceiptSubject> = {}): ReceiptSubject {
  return {
    id: TEARDOWN_ID,
    workflowId: 'wfl_1',
    status: 'completed',
    dryRun: false,
    reason: 'GDPR erasure',
    ticket: 'PRIV-1',
    requestedBy: 'billing-team',
    createdAt: new Date('2026-12-02T10:00:00.000Z'),
    cancelledAt: new Date('2026-12-02T10:00:03.000Z'),
    deletedAt: new Date('2026-12-02T10:00:05.000Z'),
    archive: buildArchive({ final: buildArchive({ manifestKey: 'final', manifestSha256: 'b'.repeat(64) }) }),
    ...overrides,
  };
}

function buildEvents(
  types: AuditEventType[],
  details: Partial<Record<AuditEventType, object>> = {},
): AuditEvent[] {
  return types.map((type, i) => ({
    id: `evt_${i + 1}`,
    seq: 10 + i,
    at: `2026-12-02T10:00:0${i}.000Z`,
    actor: type === 'teardown.approved' ? 'approver-1' : 'system',
    teardownId: TEARDOWN_ID,
    workflowId: 'wfl_1',
    type,
    details: { ...details[type] },
    prevHash: String(i).repeat(64),
    hash: String(i + 1).repeat(64),
  }));
}

const TYPES: AuditEventType[] = [
  'teardown.requested',
  'teardown.approved',
  'archive.exported',
  'workflow.cancelled',
  'archive.finalized',
  'workflow.deleted',
  'teardown.completed',
];

describe('buildReceipt', () => {
  it('states the teardown, its approvals, times, both manifests, its events and the covering anchor', () => {
    const events = buildEvents(TYPES, {
      'teardown.approved': { comment: 'checked' },
      'workflow.deleted': { confirmation: 'deleted' },
    });
    const anchor = { key: 'audit-anchors/0000000000000016-x.json', seq: 16, hash: 'c'.repeat(64) };

    const sut = buildReceipt(buildSubject(), events, anchor);

    expect(sut).toEqual({
      formatVersion: 1,
      kind: 'dialnexa-teardown.deletion-receipt',
      teardownId: TEARDOWN_ID,
      workflowId: 'wfl_1',
      requestedBy: 'billing-team',
      requestedAt: '2026-12-02T10:00:00.000Z',
      reason: 'GDPR erasure',
      ticket: 'PRIV-1',
      approvals: [{ by: 'approver-1', at: '2026-12-02T10:00:01.000Z', comment: 'checked' }],
      exportedAt: '2026-12-02T10:00:02.000Z',
      cancelledAt: '2026-12-02T10:00:03.000Z',
      finalizedAt: '2026-12-02T10:00:04.000Z',
      deletedAt: '2026-12-02T10:00:05.000Z',
      deleteConfirmation: 'deleted',
      archive: {
        bucket: 'archive',
        manifestKey: `teardowns/wfl_1/${TEARDOWN_ID}/manifest.json`,
        manifestSha256: 'a'.repeat(64),
        manifestVersionId: 'v1',
        counts: { nodes: 2, edges: 1, leads: 3 },
      },
      final: {
        bucket: 'archive',
        manifestKey: 'final',
        manifestSha256: 'b'.repeat(64),
        manifestVersionId: 'v1',
        counts: { nodes: 2, edges: 1, leads: 3 },
      },
      events: events.map(({ seq, id, at, actor, type, hash }) => ({ seq, id, at, actor, type, hash })),
      chain: { headSeq: 16, headHash: 'c'.repeat(64), anchorKey: anchor.key },
    });
  });

  it('refuses a dry run, an unfinished teardown, and an anchor that does not cover the events', () => {
    const events = buildEvents(TYPES);
    const anchor = { key: 'k', seq: 16, hash: 'c'.repeat(64) };

    expect(() => buildReceipt(buildSubject({ dryRun: true }), events, anchor)).toThrow(
      /not a completed deletion/,
    );
    expect(() => buildReceipt(buildSubject({ status: 'deleting' }), events, anchor)).toThrow(
      /not a completed deletion/,
    );
    expect(() => buildReceipt(buildSubject(), events, { ...anchor, seq: 15 })).toThrow(/does not cover/);
  });
});

describe('receiptEvents', () => {
  it('lists the events up to teardown.completed, none for a teardown that did not complete', () => {
    const events = buildEvents([...TYPES, 'teardown.failed']);

    expect(receiptEvents(events).map((e) => e.type)).toEqual(TYPES);
    expect(receiptEvents(buildEvents(['teardown.requested', 'teardown.failed']))).toEqual([]);
  });
});
