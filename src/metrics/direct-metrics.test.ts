import { describe, expect, test } from '@jest/globals';
import { Counter, Histogram, Registry } from 'prom-client';
import { DirectCounter, DirectHistogram } from './direct-metrics.js';

// The per-request metrics count outside prom-client (issue 11) but are scraped from its
// Registry: a dashboard or alert written for prom-client's output must read them unchanged.

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 1, 60];
const OBSERVED = [0, 0.0004, 0.0005, 0.0007, 0.003, 0.003, 0.09, 0.5, 59.9, 60, 61, 1e6];

/** `x_total` with these labels, in `registry`. */
const counterIn = <L extends string>(registry: Registry, labelNames: readonly L[]) =>
  new DirectCounter({ name: 'x_total', help: 'Some count.', labelNames, registers: [registry] });

/** `x_total` with these labels twice: ours and prom-client's, each in a registry of its own. */
function countersSideBySide<L extends string>(labelNames: readonly L[]) {
  const ours = new Registry();
  const theirs = new Registry();
  const config = { name: 'x_total', help: 'Some count.', labelNames };
  return {
    ours,
    theirs,
    direct: new DirectCounter({ ...config, registers: [ours] }),
    reference: new Counter({ ...config, registers: [theirs] }),
  };
}

/** `x_seconds{route}` with one bucket at 1, in `registry`. */
const histogramIn = (registry: Registry) =>
  new DirectHistogram({
    name: 'x_seconds',
    help: 'Some time.',
    labelNames: ['route'] as const,
    buckets: [1],
    registers: [registry],
  });

describe('metrics counted without prom-client, scraped through its Registry', () => {
  test('a histogram renders exactly as prom-client renders the same observations', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const config = { name: 'x_seconds', help: 'Some time.', labelNames: ['route'] as const };
    const direct = new DirectHistogram({ ...config, buckets: BUCKETS, registers: [ours] });
    const reference = new Histogram({ ...config, buckets: BUCKETS, registers: [theirs] });
    const app = direct.labels({ route: 'app' });
    for (const value of OBSERVED) {
      app.observe(value);
      reference.observe({ route: 'app' }, value);
    }
    direct.observe({ route: 'we"ird\\route\n' }, 0.002);
    reference.observe({ route: 'we"ird\\route\n' }, 0.002);

    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.metrics()).toContain('x_seconds_bucket{le="0.0005",route="app"} 3');
  });

  test('a counter renders exactly as prom-client renders the same increments', async () => {
    const { ours, theirs, direct, reference } = countersSideBySide([
      'route',
      'decision',
      'code',
    ] as const);
    const allowed = direct.labels({ route: 'app', decision: 'allow', code: '200' });
    for (let i = 0; i < 5; i++) allowed.inc();
    allowed.inc(2.5);
    reference.inc({ route: 'app', decision: 'allow', code: '200' }, 7.5);
    direct.inc({ route: 'app', decision: 'deny', code: '403' });
    reference.inc({ route: 'app', decision: 'deny', code: '403' });

    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.metrics()).toContain('x_total{route="app",decision="allow",code="200"} 7.5');
  });

  test('one label set is one cell however its object is written, another set another cell', async () => {
    const registry = new Registry();
    const direct = counterIn(registry, ['route', 'kind'] as const);
    direct.inc({ route: 'a', kind: 'k' });
    direct.inc({ kind: 'k', route: 'a' });
    // Their values put end to end, these two would be one label set.
    direct.inc({ route: 'ak', kind: '' });
    direct.inc({ route: 'a', kind: '\u0000k' });
    expect(direct.labels({ kind: 'k', route: 'a' })).toBe(direct.labels({ route: 'a', kind: 'k' }));
    const text = await registry.metrics();
    expect(text).toContain('x_total{route="a",kind="k"} 2');
    expect(text).toContain('x_total{route="ak",kind=""} 1');
    expect(text).toContain('x_total{route="a",kind="\u0000k"} 1');
  });

  test('label sets show from their first count, as with prom-client, however their values are given', async () => {
    const { ours, theirs, direct, reference } = countersSideBySide(['route', 'code'] as const);
    // Looked up in advance (as the route meters do), never counted: no series.
    direct.labels({ route: 'idle', code: '200' });
    reference.labels({ route: 'idle', code: '200' });
    // A number and its text are one label set; a missing label is left out.
    const asNumber = { route: 'app', code: 200 } as unknown as { route: string; code: string };
    const missing = { route: 'app' } as { route: string; code: string };
    for (const labels of [asNumber, { route: 'app', code: '200' }, missing]) {
      direct.inc(labels);
      reference.inc(labels);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.metrics()).not.toContain('idle');
    expect(await ours.metrics()).toContain('x_total{route="app",code="200"} 2');
    expect(await ours.metrics()).toContain('x_total{route="app"} 1');
  });

  test('a reset takes every label set out until it counts again; the cells callers hold go on counting', async () => {
    const registry = new Registry();
    const direct = histogramIn(registry);
    const cell = direct.labels({ route: 'app' });
    cell.observe(0.5);
    registry.resetMetrics();
    expect(await registry.metrics()).not.toContain('route="app"');
    cell.observe(2);
    const text = await registry.metrics();
    expect(text).toContain('x_seconds_bucket{le="1",route="app"} 0');
    expect(text).toContain('x_seconds_bucket{le="+Inf",route="app"} 1');
    expect(text).toContain('x_seconds_sum{route="app"} 2');
    expect(text).toContain('x_seconds_count{route="app"} 1');
  });

  test('what cannot be counted is refused with an error, and nothing is counted', async () => {
    const registry = new Registry();
    const counter = counterIn(registry, ['route'] as const);
    const histogram = histogramIn(registry);
    expect(() => counter.inc({ route: 'app', user: 'alice' } as { route: string })).toThrow(
      'x_total has no label "user"',
    );
    for (const amount of [-1, Number.NaN, Infinity, '2', null, true])
      expect(() => counter.inc({ route: 'app' }, amount as number)).toThrow(TypeError);
    for (const value of [Number.NaN, -Infinity, Infinity])
      expect(() => histogram.observe({ route: 'app' }, value)).toThrow(TypeError);
    expect(await registry.metrics()).not.toContain('route="app"');
    expect(() => counterIn(registry, [])).toThrow('already been registered');
  });
});
