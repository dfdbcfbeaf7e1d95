/**
 * The claims of docs/capacity.md, each checked against the model (capacity-model.ts): run by
 * `npm run bench` (two simulated days with --quick, a week in full), or alone:
 *
 *   node --experimental-strip-types --no-warnings test/bench/capacity-check.ts [days]
 *
 * A claim that the model contradicts fails the bench: the page and the model must agree.
 */
import { fileURLToPath } from 'node:url';
import { type Outcome, type Scenario, simulate } from './capacity-model.ts';
import type { PendingTable, Target } from './report.ts';

/** The plan's load (docs/capacity.md): 10,000 teardowns a day, 10^8 leads, 150 requests a minute per key. */
const PLAN = { teardownsPerDay: 10_000, meanLeads: 10_000, requestsPerKeyPerMinute: 150, seed: 1 };

interface Claim {
  name: string;
  scenario: Omit<Scenario, 'days' | keyof typeof PLAN>;
  holds: (outcome: Outcome) => boolean;
  /** What the page says, shown next to what the model found. */
  says: string;
}

const backlogShare = (o: Outcome): number => o.backlog / o.scenario.teardownsPerDay;
/** How much the backlog grows a day, as a share of a day's arrivals. */
const backlogGrowth = (o: Outcome): number => backlogShare(o) / o.scenario.days;

const CLAIMS: Claim[] = [
  {
    name: 'a day costs about 2.1 x 10^6 upstream requests',
    scenario: { name: 'request count', keys: 15, replicas: 2, runnerConcurrency: 16, arrivals: 'even' },
    holds: (o) => Math.abs(o.requestsPerDay - 2.1e6) / 2.1e6 <= 0.05,
    says: '2.1 x 10^6 a day (within 5%)',
  },
  {
    name: 'even load: 15 keys and 32 runner slots keep up',
    scenario: { name: 'plan, even', keys: 15, replicas: 2, runnerConcurrency: 16, arrivals: 'even' },
    holds: (o) => backlogShare(o) < 0.01 && o.waitS.p99 < 30 * 60,
    says: 'backlog < 1% of a day, p99 wait for a slot < 30 min',
  },
  {
    name: 'business-hours peak: 20 keys and 64 runner slots keep up',
    scenario: { name: 'plan, peak', keys: 20, replicas: 4, runnerConcurrency: 16, arrivals: 'peak' },
    holds: (o) => backlogShare(o) < 0.01,
    says: 'backlog < 1% of a day (the peak queues, the night drains it)',
  },
  {
    name: 'the arithmetic minimum of 10 keys does not keep up',
    scenario: { name: '10 keys', keys: 10, replicas: 8, runnerConcurrency: 16, arrivals: 'even' },
    holds: (o) => backlogGrowth(o) > 0.02,
    says: 'backlog grows (by > 2% of a day, each day)',
  },
  {
    name: 'the default RUNNER_CONCURRENCY (4) on 2 replicas does not keep up',
    scenario: { name: '2 x 4 slots', keys: 15, replicas: 2, runnerConcurrency: 4, arrivals: 'even' },
    holds: (o) => backlogGrowth(o) > 0.25,
    says: 'backlog grows (by > 25% of a day, each day): slots, not keys, are the limit',
  },
];

export interface CapacityCheck {
  days: number;
  outcomes: Array<{ claim: string; says: string; holds: boolean; outcome: Outcome }>;
}

export function checkCapacityPlan(days: number): CapacityCheck {
  return {
    days,
    outcomes: CLAIMS.map((claim) => {
      const outcome = simulate({ ...PLAN, ...claim.scenario, days });
      return { claim: claim.name, says: claim.says, holds: claim.holds(outcome), outcome };
    }),
  };
}

export function capacityTable(check: CapacityCheck): PendingTable {
  const minutes = (s: number): string => (s / 60).toFixed(s < 600 ? 1 : 0);
  return {
    title: `capacity model (docs/capacity.md; ${check.days} simulated days of 10,000 teardowns, 150 requests/min per key)`,
    head: [
      'scenario',
      'keys',
      'slots',
      'arrivals',
      'requests/day',
      'backlog at end',
      'wait p50/p99 min',
      'run p50/p99 min',
      'key use',
      'page says',
      'status',
    ],
    rows: check.outcomes.map(({ says, holds, outcome: o }) => [
      o.scenario.name,
      String(o.scenario.keys),
      `${o.scenario.replicas} x ${o.scenario.runnerConcurrency}`,
      o.scenario.arrivals,
      (o.requestsPerDay / 1e6).toFixed(2) + ' M',
      `${o.backlog} (${((o.backlog / o.scenario.teardownsPerDay) * 100).toFixed(1)}% of a day)`,
      `${minutes(o.waitS.p50)} / ${minutes(o.waitS.p99)}`,
      `${minutes(o.durationS.p50)} / ${minutes(o.durationS.p99)}`,
      `${(o.keyUtilisation * 100).toFixed(0)}%`,
      says,
      holds ? 'PASS' : 'FAIL',
    ]),
  };
}

export function capacityTargets(check: CapacityCheck): Target[] {
  return check.outcomes.map(({ claim, says, holds, outcome }) => ({
    name: `capacity plan: ${claim}`,
    status: holds ? 'PASS' : 'FAIL',
    detail: `${says}; the model: backlog ${outcome.backlog}, p99 wait ${(outcome.waitS.p99 / 60).toFixed(0)} min, ${(outcome.requestsPerDay / 1e6).toFixed(2)} M requests/day`,
  }));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const days = Number(process.argv[2] ?? 7);
  const check = checkCapacityPlan(days);
  const table = capacityTable(check);
  console.log(table.title);
  for (const row of [table.head, ...table.rows]) console.log(row.join(' | '));
  process.exit(check.outcomes.every((o) => o.holds) ? 0 : 1);
}
