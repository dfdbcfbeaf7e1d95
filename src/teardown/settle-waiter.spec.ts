import type { DialnexaClient } from '../dialnexa/dialnexa.client.js';
import type { JsonObject } from '../dialnexa/dialnexa.types.js';
import { SettleWaiter } from './settle-waiter.js';
import { buildTeardown } from './testing/teardown.factories.js';

/** A client that lists the given nodes, and the given leads filtered by status. */
function fakeClient(nodes: JsonObject[], leads: () => JsonObject[]): DialnexaClient {
  return {
    listAll: () => Promise.resolve({ items: nodes, total: nodes.length }),
    async *pages(_workflowId: string, _resource: string, opts: { status?: string } = {}) {
      await Promise.resolve();
      yield { items: leads().filter((l) => l['status'] === opts.status), meta: undefined, page: 1 };
    },
  } as unknown as DialnexaClient;
}

const NODES = [
  { id: 'node_call', node_type: 'VOICE_CALL' },
  { id: 'node_done', node_type: 'CONVERTED' },
];
const CONFIG = { deleteSettleTimeoutS: 1, deleteBackoffBaseMs: 5, deleteBackoffMaxMs: 20 };

describe(SettleWaiter.name, () => {
  const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

  it('does not count a pending lead on no node, or on a terminal node, as in transit', async () => {
    const leads = [
      { id: 'l1', status: 'pending', current_node_id: null },
      { id: 'l2', status: 'in_progress', current_node_id: 'node_done' },
      { id: 'l3', status: 'active' },
      { id: 'l4', status: 'completed', current_node_id: 'node_call' },
    ];
    const sut = new SettleWaiter(
      fakeClient(NODES, () => leads),
      CONFIG,
      pause,
    );

    await expect(sut.wait(buildTeardown({ deleteWaitStartedAt: new Date() }))).resolves.toBeUndefined();
  });

  it('waits while a lead sits on a node that is not terminal, and fails retryably after the timeout', async () => {
    const leads = [{ id: 'l1', status: 'pending', current_node_id: 'node_call' }];
    const sut = new SettleWaiter(
      fakeClient(NODES, () => leads),
      CONFIG,
      pause,
    );

    await expect(sut.wait(buildTeardown({ deleteWaitStartedAt: new Date() }))).rejects.toMatchObject({
      code: 'DELETE_SETTLE_TIMEOUT',
      retryable: true,
      details: { inTransit: 1 },
    });
  });

  it('returns once the last lead in transit has settled', async () => {
    let rounds = 0;
    const sut = new SettleWaiter(
      fakeClient(NODES, () => {
        rounds += 1;
        return [{ id: 'l1', status: rounds < 3 ? 'in_progress' : 'completed', current_node_id: 'node_call' }];
      }),
      CONFIG,
      pause,
    );

    await expect(sut.wait(buildTeardown({ deleteWaitStartedAt: new Date() }))).resolves.toBeUndefined();
  });
});
