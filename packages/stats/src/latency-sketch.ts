/**
 * Quantiles of many latencies in constant memory: values fall into logarithmic buckets 5% wide,
 * so a reported p99 is within 5% of the true one however many mails were seen.
 */
export class LatencySketch {
  static readonly #growth = 1.05;
  readonly #buckets = new Map<number, number>();
  count = 0;

  add(ms: number): void {
    const i = ms < 1 ? 0 : Math.ceil(Math.log(ms) / Math.log(LatencySketch.#growth));
    this.#buckets.set(i, (this.#buckets.get(i) ?? 0) + 1);
    this.count++;
  }

  /** The q-quantile (0..1) in ms, rounded up to its bucket's bound; undefined when empty. */
  quantile(q: number): number | undefined {
    if (this.count === 0) return undefined;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (const i of [...this.#buckets.keys()].sort((a, b) => a - b)) {
      seen += this.#buckets.get(i) ?? 0;
      if (seen >= rank) return i === 0 ? 1 : LatencySketch.#growth ** i;
    }
    return undefined;
  }
}
