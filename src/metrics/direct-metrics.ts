import type { Metric, Registry } from 'prom-client';

type Labels<L extends string> = Readonly<Record<L, string>>;

/** One label set's counter: what `labels()` returns. */
export interface CounterCell {
  inc(amount?: number): void;
}

/** One label set's histogram: what `labels()` returns. */
export interface HistogramCell {
  observe(value: number): void;
}

interface ExportedValue {
  readonly value: number;
  readonly labels: Record<string, string | number>;
  readonly metricName?: string;
}

interface MetricConfig<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  readonly registers: readonly Registry[];
}

/**
 * The metrics counted on every request (SPEC §10), registered in the gateway's prom-client
 * Registry, which renders `/metrics` as for its own metrics: same names, label syntax and
 * number format. They exist because prom-client hashes the label object on every `inc` and
 * `observe`, a label child's too (0.7-0.9 µs each under load, five per request, about 4% of a
 * request's CPU in `npm run bench` with --cpu-prof). Here a label set is looked up once and
 * its cell then adds to plain numbers.
 *
 * A Registry reads `name`, `help`, `type`, `aggregator` and `labelNames`, calls `get()` when
 * scraped and `reset()` from `resetMetrics()`. As with prom-client, a label set is exported
 * from its first count on (a cell looked up in advance shows nothing until then), and a reset
 * takes every label set out until it counts again; the cells callers keep go on counting.
 */
abstract class DirectMetric<L extends string, C extends { readonly counted: boolean }> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  readonly aggregator = 'sum';
  abstract readonly type: 'counter' | 'histogram';
  private readonly cells = new Map<string, C>();

  constructor(config: MetricConfig<L>) {
    this.name = config.name;
    this.help = config.help;
    this.labelNames = config.labelNames;
    // The Registry's type names its own four classes; it reads only what is listed above.
    for (const registry of config.registers) registry.registerMetric(this as unknown as Metric);
  }

  /** The cell of one label set, made on first use; keep it where the same labels recur. */
  labels(labels: Labels<L>): C {
    for (const name of Object.keys(labels))
      if (!this.labelNames.includes(name as L))
        throw new Error(`${this.name} has no label ${JSON.stringify(name)}`);
    // As prom-client: a value is its text (200 and '200' are one label set), a missing label
    // is left out of the series.
    const values = this.labelNames.map((name) =>
      labels[name] === undefined ? undefined : String(labels[name]),
    );
    const key = JSON.stringify(values);
    let cell = this.cells.get(key);
    if (cell === undefined) {
      // A copy in labelNames order: the caller's object is not kept.
      const own: Record<string, string> = {};
      this.labelNames.forEach((name, i) => {
        if (values[i] !== undefined) own[name] = values[i];
      });
      this.cells.set(key, (cell = this.newCell(own)));
    }
    return cell;
  }

  async get() {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: [...this.cells.values()]
        .filter((cell) => cell.counted)
        .flatMap((cell) => this.exported(cell)),
    };
  }

  reset(): void {
    for (const cell of this.cells.values()) this.zero(cell);
  }

  protected abstract newCell(labels: Readonly<Record<string, string>>): C;
  protected abstract exported(cell: C): ExportedValue[];
  protected abstract zero(cell: C): void;
}

class CounterValue implements CounterCell {
  value = 0;
  /** Whether it has counted since it was made or reset: only then is it exported. */
  counted = false;
  constructor(readonly labels: Readonly<Record<string, string>>) {}

  inc(amount = 1): void {
    if (typeof amount !== 'number' || !(amount >= 0 && amount < Infinity))
      throw new TypeError(`a counter adds a finite number of at least 0, not ${amount}`);
    this.value += amount;
    this.counted = true;
  }
}

/** A counter (`prom-client`'s Counter, for the label sets a request path uses). */
export class DirectCounter<L extends string> extends DirectMetric<L, CounterValue> {
  readonly type = 'counter';

  inc(labels: Labels<L>, amount?: number): void {
    this.labels(labels).inc(amount);
  }

  protected newCell(labels: Readonly<Record<string, string>>): CounterValue {
    return new CounterValue(labels);
  }

  protected exported(cell: CounterValue): ExportedValue[] {
    return [{ value: cell.value, labels: { ...cell.labels } }];
  }

  protected zero(cell: CounterValue): void {
    cell.value = 0;
    cell.counted = false;
  }
}

class HistogramValue implements HistogramCell {
  /** Observations per bucket (not cumulative); one past the last bound counts no bucket. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  get counted(): boolean {
    return this.count > 0;
  }

  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    if (!Number.isFinite(value))
      throw new TypeError(`a histogram observes finite numbers, not ${value}`);
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    if (i < bounds.length) this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

/** A histogram with fixed buckets (`prom-client`'s Histogram, for a request path's label sets). */
export class DirectHistogram<L extends string> extends DirectMetric<L, HistogramValue> {
  readonly type = 'histogram';
  private readonly buckets: readonly number[];

  constructor(config: MetricConfig<L> & { readonly buckets: readonly number[] }) {
    super(config);
    this.buckets = [...config.buckets].sort((a, b) => a - b);
  }

  observe(labels: Labels<L>, value: number): void {
    this.labels(labels).observe(value);
  }

  protected newCell(labels: Readonly<Record<string, string>>): HistogramValue {
    return new HistogramValue(labels, this.buckets);
  }

  /** As prom-client exports one: cumulative `_bucket`s with `le` first, `+Inf`, `_sum`, `_count`. */
  protected exported(cell: HistogramValue): ExportedValue[] {
    const bucket = `${this.name}_bucket`;
    let below = 0;
    const values: ExportedValue[] = this.buckets.map((le, i) => {
      below += cell.counts[i]!;
      return { value: below, labels: { le, ...cell.labels }, metricName: bucket };
    });
    values.push(
      { value: cell.count, labels: { le: '+Inf', ...cell.labels }, metricName: bucket },
      { value: cell.sum, labels: { ...cell.labels }, metricName: `${this.name}_sum` },
      { value: cell.count, labels: { ...cell.labels }, metricName: `${this.name}_count` },
    );
    return values;
  }

  protected zero(cell: HistogramValue): void {
    cell.counts.fill(0);
    cell.sum = 0;
    cell.count = 0;
  }
}
