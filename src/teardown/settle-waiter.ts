import { DomainError } from '../common/domain-error.js';
import type { RunnerConfig } from '../config/app.config.js';
import type { DialnexaClient, RequestOptions } from '../dialnexa/dialnexa.client.js';
import type { Teardown } from './teardown.js';

/** Lead statuses that, on a node that is not terminal, mean a lead is in transit. */
const IN_TRANSIT_LEAD_STATUSES = ['pending', 'in_progress', 'active'] as const;
const TERMINAL_NODE_TYPES = new Set(['CONVERTED', 'DROPPED']);

/** One listing of every lead with an in-transit status: those in transit, and those parked. */
interface Listing {
  inTransit: number;
  /** With an in-transit status, yet on no node or on a terminal one: not moving. */
  parked: number;
}

/**
 * The wait between the cancel and the final snapshot: until no lead is in transit any more.
 *
 * Each round costs one request per in-transit status (`limit=1`, read for `meta.total`), whatever
 * the number of leads. A status count cannot tell a lead in transit from one parked with the same
 * status on a terminal node (or on none), so the leads are listed in full only when the counts
 * could mean that none is in transit: at the first round, and whenever the counts fell to the
 * parked leads of the last listing. A round never ends the wait on counts alone unless they are 0.
 */
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
   * Polls the leads DialNexa counts as pending or in progress until none sits on a node that is
   * not terminal (CONVERTED, DROPPED), within DELETE_SETTLE_TIMEOUT_S of the cancel.
   */
  async wait(teardown: Teardown, opts: RequestOptions = {}): Promise<void> {
    const { deleteSettleTimeoutS, deleteBackoffBaseMs, deleteBackoffMaxMs } = this.config;
    const started = (teardown.deleteWaitStartedAt ?? new Date()).getTime();
    const nodes = await this.dialnexa.listAll(teardown.workflowId, 'nodes', opts);
    const terminal = new Set(
      nodes.items.filter((n) => TERMINAL_NODE_TYPES.has(String(n['node_type']))).map((n) => String(n['id'])),
    );
    const list = () => this.list(teardown.workflowId, terminal, opts);
    let parked = Number.POSITIVE_INFINITY; // unknown until the first listing
    for (let round = 0; ; round += 1) {
      const counted = await this.count(teardown.workflowId, opts);
      if (counted === 0) return;
      let inTransit: number;
      let exact = false;
      if (counted > parked) {
        // the parked leads do not move after the cancel: the rest of the count is in transit
        inTransit = counted - parked;
      } else {
        ({ inTransit, parked } = await list());
        exact = true;
        if (inTransit === 0) return;
      }
      const waited = Date.now() - started;
      if (waited >= deleteSettleTimeoutS * 1000) {
        // never fail on an estimate: a lead parked since the last listing would make it too high
        if (!exact) ({ inTransit } = await list());
        if (inTransit === 0) return;
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

  /** Leads with an in-transit status, one request per status. */
  private async count(workflowId: string, opts: RequestOptions): Promise<number> {
    let total = 0;
    for (const status of IN_TRANSIT_LEAD_STATUSES) {
      total += await this.dialnexa.count(workflowId, 'leads', { ...opts, status });
    }
    return total;
  }

  private async list(
    workflowId: string,
    terminal: ReadonlySet<string>,
    opts: RequestOptions,
  ): Promise<Listing> {
    const listing: Listing = { inTransit: 0, parked: 0 };
    for (const status of IN_TRANSIT_LEAD_STATUSES) {
      for await (const page of this.dialnexa.pages(workflowId, 'leads', { ...opts, status })) {
        for (const lead of page.items) {
          if (isOnOpenNode(lead['current_node_id'], terminal)) listing.inTransit += 1;
          else listing.parked += 1;
        }
      }
    }
    return listing;
  }
}

/** In transit only while on a node, and one that is not terminal: a lead on no node is not moving. */
function isOnOpenNode(nodeId: unknown, terminal: ReadonlySet<string>): boolean {
  if (typeof nodeId === 'number') return !terminal.has(String(nodeId));
  return typeof nodeId === 'string' && nodeId !== '' && !terminal.has(nodeId);
}
