import { beforeAll, describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { PrometheusMetricsService } from '../../src/ops/prometheus-metrics.service.js';

const DASHBOARD = 'ops/grafana/dialnexa-teardown.json';
const ALERTS = 'ops/prometheus/alerts.yml';
/** Series Prometheus makes itself rather than scrapes. */
const PROMETHEUS_OWN = new Set(['up']);

interface Panel {
  title: string;
  type: string;
  targets?: Array<{ expr: string }>;
}

/** Every metric name the service exports, with the series names of its histograms. */
async function exportedNames(): Promise<Set<string>> {
  return new Set(await new PrometheusMetricsService().metricNames());
}

/** The metric names a PromQL expression reads (ours, the defaults', Prometheus' own). */
function metricNamesIn(expr: string): string[] {
  const withoutLabels = expr.replace(/\{[^}]*\}/g, '{}');
  return [...withoutLabels.matchAll(/\b(?:dialnexa_teardown_|process_|nodejs_)[a-z0-9_]+|\bup\b(?=\{)/g)].map(
    (m) => m[0],
  );
}

beforeAll(() => {
  Logger.overrideLogger(false);
});

describe('Grafana dashboard and alert rules', () => {
  it('query only metrics the service exports', async () => {
    const exported = await exportedNames();
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[] };
    const exprs: Array<[string, string]> = dashboard.panels.flatMap((panel) =>
      (panel.targets ?? []).map((t): [string, string] => [`panel ${panel.title}`, t.expr]),
    );
    const alertExprs = [...readFileSync(ALERTS, 'utf8').matchAll(/^\s+expr: (.+)$/gm)].map(
      (m): [string, string] => [`alert rule`, m[1]!],
    );
    expect(alertExprs.length).toBeGreaterThanOrEqual(6);
    const unknown = [...exprs, ...alertExprs].flatMap(([where, expr]) =>
      metricNamesIn(expr)
        .filter((name) => !exported.has(name) && !PROMETHEUS_OWN.has(name))
        .map((name) => `${where}: ${name}`),
    );
    expect(unknown).toEqual([]);
  });

  it('give every panel a query that reads a metric', () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[] };
    const empty = dashboard.panels
      .filter((panel) => panel.type !== 'row')
      .filter((panel) => !(panel.targets ?? []).some((t) => metricNamesIn(t.expr).length > 0))
      .map((panel) => panel.title);
    expect(empty).toEqual([]);
  });

  it('find the names a query reads, and a misspelt one', () => {
    expect(
      metricNamesIn('sum(rate(dialnexa_teardown_upstream_requests_totl{status="429"}[5m])) / up{job="x"}'),
    ).toEqual(['dialnexa_teardown_upstream_requests_totl', 'up']);
  });
});
