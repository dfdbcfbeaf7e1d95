import { describe, expect, it } from '@jest/globals';
import type { AuditEvent } from '../audit/audit-event.js';
import { presentTeardown } from '../teardown/teardown.presenter.js';
import type { Teardown } from '../teardown/teardown.js';
import { buildArchiveRef, buildTeardown } from '../teardown/testing/teardown.factories.js';
import {
  decisionStateOf,
  durationText,
  finalChangesOf,
  progressOf,
  STATUS_BADGES,
  timelineOf,
} from './teardown-view.js';

const resource = (overrides: Partial<Teardown> = {}, approvals: Parameters<typeof presentTeardown>[1] = []) =>
  presentTeardown(buildTeardown(overrides), approvals);

function buildEvent(overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    id: 'ae_1',
    seq: 1,
    at: '2026-12-02T10:00:00.000Z',
    actor: 'system',
    teardownId: 'td_1',
    workflowId: 'wfl_1',
    type: 'teardown.requested',
    details: {},
    prevHash: '0'.repeat(64),
    hash: '1'.repeat(64),
    ...overrides,
  };
}

describe(progressOf.name, () => {
  it('shows the share of leads exported and of upstream requests sent, with the time left', () => {
    const sut = progressOf(
      resource({
        status: 'exporting',
        leadsExported: 250,
        leadsTotal: 1000,
        upstreamRequests: 3,
        estimate: { requestsLeft: 9, secondsLeft: 150, at: new Date() },
      }),
    );

    expect(sut).toMatchObject({
      finished: false,
      leadsPercent: 25,
      requestsPercent: 25,
      etaText: 'about 3 min left',
      statusLabel: 'Exporting',
    });
  });

  it('says "unknown" (null) before the totals are known, and full once completed', () => {
    expect(progressOf(resource({ status: 'queued' }))).toMatchObject({
      leadsPercent: null,
      requestsPercent: null,
      etaText: null,
    });
    expect(progressOf(resource({ status: 'completed', leadsTotal: 0, upstreamRequests: 4 }))).toMatchObject({
      finished: true,
      leadsPercent: 100,
      requestsPercent: 100,
      etaText: null,
    });
  });

  it('never goes past 100 when more leads arrived than counted', () => {
    expect(
      progressOf(resource({ status: 'exporting', leadsExported: 130, leadsTotal: 100 })).leadsPercent,
    ).toBe(100);
  });
});

describe(durationText.name, () => {
  it('speaks in seconds, minutes or hours', () => {
    expect(durationText(0.2)).toBe('1 s');
    expect(durationText(45)).toBe('45 s');
    expect(durationText(600)).toBe('10 min');
    expect(durationText(7200)).toBe('2.0 h');
  });
});

describe('STATUS_BADGES', () => {
  it('names every status in words (colour is never the only cue)', () => {
    for (const badge of Object.values(STATUS_BADGES)) expect(badge.label).toMatch(/^[A-Z][a-z ]+$/);
  });
});

describe(timelineOf.name, () => {
  it('labels each event and sums up its details: comment, counts, error', () => {
    const sut = timelineOf([
      buildEvent({ seq: 1, actor: 'team-a' }),
      buildEvent({ seq: 2, type: 'teardown.approved', actor: 'approver-1', details: { comment: 'ok <b>' } }),
      buildEvent({
        seq: 3,
        type: 'archive.exported',
        details: { counts: { nodes: 5, edges: 6, leads: 420 } },
      }),
      buildEvent({
        seq: 4,
        type: 'teardown.failed',
        details: { error: { code: 'WORKFLOW_ON_HOLD', message: 'held' } },
      }),
    ]);

    expect(sut.map((e) => [e.label, e.actor, e.summary])).toEqual([
      ['Requested', 'team-a', ''],
      ['Approved', 'approver-1', 'comment: ok <b>'],
      ['Archive exported and verified', 'system', '5 nodes, 6 edges, 420 leads'],
      ['Failed', 'system', 'WORKFLOW_ON_HOLD: held'],
    ]);
  });

  it('clips a long comment by code point, never inside a surrogate pair', () => {
    const comment = '😀'.repeat(400);
    const [sut] = timelineOf([buildEvent({ type: 'teardown.rejected', details: { comment } })]);

    expect(Array.from(sut!.summary.replace('comment: ', '').replace('…', ''))).toHaveLength(300);
    expect(sut!.summary).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
  });
});

describe(finalChangesOf.name, () => {
  it('compares the final snapshot’s counts with the export’s', () => {
    const archive = {
      ...buildArchiveRef(),
      final: buildArchiveRef({ counts: { nodes: 2, edges: 1, leads: 5 } }, 'final'),
    };

    expect(finalChangesOf(resource({ archive }))).toEqual([
      { what: 'nodes', exported: 2, final: 2, delta: 0 },
      { what: 'edges', exported: 1, final: 1, delta: 0 },
      { what: 'leads', exported: 2, final: 5, delta: 3 },
    ]);
  });

  it('is null without a final snapshot', () => {
    expect(finalChangesOf(resource({ archive: buildArchiveRef() }))).toBeNull();
    expect(finalChangesOf(resource())).toBeNull();
  });
});

describe(decisionStateOf.name, () => {
  const awaiting = { status: 'awaiting_approval' as const, requestedBy: 'team-a', approvalsRequired: 1 };

  it('lets another approver decide a teardown awaiting approval', () => {
    expect(decisionStateOf({ name: 'approver-1', roles: ['approver'] }, resource(awaiting))).toEqual({
      allowed: true,
      reason: null,
    });
  });

  it('disables the buttons, with the reason, for its requester even when an admin', () => {
    const sut = decisionStateOf({ name: 'team-a', roles: ['admin'] }, resource(awaiting));

    expect(sut.allowed).toBe(false);
    expect(sut.reason).toMatch(/You requested this teardown/);
  });

  it('disables them without the approver role, after a decision of one’s own, or once decided', () => {
    expect(decisionStateOf({ name: 'audit', roles: ['auditor'] }, resource(awaiting)).reason).toMatch(
      /approver role/,
    );
    const decided = resource(awaiting, [
      {
        approver: 'approver-1',
        decision: 'approved',
        comment: null,
        decidedAt: new Date(),
        teardownId: 'x',
      } as never,
    ]);
    expect(decisionStateOf({ name: 'approver-1', roles: ['approver'] }, decided).reason).toMatch(
      /already decided/,
    );
    expect(
      decisionStateOf(
        { name: 'approver-1', roles: ['approver'] },
        resource({ ...awaiting, status: 'queued' }),
      ).reason,
    ).toMatch(/not awaiting approval/);
  });
});
