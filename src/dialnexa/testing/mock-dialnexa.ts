import { afterEach, jest } from '@jest/globals';
import { MockAgent } from 'undici';
import type { DialnexaConfig } from '../../config/app.config.js';
import type { UpstreamMetrics } from '../../ops/metrics.port.js';
import { DialnexaClient } from '../dialnexa.client.js';

/** DialnexaClient against an undici MockAgent, on a fake clock: the harness of the client's unit specs. */

export const ORIGIN = 'https://api.dialnexa.test';
export const API_KEY = 'dnx_test_k3yS3cr3tV4lu3';
export const PHONE = '+14155550123';
export const T0 = 1_700_000_000_000;

export function buildConfig(overrides: Partial<DialnexaConfig> = {}): DialnexaConfig {
  return {
    baseUrl: ORIGIN,
    apiKey: API_KEY,
    connectTimeoutMs: 1000,
    headersTimeoutMs: 1000,
    bodyTimeoutMs: 1000,
    maxAttempts: 4,
    retryBaseMs: 100,
    retryMaxMs: 1000,
    maxRateLimitWaitMs: 60_000,
    rateBudget: 'process',
    pageConcurrency: 4,
    ...overrides,
  };
}

export interface SeenRequest {
  method: string;
  path: string;
  at: number;
  headers: Record<string, string>;
  /** The request body as sent (a create's JSON, an upload's multipart bytes), as UTF-8 text. */
  body: string | undefined;
}

export interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

const agents: MockAgent[] = [];
afterEach(async () => {
  await Promise.all(agents.splice(0).map((agent) => agent.close()));
});

/** A DialNexa that answers from a script, on a fake clock whose sleeps advance time at once. */
export function build(overrides: Partial<DialnexaConfig> = {}) {
  const agent = new MockAgent();
  agent.disableNetConnect();
  agents.push(agent);
  const pool = agent.get(ORIGIN);
  const time = { now: T0 };
  const seen: SeenRequest[] = [];
  const sleeps: number[] = [];
  const logs: string[] = [];
  const logger = { debug: jest.fn((m: string) => logs.push(m)), warn: jest.fn((m: string) => logs.push(m)) };
  const reports: string[] = [];
  const metrics: UpstreamMetrics = {
    upstreamRequest: (endpoint, method, status) => reports.push(`${method} ${endpoint} ${status ?? 'none'}`),
    upstreamRetry: (endpoint, reason) => reports.push(`retry ${endpoint} ${reason}`),
    upstreamRateLimit: (limit, remaining) =>
      reports.push(`limit ${limit ?? '-'} remaining ${remaining ?? '-'}`),
    rateBudgetRemaining: () => undefined,
  };
  const sut = DialnexaClient.create(buildConfig(overrides), {
    metrics,
    dispatcher: agent,
    clock: () => time.now,
    sleep: async (ms) => {
      sleeps.push(ms);
      time.now += ms;
    },
    random: () => 0.5,
    logger,
  });

  const record = (opts: { method: string; path: string; headers?: unknown; body?: unknown }) =>
    seen.push({
      method: opts.method,
      path: opts.path,
      at: time.now,
      headers: opts.headers as Record<string, string>,
      body: bodyText(opts.body),
    });

  /** Scripts the next answer(s) to `method path` (path with its query, as sent). */
  function answer(method: string, path: string, ...answers: Answer[]) {
    for (const a of answers) {
      pool.intercept({ method, path }).reply((opts) => {
        record(opts);
        const body = a.body === undefined ? '' : typeof a.body === 'string' ? a.body : JSON.stringify(a.body);
        return { statusCode: a.status, data: body, responseOptions: { headers: a.headers ?? {} } };
      });
    }
  }

  /** Scripts the next request to `method path` to fail without an answer. */
  function fail(method: string, path: string, error: Error) {
    pool.intercept({ method, path }).reply((opts) => {
      record(opts);
      throw error;
    });
  }

  return { sut, agent, seen, sleeps, logs, time, answer, fail, reports };
}

function bodyText(body: unknown): string | undefined {
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return Buffer.from(body).toString('utf8');
  // the client sends no streams: anything else is no body
  return undefined;
}

export const reset = () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
