import type { DialnexaClient } from '../dialnexa/dialnexa.client.js';
import type { JsonObject } from '../dialnexa/dialnexa.types.js';
import { SettleWaiter } from './settle-waiter.js';
import { buildTeardown } from './testing/teardown.factories.js';

/**
 * A client that lists the given nodes, and the given leads filtered by status, 100 to a page;
 * `requests` logs each lead request as `count <status>` or `page <status> <n>`.
 */
function fakeClient(nodes: JsonObject[], leads: () => JsonObject[], requests: string[] = []): DialnexaClient {
  const withStatus = (status: string | undefined) => leads().filter((l) => l['status'] === status);
  return {
    listAll: () => Promise.resolve({ items: nodes, total: nodes.length }),
    count: (_workflowId: string, _resource: string, opts: { status?: string } = {}) => {
      requests.push(`count ${opts.status}`);
      return Promise.resolve(withStatus(opts.status).length);
    },
    async *pages(_workflowId: string, _resource: string, opts: { status?: string } = {}) {
      const items = withStatus(opts.status);
      const totalPages = Math.max(1, Math.ceil(items.length / 100));
      for (let page = 1; page <= totalPages; page += 1) {
        requests.push(`page ${opts.status} ${page}`);
        await Promise.resolve();
        const meta = { page, limit: 100, total: items.length, totalPages };
        yield { items: items.slice((page - 1) * 100, page * 100), meta, page };
      }
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

  it('costs one request per in-transit status each round once the leads were listed', async () => {
    let rounds = 0;
    const requests: string[] = [];
    const leads = Array.from({ length: 1000 }, (_, i) => ({
      id: `l${i}`,
      status: 'in_progress',
      current_node_id: 'node_call',
    }));
    const sut = new SettleWaiter(
      fakeClient(
        NODES,
        () => {
          rounds += 1;
          // settles after a few rounds (each round asks three statuses)
          return rounds < 12 ? leads : leads.map((l) => ({ ...l, status: 'completed' }));
        },
        requests,
      ),
      { ...CONFIG, deleteSettleTimeoutS: 10 },
      () => Promise.resolve(),
    );

    await expect(sut.wait(buildTeardown({ deleteWaitStartedAt: new Date() }))).resolves.toBeUndefined();

    // the first round lists the 1,000 leads once (10 pages, and one for each empty status) ...
    const firstCountOfRound2 = requests.indexOf('count pending', 1);
    expect(requests.filter((r) => r.startsWith('page'))).toHaveLength(12);
    expect(requests.slice(firstCountOfRound2).filter((r) => r.startsWith('page'))).toEqual([]);
    // ... and every later round only counts: three requests
    const counts = requests.filter((r) => r.startsWith('count'));
    expect(counts.length % 3).toBe(0);
    expect(counts.length).toBeGreaterThan(3);
  });

  it('lists again when the counts fall to the parked leads, and returns once none is in transit', async () => {
    let settled = false;
    const requests: string[] = [];
    const parked = [
      { id: 'p1', status: 'pending', current_node_id: 'node_done' },
      { id: 'p2', status: 'active', current_node_id: null },
    ];
    const moving = { id: 'm1', current_node_id: 'node_call' };
    const sut = new SettleWaiter(
      fakeClient(
        NODES,
        () => [...parked, { ...moving, status: settled ? 'completed' : 'in_progress' }],
        requests,
      ),
      { ...CONFIG, deleteSettleTimeoutS: 10 },
      () => {
        // the moving lead settles during the second pause
        if (requests.filter((r) => r.startsWith('count')).length >= 6) settled = true;
        return Promise.resolve();
      },
    );

    await expect(sut.wait(buildTeardown({ deleteWaitStartedAt: new Date() }))).resolves.toBeUndefined();

    const listings = requests.filter((r) => r === 'page pending 1').length;
    expect(listings).toBe(2); // the first round, and once the counts fell to the 2 parked leads
  });

  it('confirms by a listing before it fails: a lead that parked since the last listing does not fail the wait', async () => {
    let parkedNow = false;
    const sut = new SettleWaiter(
      fakeClient(NODES, () => [
        { id: 'l1', status: 'in_progress', current_node_id: parkedNow ? 'node_done' : 'node_call' },
      ]),
      CONFIG,
      async (ms) => {
        parkedNow = true; // the lead moved to a terminal node, keeping its status
        await pause(ms);
      },
    );

    await expect(sut.wait(buildTeardown({ deleteWaitStartedAt: new Date() }))).resolves.toBeUndefined();
  });
});
