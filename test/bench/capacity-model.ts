/**
 * docs/capacity.md's plan, checked against a model of the queue and the shared rate budget.
 *
 * The model: teardowns arrive through the day (Poisson, even or with a business-hours peak), each
 * for a workflow of a tenant whose DialNexa API key is one of `keys` (uniformly); a teardown of N
 * leads costs 2·⌈N/100⌉ + 10 upstream requests (docs/capacity.md's table). It waits in one FIFO
 * queue for a runner slot (`replicas` × RUNNER_CONCURRENCY) and then sends its requests at its
 * key's rate, shared equally by the key's running teardowns (each request takes a token of the
 * key's shared budget: processor sharing per key). Lead counts are log-normal around the plan's
 * mean of 10^4, capped at 10^6. Everything else (CPU, S3, PostgreSQL) is taken as free: the plan
 * says the upstream is the ceiling, and the model shows what that ceiling does to the queue.
 *
 * Deterministic (a seeded generator), a few hundred milliseconds per simulated day.
 */

export interface Scenario {
  name: string;
  teardownsPerDay: number;
  meanLeads: number;
  keys: number;
  requestsPerKeyPerMinute: number;
  replicas: number;
  runnerConcurrency: number;
  /** 'even': arrivals spread over 24 h; 'peak': 70% of them within 10 business hours. */
  arrivals: 'even' | 'peak';
  days: number;
  seed: number;
}

export interface Outcome {
  scenario: Scenario;
  arrived: number;
  completed: number;
  /** Teardowns queued or running when the simulated time ended. */
  backlog: number;
  requestsPerDay: number;
  waitS: { p50: number; p99: number; max: number };
  durationS: { p50: number; p99: number };
  /** Time-averaged teardowns running, and queued. */
  meanRunning: number;
  meanQueued: number;
  /** Share of time every runner slot was taken. */
  slotsSaturated: number;
  /** Requests sent over the keys' capacity for the whole time. */
  keyUtilisation: number;
}

const DAY_S = 86_400;

/** mulberry32: a small seeded generator, enough for a model. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function normal(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** Log-normal lead counts with the given mean (sigma 1: most small, a few very large), capped. */
function leadCount(random: () => number, mean: number): number {
  const sigma = 1;
  const mu = Math.log(mean) - (sigma * sigma) / 2;
  return Math.min(1_000_000, Math.max(1, Math.round(Math.exp(mu + sigma * normal(random)))));
}

export function requestsFor(leads: number): number {
  return 2 * Math.ceil(leads / 100) + 10;
}

interface Teardown {
  arrivedAt: number;
  startedAt: number;
  key: number;
  remaining: number;
}

function arrivalTimes(scenario: Scenario, random: () => number): number[] {
  const times: number[] = [];
  for (let day = 0; day < scenario.days; day++) {
    for (let i = 0; i < scenario.teardownsPerDay; i++) {
      let t: number;
      if (scenario.arrivals === 'even' || random() >= 0.7) t = random() * DAY_S;
      else t = 8 * 3_600 + random() * 10 * 3_600; // 08:00 to 18:00
      times.push(day * DAY_S + t);
    }
  }
  return times.sort((a, b) => a - b);
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function simulate(scenario: Scenario): Outcome {
  const random = generator(scenario.seed);
  const arrivals = arrivalTimes(scenario, random);
  const keyRate = scenario.requestsPerKeyPerMinute / 60;
  const slots = scenario.replicas * scenario.runnerConcurrency;
  const end = scenario.days * DAY_S;
  const queue: Teardown[] = [];
  const running: Teardown[] = [];
  const onKey = new Array<number>(scenario.keys).fill(0);
  const waits: number[] = [];
  const durations: number[] = [];
  let totalRequests = 0;
  let sentRequests = 0;
  let next = 0;
  let now = 0;
  let runningArea = 0;
  let queuedArea = 0;
  let saturatedTime = 0;

  const start = (teardown: Teardown): void => {
    teardown.startedAt = now;
    waits.push(now - teardown.arrivedAt);
    running.push(teardown);
    onKey[teardown.key]! += 1;
  };

  while (now < end) {
    // the next event: an arrival, or the first running teardown to finish at the current shares
    const nextArrival = next < arrivals.length ? arrivals[next]! : Infinity;
    let nextFinish = Infinity;
    for (const t of running) nextFinish = Math.min(nextFinish, now + t.remaining / (keyRate / onKey[t.key]!));
    const at = Math.min(nextArrival, nextFinish, end);
    const dt = at - now;
    runningArea += running.length * dt;
    queuedArea += queue.length * dt;
    if (running.length >= slots) saturatedTime += dt;
    for (const t of running) {
      const sent = Math.min(t.remaining, dt * (keyRate / onKey[t.key]!));
      t.remaining -= sent;
      sentRequests += sent;
    }
    now = at;
    for (let i = running.length - 1; i >= 0; i--) {
      const t = running[i]!;
      if (t.remaining > 1e-6) continue;
      running.splice(i, 1);
      onKey[t.key]! -= 1;
      durations.push(now - t.startedAt);
    }
    while (next < arrivals.length && arrivals[next]! <= now) {
      const leads = leadCount(random, scenario.meanLeads);
      const requests = requestsFor(leads);
      totalRequests += requests;
      queue.push({
        arrivedAt: arrivals[next]!,
        startedAt: 0,
        key: Math.floor(random() * scenario.keys),
        remaining: requests,
      });
      next++;
    }
    while (running.length < slots && queue.length > 0) start(queue.shift()!);
  }
  waits.sort((a, b) => a - b);
  durations.sort((a, b) => a - b);
  return {
    scenario,
    arrived: arrivals.length,
    completed: durations.length,
    backlog: queue.length + running.length,
    requestsPerDay: Math.round(totalRequests / scenario.days),
    waitS: { p50: percentile(waits, 50), p99: percentile(waits, 99), max: waits.at(-1) ?? 0 },
    durationS: { p50: percentile(durations, 50), p99: percentile(durations, 99) },
    meanRunning: runningArea / end,
    meanQueued: queuedArea / end,
    slotsSaturated: saturatedTime / end,
    keyUtilisation: sentRequests / (keyRate * scenario.keys * end),
  };
}
