import { describe, expect, it } from '@jest/globals';
import {
  initialStatus,
  pipeline,
  transition,
  type TeardownEvent,
  type TeardownState,
} from './teardown-state.js';

function build(overrides: Partial<TeardownState> = {}): TeardownState {
  return { status: 'queued', step: 'export', dryRun: false, cancelSent: false, error: null, ...overrides };
}

function run(state: TeardownState, events: TeardownEvent[]): TeardownState {
  return events.reduce(transition, state);
}

describe('transition', () => {
  it('runs export, verify, audit, cancel, delete in that order and completes', () => {
    let sut = transition(build(), { type: 'started' });
    const seen: string[] = [`${sut.status}/${sut.step}`];
    for (const step of pipeline(false)) {
      sut = transition(sut, { type: 'step_succeeded', step });
      seen.push(`${sut.status}/${sut.step}`);
    }
    expect(seen).toEqual([
      'exporting/export',
      'exporting/verify',
      'exporting/audit',
      'cancelling/cancel',
      'cancelling/finalize',
      'deleting/delete',
      'completed/delete',
    ]);
    expect(sut.cancelSent).toBe(true);
  });

  it('stops a dry run after the audit step, never reaching cancel or delete', () => {
    const sut = run(build({ dryRun: true }), [
      { type: 'started' },
      { type: 'step_succeeded', step: 'export' },
      { type: 'step_succeeded', step: 'verify' },
      { type: 'step_succeeded', step: 'audit' },
    ]);
    expect(sut).toMatchObject({ status: 'completed', step: 'audit', cancelSent: false });
    expect(pipeline(true)).not.toContain('cancel');
    expect(pipeline(true)).not.toContain('delete');
  });

  it('refuses a step out of order, so no step can be skipped', () => {
    const sut = transition(build(), { type: 'started' });
    expect(() => transition(sut, { type: 'step_succeeded', step: 'cancel' })).toThrow(/not valid/);
    expect(() => transition(sut, { type: 'step_succeeded', step: 'delete' })).toThrow(/not valid/);
  });

  it('records a failure with its step and retryable flag', () => {
    const sut = transition(build({ status: 'deleting', step: 'delete', cancelSent: true }), {
      type: 'step_failed',
      step: 'delete',
      error: { code: 'DELETE_SETTLE_TIMEOUT', message: 'leads still in transit', retryable: true },
    });
    expect(sut.status).toBe('failed');
    expect(sut.error).toEqual({
      code: 'DELETE_SETTLE_TIMEOUT',
      message: 'leads still in transit',
      retryable: true,
      step: 'delete',
    });
  });

  it('resumes a retried teardown at the step that failed, without redoing finished steps', () => {
    const failed = build({
      status: 'failed',
      step: 'delete',
      cancelSent: true,
      error: { code: 'UPSTREAM_UNAVAILABLE', message: 'down', step: 'delete', retryable: true },
    });
    const sut = run(failed, [{ type: 'retry_requested' }, { type: 'started' }]);
    expect(sut).toMatchObject({ status: 'deleting', step: 'delete', error: null });
  });

  it('refuses to retry a failure that is not retryable', () => {
    const failed = build({
      status: 'failed',
      step: 'delete',
      error: { code: 'UPSTREAM_FORBIDDEN', message: 'no', step: 'delete', retryable: false },
    });
    expect(() => transition(failed, { type: 'retry_requested' })).toThrow(
      expect.objectContaining({ code: 'TEARDOWN_NOT_RETRYABLE' }),
    );
  });

  it.each(['completed', 'aborted', 'rejected', 'exporting'] as const)(
    'refuses to retry a %s teardown',
    (status) => {
      expect(() => transition(build({ status }), { type: 'retry_requested' })).toThrow(
        expect.objectContaining({ code: 'TEARDOWN_NOT_RETRYABLE' }),
      );
    },
  );

  it.each([
    ['awaiting_approval', 'export'],
    ['queued', 'export'],
    ['exporting', 'verify'],
    ['cancelling', 'cancel'],
  ] as const)('allows abort while %s before the cancel is sent', (status, step) => {
    expect(transition(build({ status, step }), { type: 'abort_requested' }).status).toBe('aborted');
  });

  it('refuses abort once the cancel may have reached DialNexa, with the reason', () => {
    const sut = build({ status: 'cancelling', step: 'cancel', cancelSent: true });
    expect(() => transition(sut, { type: 'abort_requested' })).toThrow(
      expect.objectContaining({
        code: 'TEARDOWN_NOT_ABORTABLE',
        message: expect.stringMatching(/cancel has been sent/),
      }),
    );
  });

  it.each(['deleting', 'completed', 'failed', 'aborted'] as const)(
    'refuses abort of a %s teardown',
    (status) => {
      expect(() => transition(build({ status }), { type: 'abort_requested' })).toThrow(
        expect.objectContaining({ code: 'TEARDOWN_NOT_ABORTABLE' }),
      );
    },
  );

  it('refuses to start a teardown that is not queued', () => {
    expect(() => transition(build({ status: 'awaiting_approval' }), { type: 'started' })).toThrow();
  });

  it('waits for the required number of approvals, then queues the teardown', () => {
    const waiting = build({ status: 'awaiting_approval' });
    const once = transition(waiting, { type: 'approved', approvals: 1, required: 2 });
    expect(once.status).toBe('awaiting_approval');
    expect(transition(once, { type: 'approved', approvals: 2, required: 2 }).status).toBe('queued');
  });

  it('ends a rejected teardown before anything runs', () => {
    expect(transition(build({ status: 'awaiting_approval' }), { type: 'rejected' }).status).toBe('rejected');
  });

  it.each(['queued', 'exporting', 'completed', 'rejected'] as const)(
    'refuses a decision on a %s teardown',
    (status) => {
      expect(() => transition(build({ status }), { type: 'rejected' })).toThrow(
        expect.objectContaining({ code: 'TEARDOWN_NOT_AWAITING_APPROVAL' }),
      );
      expect(() => transition(build({ status }), { type: 'approved', approvals: 1, required: 1 })).toThrow(
        expect.objectContaining({ code: 'TEARDOWN_NOT_AWAITING_APPROVAL' }),
      );
    },
  );

  it('starts a new teardown awaiting approval only when approvals are required', () => {
    expect(initialStatus(0)).toBe('queued');
    expect(initialStatus(2)).toBe('awaiting_approval');
  });
});
