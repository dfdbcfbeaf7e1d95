import type { RecordedRequest } from '../simulator/dialnexa-simulator.ts';
import { type FleetRun, settleStat } from './fleet-run.ts';
import { fleetTargets } from './report.ts';

let seq = 0;
function request(query: Record<string, string>, overrides: Partial<RecordedRequest> = {}): RecordedRequest {
  seq += 1;
  return {
    seq,
    method: 'GET',
    path: '/v1/workflows/wfl_a/leads',
    query,
    status: 200,
    performed: true,
    at: seq,
    doneAt: seq,
    connection: 1,
    ...overrides,
  };
}

/** One settle round: a count per in-transit status. */
const countRound = () =>
  ['pending', 'in_progress', 'active'].map((status) => request({ status, page: '1', limit: '1' }));
/** One full listing of the in-transit leads, `pages` pages per status. */
const listing = (pages: number) =>
  ['pending', 'in_progress', 'active'].flatMap((status) =>
    Array.from({ length: pages }, (_, i) => request({ status, page: String(i + 1), limit: '100' })),
  );

describe(settleStat.name, () => {
  it('counts rounds by their pending count, and full listings by their first pending page', () => {
    const requests = [
      request({ page: '1', limit: '100' }), // the export's pages have no status: not the poll's
      ...countRound(),
      ...listing(3),
      ...countRound(),
      ...countRound(),
      request({ status: 'pending', page: '1', limit: '1' }, { status: 429 }), // refused: not a round
    ];

    expect(settleStat(requests)).toEqual({
      rounds: 3,
      countRequestsPerRound: 3,
      listings: 1,
      listingPages: 9,
      listingPagesPerRound: 3,
    });
  });

  it('has no per-round figures without a round', () => {
    expect(settleStat([request({ page: '1', limit: '100' })])).toMatchObject({
      rounds: 0,
      countRequestsPerRound: null,
    });
  });
});

describe('the settle target', () => {
  const fleet = (settle: FleetRun['settle']): FleetRun => ({
    name: '50 at once',
    replicas: 2,
    teardowns: 2,
    leadsEach: 2_000,
    dryRun: false,
    statuses: { completed: 2 },
    errors: [],
    requests: {
      total: 100,
      ok: 100,
      limited: 0,
      perSecond: 1,
      limitPerSecond: 60,
      readyzProbes: 0,
      readyzProbesWhileBusy: 0,
    },
    windows: [],
    peakRssMb: [100, 100],
    mostRunningOnAReplica: 1,
    most429InAWindow: 0,
    usedAfterFirstWindow: null,
    limit: { count: 600, windowMs: 10_000 },
    seconds: 10,
    settle,
  });
  const settleTarget = (run: FleetRun) =>
    fleetTargets(undefined, run).find((t) => t.name.startsWith('the settle poll'));

  it('passes with 3 counts a round and at most 2 full listings a teardown', () => {
    const run = fleet({
      rounds: 8,
      countRequestsPerRound: 3,
      listings: 4,
      listingPages: 12,
      listingPagesPerRound: 1.5,
    });
    expect(settleTarget(run)?.status).toBe('PASS');
  });

  it('fails when the poll lists the leads in full every round', () => {
    const run = fleet({
      rounds: 8,
      countRequestsPerRound: 3,
      listings: 8,
      listingPages: 24,
      listingPagesPerRound: 3,
    });
    expect(settleTarget(run)?.status).toBe('FAIL');
  });

  it('is not measured when no full teardown waited', () => {
    expect(
      settleTarget(
        fleet({
          rounds: 0,
          countRequestsPerRound: null,
          listings: 0,
          listingPages: 0,
          listingPagesPerRound: null,
        }),
      )?.status,
    ).toBe('NOT MEASURED');
  });
});
