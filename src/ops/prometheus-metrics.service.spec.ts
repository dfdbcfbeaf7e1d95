import { beforeAll, describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { parsePrometheusText, sumOf } from '../../test/support/prometheus-text.js';
import type { Metrics, ScrapeReadings } from './metrics.port.js';
import { PrometheusMetricsService } from './prometheus-metrics.service.js';

const P = 'dialnexa_teardown_';

async function scrape(sut: PrometheusMetricsService) {
  return parsePrometheusText((await sut.scrape()).text);
}

beforeAll(() => {
  Logger.overrideLogger(false);
});

describe(PrometheusMetricsService.name, () => {
  it('exposes what the modules report through the port, under their names and labels', async () => {
    const sut = new PrometheusMetricsService();
    const port: Metrics = sut;

    port.stepFinished('export', 'ok', 1.5);
    port.stepFinished('export', 'error', 0.2);
    port.teardownEnded('completed', false);
    port.archiveWritten('export', 1000, 420);
    port.archiveWritten('final', 10, 3);
    port.upstreamRequest('leads.list', 'GET', 200, 0.01);
    port.upstreamRequest('leads.list', 'GET', 429, 0.01);
    port.upstreamRequest('workflow.delete', 'DELETE', null, 0.5);
    port.upstreamRetry('leads.list', 'rate_limited');
    port.upstreamRateLimit(150, 12);
    port.upstreamRateLimit(undefined, 11);
    port.rateBudgetRemaining(40);
    port.chainVerified(false);
    port.httpRequest('GET', '/v1/teardowns/:id', 200, 0.003);

    const samples = await scrape(sut);
    expect({
      exportOk: sumOf(samples, `${P}step_duration_seconds_count`, { step: 'export', outcome: 'ok' }),
      exportSeconds: sumOf(samples, `${P}step_duration_seconds_sum`, { step: 'export', outcome: 'ok' }),
      exportErrors: sumOf(samples, `${P}step_duration_seconds_count`, { step: 'export', outcome: 'error' }),
      completed: sumOf(samples, `${P}teardowns_ended_total`, { status: 'completed', dry_run: 'false' }),
      leads: sumOf(samples, `${P}leads_exported_total`, { snapshot: 'export' }),
      bytes: sumOf(samples, `${P}archive_bytes_total`, { snapshot: 'export' }),
      leadPages: sumOf(samples, `${P}upstream_requests_total`, { endpoint: 'leads.list', status: '200' }),
      unanswered: sumOf(samples, `${P}upstream_requests_total`, {
        endpoint: 'workflow.delete',
        status: 'none',
      }),
      rateLimited: sumOf(samples, `${P}upstream_rate_limited_total`, { endpoint: 'leads.list' }),
      retries: sumOf(samples, `${P}upstream_retries_total`, { reason: 'rate_limited' }),
      limit: sumOf(samples, `${P}upstream_rate_limit`),
      remaining: sumOf(samples, `${P}upstream_rate_remaining`),
      budget: sumOf(samples, `${P}rate_budget_remaining`),
      verified: sumOf(samples, `${P}audit_chain_verified`),
      http: sumOf(samples, `${P}http_request_duration_seconds_count`, { route: '/v1/teardowns/:id' }),
    }).toEqual({
      exportOk: 1,
      exportSeconds: 1.5,
      exportErrors: 1,
      completed: 1,
      leads: 420,
      bytes: 1000,
      leadPages: 1,
      unanswered: 1,
      rateLimited: 1,
      retries: 1,
      limit: 150,
      remaining: 11,
      budget: 40,
      verified: 0,
      http: 1,
    });
    // the process's default metrics, in this registry
    expect(samples.some((s) => s.name === 'process_cpu_user_seconds_total')).toBe(true);
  });

  it('reads the scrape sources at each scrape, every status of the last reading and nothing stale', async () => {
    const sut = new PrometheusMetricsService();
    const readings: Array<Partial<ScrapeReadings>> = [
      { teardownsByStatus: { queued: 2, failed: 1 }, oldestQueuedSeconds: 30 },
      { teardownsByStatus: { completed: 3 }, oldestQueuedSeconds: 0 },
    ];
    sut.addScrapeSource('teardowns', () => Promise.resolve(readings.shift()!));
    sut.addScrapeSource('audit', () => Promise.resolve({ auditHeadSeq: 12, anchorLagSeconds: 4 }));

    const first = await scrape(sut);
    expect(sumOf(first, `${P}teardowns`, { status: 'queued' })).toBe(2);
    expect(sumOf(first, `${P}oldest_queued_seconds`)).toBe(30);
    expect(sumOf(first, `${P}audit_chain_head_seq`)).toBe(12);
    expect(sumOf(first, `${P}audit_anchor_lag_seconds`)).toBe(4);
    const second = await scrape(sut);
    expect(second.filter((s) => s.name === `${P}teardowns`)).toEqual([
      { name: `${P}teardowns`, labels: { status: 'completed' }, value: 3 },
    ]);
  });

  it('still answers when a source fails, counting the failure and keeping its gauges', async () => {
    const sut = new PrometheusMetricsService();
    let broken = false;
    sut.addScrapeSource('queue', () =>
      broken
        ? Promise.reject(new Error('database down'))
        : Promise.resolve({ queueJobs: { queued: 4, active: 1 } }),
    );
    await scrape(sut);
    broken = true;

    const samples = await scrape(sut);

    expect(sumOf(samples, `${P}scrape_source_errors_total`, { source: 'queue' })).toBe(1);
    expect(sumOf(samples, `${P}queue_jobs`, { state: 'queued' })).toBe(4);
  });

  it('exports no rate budget and no verification result before one was measured (not a 0)', async () => {
    const sut = new PrometheusMetricsService();
    const names = (await scrape(sut)).map((s) => s.name);
    expect(
      names.filter((n) => /rate_limit$|rate_remaining$|budget_remaining$|chain_verified/.test(n)),
    ).toEqual([]);
    sut.chainVerified(true);
    sut.chainVerified(true);
    expect(sumOf(await scrape(sut), `${P}audit_chain_verified`)).toBe(1);
    expect(await sut.metricNames()).toContain(`${P}rate_budget_remaining`);
  });

  it('keeps each instance in a registry of its own', async () => {
    const a = new PrometheusMetricsService();
    const b = new PrometheusMetricsService();
    a.teardownEnded('failed', false);
    expect(sumOf(await scrape(b), `${P}teardowns_ended_total`)).toBe(0);
  });
});
