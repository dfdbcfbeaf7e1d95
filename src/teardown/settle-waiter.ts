import { DomainError } from '../common/domain-error.js';
import type { RunnerConfig } from '../config/app.config.js';
import type { DialnexaClient } from '../dialnexa/dialnexa.client.js';
import type { Teardown } from './teardown.js';

/** Lead statuses that, on a node that is not terminal, mean a lead is in transit. */
const IN_TRANSIT_LEAD_STATUSES = ['pending', 'in_progress', 'active'] as const;
const TERMINAL_NODE_TYPES = new Set(['CONVERTED', 'DROPPED']);

/** The wait between the cancel and the final snapshot: until no lead is in transit any more. */
export class SettleWaiter {
  constructor(
    private readonly dialnexa: DialnexaClient,
    private readonly config: Pick<
      RunnerConfig,
      'deleteSettleTimeoutS' | 'deleteBackoffBaseMs' | 'deleteBackoffMaxMs'
    >,
    private readonly pause: (ms: number) => Promise<void>,
  ) {}

  /**
   * Polls the leads DialNexa lists as pending or in progress until none sits on a node that is
   * not terminal (CONVERTED, DROPPED), within DELETE_SETTLE_TIMEOUT_S of the cancel.
   */
  async wait(teardown: Teardown): Promise<void> {
    const { deleteSettleTimeoutS, deleteBackoffBaseMs, deleteBackoffMaxMs } = this.config;
    const started = (teardown.deleteWaitStartedAt ?? new Date()).getTime();
    const nodes = await this.dialnexa.listAll(teardown.workflowId, 'nodes');
    const terminal = new Set(
      nodes.items.filter((n) => TERMINAL_NODE_TYPES.has(String(n['node_type']))).map((n) => String(n['id'])),
    );
    for (let round = 0; ; round += 1) {
      let inTransit = 0;
      for (const status of IN_TRANSIT_LEAD_STATUSES) {
        for await (const page of this.dialnexa.pages(teardown.workflowId, 'leads', { status })) {
          inTransit += page.items.filter((lead) => isOnOpenNode(lead['current_node_id'], terminal)).length;
        }
      }
      if (inTransit === 0) return;
      const waited = Date.now() - started;
      if (waited >= deleteSettleTimeoutS * 1000) {
        throw new DomainError(
          'DELETE_SETTLE_TIMEOUT',
          `${inTransit} leads were still in transit ${Math.round(waited / 1000)} s after the cancel`,
          { retryable: true, details: { inTransit } },
        );
      }
      const backoff = Math.min(deleteBackoffMaxMs, deleteBackoffBaseMs * 2 ** Math.min(round, 16));
      await this.pause(Math.min(backoff, deleteSettleTimeoutS * 1000 - waited + 1));
    }
  }
}

/** In transit only while on a node, and one that is not terminal: a lead on no node is not moving. */
function isOnOpenNode(nodeId: unknown, terminal: ReadonlySet<string>): boolean {
  if (typeof nodeId === 'number') return !terminal.has(String(nodeId));
  return typeof nodeId === 'string' && nodeId !== '' && !terminal.has(nodeId);
}
