import { describe, expect, test } from '@jest/globals';
import { Counter, Histogram, Registry } from 'prom-client';
import { DirectCounter, DirectHistogram } from './direct-metrics.js';

// The per-request metrics count outside prom-client (issue 11) but are scraped from its
// Registry: a dashboard or alert written for prom-client's output must read them unchanged.

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 1, 60];
const OBSERVED = [0, 0.0004, 0.0005, 0.0007, 0.003, 0.003, 0.09, 0.5, 59.9, 60, 61, 1e6];

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
    const ours = new Registry();
    const theirs = new Registry();
    const config = {
      name: 'x_total',
      help: 'Some count.',
      labelNames: ['route', 'decision', 'code'] as const,
    };
    const direct = new DirectCounter({ ...config, registers: [ours] });
    const reference = new Counter({ ...config, registers: [theirs] });
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
    const direct = new DirectCounter({
      name: 'x_total',
      help: 'Some count.',
      labelNames: ['route', 'kind'] as const,
      registers: [registry],
    });
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

  test('a reset zeroes every label set, and the cells callers hold go on counting', async () => {
    const registry = new Registry();
    const direct = new DirectHistogram({
      name: 'x_seconds',
      help: 'Some time.',
      labelNames: ['route'] as const,
      buckets: [1],
      registers: [registry],
    });
    const cell = direct.labels({ route: 'app' });
    cell.observe(0.5);
    registry.resetMetrics();
    expect(await registry.metrics()).toContain('x_seconds_count{route="app"} 0');
    cell.observe(2);
    const text = await registry.metrics();
    expect(text).toContain('x_seconds_bucket{le="1",route="app"} 0');
    expect(text).toContain('x_seconds_bucket{le="+Inf",route="app"} 1');
    expect(text).toContain('x_seconds_sum{route="app"} 2');
  });

  test('what prom-client refuses is refused, and nothing is counted', async () => {
    const registry = new Registry();
    const counter = new DirectCounter({
      name: 'x_total',
      help: 'Some count.',
      labelNames: ['route'] as const,
      registers: [registry],
    });
    const histogram = new DirectHistogram({
      name: 'x_seconds',
      help: 'Some time.',
      labelNames: ['route'] as const,
      buckets: [1],
      registers: [registry],
    });
    expect(() => counter.inc({ route: 'app', user: 'alice' } as { route: string })).toThrow(
      'x_total has no label "user"',
    );
    expect(() => counter.inc({ route: 'app' }, -1)).toThrow(TypeError);
    expect(() => counter.inc({ route: 'app' }, Number.NaN)).toThrow(TypeError);
    expect(() => counter.inc({ route: 'app' }, Infinity)).toThrow(TypeError);
    expect(() => histogram.observe({ route: 'app' }, Number.NaN)).toThrow(TypeError);
    expect(() => histogram.observe({ route: 'app' }, -Infinity)).toThrow(TypeError);
    const text = await registry.metrics();
    expect(text).toContain('x_total{route="app"} 0');
    expect(text).toContain('x_seconds_count{route="app"} 0');
    expect(
      () =>
        new DirectCounter({
          name: 'x_total',
          help: 'Again.',
          labelNames: [],
          registers: [registry],
        }),
    ).toThrow('already been registered');
  });
});
