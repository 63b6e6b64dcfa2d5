import { readFileSync } from 'node:fs';
import { describe, expect, test } from '@jest/globals';
import { parse } from 'yaml';
import { createMetrics } from '../../src/metrics/registry.js';

/** Metric name → label names, from the gateway's real registry. */
async function registryLabels(): Promise<Map<string, Set<string>>> {
  const metrics = createMetrics();
  // Touch labelled metrics so their label names show up in the JSON.
  const json = await metrics.registry.getMetricsAsJSON();
  const labels = new Map<string, Set<string>>();
  for (const metric of json) labels.set(metric.name, new Set());
  for (const metric of metrics.registry.getMetricsAsArray()) {
    const names = (metric as unknown as { labelNames?: string[] }).labelNames ?? [];
    labels.set((metric as unknown as { name: string }).name, new Set(names));
  }
  return labels;
}

const SUFFIXES = ['_bucket', '_count', '_sum'];
function baseName(name: string, known: Map<string, Set<string>>): string | undefined {
  if (known.has(name)) return name;
  const suffix = SUFFIXES.find((s) => name.endsWith(s));
  return suffix !== undefined && known.has(name.slice(0, -suffix.length))
    ? name.slice(0, -suffix.length)
    : undefined;
}

/** Every metric selector in a PromQL expression, with the label names its matchers use. */
function selectors(expr: string): Array<{ metric: string; labels: string[] }> {
  return [...expr.matchAll(/\b((?:ztna|process|nodejs)_[a-z0-9_]+)(\{([^}]*)\})?/g)].map((m) => ({
    metric: m[1]!,
    labels: [...(m[3] ?? '').matchAll(/([a-z_]+)\s*(=~|!=|!~|=)/g)].map((l) => l[1]!),
  }));
}

function checkExpression(expr: string, known: Map<string, Set<string>>): string[] {
  const problems: string[] = [];
  for (const { metric, labels } of selectors(expr)) {
    const base = baseName(metric, known);
    if (base === undefined) {
      problems.push(`unknown metric ${metric} in: ${expr}`);
      continue;
    }
    for (const label of labels)
      if (!known.get(base)!.has(label) && label !== 'le')
        problems.push(`${metric} has no label ${label}`);
  }
  return problems;
}

describe('deploy/grafana/ztna-gateway.json', () => {
  test('parses, and every metric and label it uses exists in the registry', async () => {
    const dashboard = JSON.parse(readFileSync('deploy/grafana/ztna-gateway.json', 'utf8')) as {
      panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
    };
    const known = await registryLabels();
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(10);
    expect(exprs.flatMap((e) => checkExpression(e, known))).toEqual([]);
    // The list: rate and latency per route, denials by reason, auth, posture, upstream errors, reloads.
    const all = exprs.join('\n');
    for (const metric of [
      'ztna_requests_total',
      'ztna_request_duration_seconds_bucket',
      'ztna_policy_denials_total',
      'ztna_auth_events_total',
      'ztna_posture_checks_total',
      'ztna_upstream_errors_total',
      'ztna_config_reloads_total',
    ]) {
      expect(all).toContain(metric);
    }
  });
});

describe('deploy/prometheus/alerts.yaml', () => {
  test('parses as Prometheus rule groups whose expressions use real metrics and labels', async () => {
    const rules = parse(readFileSync('deploy/prometheus/alerts.yaml', 'utf8')) as {
      groups: Array<{ name: string; rules: Array<Record<string, unknown>> }>;
    };
    const known = await registryLabels();
    const all = rules.groups.flatMap((g) => g.rules);
    expect(all.map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        'ZtnaConfigReloadFailing',
        'ZtnaUpstreamErrorRatioHigh',
        'ZtnaLoginFailureSpike',
        'ZtnaDenialSpike',
      ]),
    );
    for (const rule of all) {
      expect(rule).toMatchObject({
        alert: expect.any(String),
        expr: expect.any(String),
        labels: { severity: expect.any(String) },
        annotations: { summary: expect.any(String) },
      });
      expect(checkExpression(rule.expr as string, known)).toEqual([]);
    }
  });

  test('the checker itself catches a wrong metric or label', async () => {
    const known = await registryLabels();
    expect(checkExpression('rate(ztna_request_total[5m])', known)).toHaveLength(1);
    expect(checkExpression('rate(ztna_requests_total{status="500"}[5m])', known)).toEqual([
      'ztna_requests_total has no label status',
    ]);
  });
});
