import { checkInteger } from '../option-checks.js';
import type { MetricsSample } from './metrics-sample.js';

/**
 * A fixed-size ring buffer of {@link MetricsSample}s, oldest first: the metrics server keeps one so
 * that the live page shows the last minutes as soon as it loads.
 *
 * @example
 * ```ts
 * import { MetricsHistory } from 'slotwise/internal/metrics/metrics-history.js';
 * const history = new MetricsHistory(2);
 * history.push({ time: 1, suppliers: [] });
 * history.push({ time: 2, suppliers: [] });
 * history.push({ time: 3, suppliers: [] });
 * history.since(1).map((s) => s.time); // => [2, 3]
 * ```
 */
export class MetricsHistory {
  /** How many samples it keeps at most. */
  readonly capacity: number;
  readonly #samples: Array<MetricsSample | undefined>;
  #next = 0;
  #size = 0;

  constructor(capacity: number) {
    this.capacity = checkInteger('MetricsHistory', 'capacity', capacity, 1);
    this.#samples = new Array(capacity);
  }

  /** How many samples it holds. */
  get size(): number {
    return this.#size;
  }

  /** Adds a sample, dropping the oldest when full. */
  push(sample: MetricsSample): void {
    this.#samples[this.#next] = sample;
    this.#next = (this.#next + 1) % this.capacity;
    this.#size = Math.min(this.#size + 1, this.capacity);
  }

  /** The samples taken after `time` (milliseconds since the epoch), oldest first; all of them by default. */
  since(time = Number.NEGATIVE_INFINITY): MetricsSample[] {
    const out: MetricsSample[] = [];
    const start = (this.#next - this.#size + this.capacity) % this.capacity;
    for (let i = 0; i < this.#size; i++) {
      const sample = this.#samples[(start + i) % this.capacity]!;
      if (sample.time > time) out.push(sample);
    }
    return out;
  }

  /** The newest sample, if any. */
  latest(): MetricsSample | undefined {
    return this.#size === 0 ? undefined : this.#samples[(this.#next - 1 + this.capacity) % this.capacity];
  }
}
