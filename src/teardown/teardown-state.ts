import { DomainError } from '../common/domain-error.js';
import type { Teardown, TeardownError, TeardownStatus, TeardownStep } from './teardown.js';

/**
 * The teardown state machine as a pure function: the runner and the API compute every change of
 * status and step here and only then persist it. Nothing in this file does I/O.
 *
 * The order of the steps is the service's central promise: the archive is exported, verified and
 * its `archive.exported` audit event committed before the workflow is cancelled, and the cancel
 * precedes the delete. A dry run stops after the audit step.
 */

export interface TeardownState {
  status: TeardownStatus;
  step: TeardownStep;
  dryRun: boolean;
  /** Whether a cancel may have reached DialNexa: from then on the teardown cannot be aborted. */
  cancelSent: boolean;
  error: TeardownError | null;
}

/** The part of a stored teardown that the state machine reads. */
export function stateOf(
  teardown: Pick<Teardown, 'status' | 'step' | 'dryRun' | 'cancelSentAt' | 'error'>,
): TeardownState {
  return {
    status: teardown.status,
    step: teardown.step,
    dryRun: teardown.dryRun,
    cancelSent: teardown.cancelSentAt !== null,
    error: teardown.error,
  };
}

export type TeardownEvent =
  | { type: 'started' }
  | { type: 'step_succeeded'; step: TeardownStep }
  | { type: 'step_failed'; step: TeardownStep; error: Omit<TeardownError, 'step'> }
  | { type: 'abort_requested' }
  | { type: 'retry_requested' }
  /** An approver approved; `approvals` counts the distinct approvals so far. */
  | { type: 'approved'; approvals: number; required: number }
  /** An approver rejected it, or it waited for approval longer than APPROVAL_TTL_HOURS. */
  | { type: 'rejected' };

/** A new teardown waits for approvals when any are required; otherwise it is queued at once. */
export function initialStatus(approvalsRequired: number): 'awaiting_approval' | 'queued' {
  return approvalsRequired > 0 ? 'awaiting_approval' : 'queued';
}

/**
 * The steps a teardown runs, in order. `finalize` waits after the cancel for leads in transit to
 * settle and archives the final state, so the archive describes what the delete removed.
 */
export function pipeline(dryRun: boolean): readonly TeardownStep[] {
  return dryRun
    ? ['export', 'verify', 'audit']
    : ['export', 'verify', 'audit', 'cancel', 'finalize', 'delete'];
}

export function statusOfStep(step: TeardownStep): 'exporting' | 'cancelling' | 'deleting' {
  switch (step) {
    case 'export':
    case 'verify':
    case 'audit':
      return 'exporting';
    case 'cancel':
    case 'finalize':
      return 'cancelling';
    case 'delete':
      return 'deleting';
  }
}

export class TransitionRefusedError extends DomainError {}

function refuse(state: TeardownState, event: TeardownEvent): never {
  const code =
    event.type === 'abort_requested'
      ? 'TEARDOWN_NOT_ABORTABLE'
      : event.type === 'retry_requested'
        ? 'TEARDOWN_NOT_RETRYABLE'
        : event.type === 'approved' || event.type === 'rejected'
          ? 'TEARDOWN_NOT_AWAITING_APPROVAL'
          : 'INTERNAL_ERROR';
  throw new TransitionRefusedError(code, refusalMessage(state, event), {
    details: { status: state.status, step: state.step },
  });
}

function refusalMessage(state: TeardownState, event: TeardownEvent): string {
  if (event.type === 'abort_requested') {
    if (state.cancelSent && state.status !== 'aborted') {
      return 'The cancel has been sent to DialNexa; the teardown can no longer be aborted.';
    }
    return `A teardown that is ${state.status} cannot be aborted.`;
  }
  if (event.type === 'retry_requested') {
    if (state.status === 'failed' && state.error && !state.error.retryable) {
      return `The teardown failed with ${state.error.code}, which a retry cannot fix.`;
    }
    return `Only a failed teardown can be retried; this one is ${state.status}.`;
  }
  if (event.type === 'approved' || event.type === 'rejected') {
    return `Only a teardown awaiting approval can be approved or rejected; this one is ${state.status}.`;
  }
  return `Event ${event.type} is not valid for a teardown that is ${state.status} at step ${state.step}.`;
}

export function transition(state: TeardownState, event: TeardownEvent): TeardownState {
  switch (event.type) {
    case 'started':
      if (state.status !== 'queued') return refuse(state, event);
      return { ...state, status: statusOfStep(state.step), error: null };

    case 'step_succeeded': {
      if (!isWorking(state.status) || event.step !== state.step) return refuse(state, event);
      const steps = pipeline(state.dryRun);
      const next = steps[steps.indexOf(event.step) + 1];
      const cancelSent = state.cancelSent || event.step === 'cancel';
      if (next === undefined) return { ...state, status: 'completed', cancelSent };
      return { ...state, status: statusOfStep(next), step: next, cancelSent };
    }

    case 'step_failed':
      if (!isWorking(state.status) || event.step !== state.step) return refuse(state, event);
      return { ...state, status: 'failed', error: { ...event.error, step: event.step } };

    case 'abort_requested':
      // Abort is allowed until the cancel may have reached DialNexa: once cancelled, a workflow
      // cannot be resumed, so aborting then would leave it neither running nor deleted.
      if (state.cancelSent) return refuse(state, event);
      if (!['awaiting_approval', 'queued', 'exporting', 'cancelling'].includes(state.status)) {
        return refuse(state, event);
      }
      return { ...state, status: 'aborted' };

    case 'retry_requested':
      if (state.status !== 'failed' || !state.error?.retryable) return refuse(state, event);
      return { ...state, status: 'queued', error: null };

    case 'approved':
      if (state.status !== 'awaiting_approval') return refuse(state, event);
      return event.approvals >= event.required ? { ...state, status: 'queued' } : state;

    case 'rejected':
      if (state.status !== 'awaiting_approval') return refuse(state, event);
      return { ...state, status: 'rejected' };
  }
}

function isWorking(status: TeardownStatus): boolean {
  return status === 'exporting' || status === 'cancelling' || status === 'deleting';
}
