import { Injectable } from '@nestjs/common';
import { DomainError, isDomainError } from '../common/domain-error.js';
import { DialnexaClient } from '../dialnexa/dialnexa.client.js';
import type { CancelOutcome } from '../dialnexa/dialnexa.types.js';
import type { RequestTally } from '../dialnexa/request-tally.js';
import type { Teardown } from './teardown.js';
import { TeardownRepository } from './teardown.repository.js';

export type DestructiveCall = 'cancel' | 'delete';

export type GateOutcome<T> =
  | { ok: true; teardown: Teardown; value: T }
  | {
      ok: false;
      teardown: Teardown;
      error: DomainError;
      /**
       * Whether a DELETE of this teardown may have been performed before the attempt that failed:
       * one went out and its answer never came. Only then is a 404 proof of our own deletion.
       */
      earlierDeleteUnanswered: boolean;
    };

/**
 * THE rule of the service, in one place: nothing that changes a workflow upstream (its cancel,
 * its DELETE) leaves the process unless, checked in one transaction under the workflow's lock
 * right before the request's bytes may leave (after the rate gate, for every resend too):
 * the archive is committed (`archive.exported`, and `archive.finalized` before a DELETE), no
 * legal hold is in force, this worker's lease is current, and the teardown was not aborted.
 * The same transaction records the intent. See TeardownRepository.passDestructiveGate.
 *
 * The request carries the caller's AbortSignal (lease lost, shutdown): once it fires, nothing is
 * sent or resent. A DELETE answered with a status that proves it was not performed (429, 409,
 * any 4xx but 404) takes its own intent back at once, so a later 404 is never mistaken for our
 * deletion; the intent of an earlier DELETE left unanswered stays, unless a 409 showed the
 * workflow still there.
 */
@Injectable()
export class DestructiveCallGate {
  constructor(
    private readonly teardowns: TeardownRepository,
    private readonly dialnexa: DialnexaClient,
  ) {}

  async cancel(
    teardown: Teardown,
    signal: AbortSignal,
    tally?: RequestTally,
  ): Promise<GateOutcome<CancelOutcome>> {
    return this.send(teardown, 'cancel', signal, (opts) =>
      this.dialnexa.cancelWorkflow(teardown.workflowId, { ...opts, tally }),
    );
  }

  async delete(teardown: Teardown, signal: AbortSignal, tally?: RequestTally): Promise<GateOutcome<void>> {
    return this.send(teardown, 'delete', signal, (opts) =>
      this.dialnexa.deleteWorkflow(teardown.workflowId, { ...opts, tally }),
    );
  }

  private async send<T>(
    teardown: Teardown,
    kind: DestructiveCall,
    signal: AbortSignal,
    request: (opts: {
      signal: AbortSignal;
      beforeSend: () => Promise<void>;
      afterAnswer: (status: number) => Promise<void>;
    }) => Promise<T>,
  ): Promise<GateOutcome<T>> {
    let current = teardown;
    let earlierDeleteUnanswered = false;
    let refusal: unknown = null;
    const beforeSend = async (): Promise<void> => {
      try {
        const passed = await this.teardowns.passDestructiveGate(current, kind);
        current = passed.teardown;
        earlierDeleteUnanswered = passed.deletePendingBefore;
      } catch (error) {
        refusal = error;
        throw error;
      }
    };
    const afterAnswer = async (status: number): Promise<void> => {
      if (kind === 'delete' && provesNotPerformed(status)) {
        // This attempt was not performed, but an earlier one left unanswered may have been: only
        // a 409 (the workflow is still there) proves that none was. A 429 or 403 says nothing of it.
        const pending = status === 409 ? false : earlierDeleteUnanswered;
        current = await this.teardowns.update(current, { deletePending: pending });
      }
    };
    try {
      const value = await request({ signal, beforeSend, afterAnswer });
      return { ok: true, teardown: current, value };
    } catch (error) {
      // the gate's own refusals (a hold, a lost lease, an abort) and aborts end the step as they are
      if (error === refusal || !isDomainError(error) || signal.aborted) throw error;
      return { ok: false, teardown: current, error, earlierDeleteUnanswered };
    }
  }
}

/** An answer that says the request was refused, not performed. A 404 is for the caller to judge. */
function provesNotPerformed(status: number): boolean {
  return status >= 400 && status < 500 && status !== 404;
}
