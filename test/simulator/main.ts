/**
 * Standalone DialNexa simulator: `npm run simulator -- --workflow 5:6:420`.
 * Prints one JSON line `{"url", "apiKey", "workflows"}` once listening, so scripts can read it.
 *
 * Environment: SIM_PORT (4010), SIM_HOST (127.0.0.1), SIM_API_KEY, SIM_SEED (1), SIM_SETTLE_MS (1500),
 * SIM_RATE_LIMIT (`<requests>/<window ms>`, default 150/60000: DialNexa's documented limit),
 * SIM_MAX_TRANSCRIPT_LENGTH (caps the seed's long lead transcripts; unset serves them whole).
 */
import { parseArgs } from 'node:util';
import { DEFAULT_API_KEY, DialnexaSimulator } from './dialnexa-simulator.ts';
import type { RateLimitConfig } from './dialnexa-simulator.ts';

function integerFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0)
    throw new RangeError(`${name} must be a non-negative integer, got ${raw}`);
  return value;
}

function rateLimitFromEnv(): RateLimitConfig | undefined {
  const raw = process.env.SIM_RATE_LIMIT;
  if (raw === undefined || raw === '') return undefined;
  const match = /^(\d+)\/(\d+)$/.exec(raw);
  if (!match) throw new RangeError(`SIM_RATE_LIMIT expects <requests>/<window ms>, got ${raw}`);
  return { limit: Number(match[1]), windowMs: Number(match[2]) };
}

function parseWorkflowSpec(spec: string): { nodes: number; edges: number; leads: number } {
  const match = /^(\d+):(\d+):(\d+)$/.exec(spec);
  if (!match) throw new RangeError(`--workflow expects nodes:edges:leads, got ${spec}`);
  return { nodes: Number(match[1]), edges: Number(match[2]), leads: Number(match[3]) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { workflow: { type: 'string', multiple: true, default: [] } },
    strict: true,
  });
  const apiKey = process.env.SIM_API_KEY || DEFAULT_API_KEY;
  const sim = new DialnexaSimulator({
    apiKeys: [{ key: apiKey }],
    seed: integerFromEnv('SIM_SEED', 1),
    settleMs: integerFromEnv('SIM_SETTLE_MS', 1500),
    rateLimit: rateLimitFromEnv(),
    maxTranscriptLength: process.env.SIM_MAX_TRANSCRIPT_LENGTH
      ? integerFromEnv('SIM_MAX_TRANSCRIPT_LENGTH', 0)
      : undefined,
  });
  const workflows = (values.workflow ?? []).map((spec) => sim.addWorkflow(parseWorkflowSpec(spec)));
  await sim.start(integerFromEnv('SIM_PORT', 4010), process.env.SIM_HOST || '127.0.0.1');

  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    sim.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('[dialnexa-simulator] failed to stop', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);

  process.stdout.write(`${JSON.stringify({ url: sim.url, apiKey, workflows })}\n`);
}

main().catch((error: unknown) => {
  console.error('[dialnexa-simulator]', error instanceof Error ? error.message : error);
  process.exit(1);
});
