/**
 * Request-path metric primitives on top of prom-client. prom-client's `inc(labels)` and
 * `observe()` validate and hash the labels on every call (measured 1-2 µs each, with several
 * allocations); the proxy counts every request, so these count into typed arrays and hand
 * prom-client the totals only when the registry is scraped. Registry, text format and default
 * metrics stay prom-client's.
 */
import { Counter, Histogram, type Registry } from 'prom-client';

export type LabelSet = Readonly<Record<string, string>>;
type HistogramSnapshot = Awaited<ReturnType<Histogram['get']>>;

/**
 * A counter over a fixed list of label sets (its series): `inc(i)` counts series i. An optional
 * open label (`keyLabel`, e.g. the inbound caller) splits every series by a string from a small
 * set known at run time: `inc(i, key)`.
 */
export class SeriesCounter {
  private readonly byKey = new Map<string, Float64Array>();

  constructor(private readonly opts: {
    readonly name: string;
    readonly help: string;
    readonly labelNames: readonly string[];
    readonly series: readonly LabelSet[];
    readonly registry: Registry;
    readonly keyLabel?: string;
    /** Export series that never counted (as 0), so rate() sees them from the start. */
    readonly showZero?: boolean;
  }) {
    const { series, keyLabel, showZero = false } = opts;
    const byKey = this.byKey;
    if (keyLabel === undefined) byKey.set('', new Float64Array(series.length));
    new Counter({
      name: opts.name, help: opts.help, labelNames: keyLabel === undefined ? opts.labelNames : [...opts.labelNames, keyLabel], registers: [opts.registry],
      collect() {
        this.reset();
        for (const [key, counts] of byKey) {
          for (let i = 0; i < series.length; i++) {
            const count = counts[i] ?? 0;
            const labels = series[i] ?? {};
            if (showZero || count > 0) this.inc(keyLabel === undefined ? labels : { ...labels, [keyLabel]: key }, count);
          }
        }
      },
    });
  }

  inc(series: number, key = ''): void {
    let counts = this.byKey.get(key);
    if (counts === undefined) {
      counts = new Float64Array(this.opts.series.length);
      this.byKey.set(key, counts);
    }
    counts[series]! += 1;
  }
}

/** A histogram without labels whose observations are two array writes and two additions. */
export class BucketHistogram extends Histogram {
  private readonly bounds: readonly number[];
  /** Observations per bucket, not cumulative; the last one is +Inf. */
  private readonly buckets: Float64Array;
  private sum = 0;
  private count = 0;

  constructor(private readonly opts: { readonly name: string; readonly help: string; readonly buckets: readonly number[]; readonly registry: Registry }) {
    super({ name: opts.name, help: opts.help, buckets: [...opts.buckets], registers: [opts.registry] });
    this.bounds = [...opts.buckets].sort((a, b) => a - b);
    this.buckets = new Float64Array(this.bounds.length + 1);
  }

  record(value: number): void {
    const { bounds } = this;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.buckets[i]! += 1;
    this.sum += value;
    this.count += 1;
  }

  override async get(): Promise<HistogramSnapshot> {
    return this.snapshot();
  }

  /** prom-client's registry renders the text format from this when a metric has it. */
  async getForPromString(): Promise<HistogramSnapshot> {
    return this.snapshot();
  }

  private snapshot(): HistogramSnapshot {
    const bucket = `${this.opts.name}_bucket`;
    const values: HistogramSnapshot['values'] = [];
    let cumulative = 0;
    this.bounds.forEach((le, i) => {
      cumulative += this.buckets[i] ?? 0;
      values.push({ labels: { le }, value: cumulative, metricName: bucket });
    });
    values.push({ labels: { le: '+Inf' }, value: this.count, metricName: bucket });
    values.push({ labels: {}, value: this.sum, metricName: `${this.opts.name}_sum` });
    values.push({ labels: {}, value: this.count, metricName: `${this.opts.name}_count` });
    // prom-client's typings declare `type` as a numeric enum; at run time it is this string.
    const type = 'histogram' as unknown as HistogramSnapshot['type'];
    return { name: this.opts.name, help: this.opts.help, type, aggregator: 'sum', values, collect: () => undefined };
  }
}
