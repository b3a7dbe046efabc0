import { constants, PerformanceObserver } from 'node:perf_hooks';
import { getHeapStatistics, type HeapInfo } from 'node:v8';
import { brandClass } from '../class-brand.js';
import { checkKnownKeys, checkOptionsObject, optionError } from '../option-checks.js';
import { checkClock } from './resource-options.js';

/** One reading of this process's V8 heap (the main isolate). Sizes in bytes. */
export interface HeapReading {
  /** `used_heap_size`: live objects and garbage not yet collected (what `process.memoryUsage().heapUsed` says). */
  usedBytes: number;
  /** `heap_size_limit`: where V8 gives up with "JavaScript heap out of memory" (`--max-old-space-size` and the young generation). */
  limitBytes: number;
  /** `usedBytes / limitBytes`. */
  ratio: number;
  /** `total_heap_size`: what V8 has reserved from the system for the heap. */
  totalBytes: number;
  /**
   * Full (mark-sweep) garbage collections seen since the monitor was created: garbage left before
   * the latest one is gone. `null` when they cannot be observed.
   */
  majorGcs: number | null;
  /** When it was taken, in milliseconds of the monitor's clock. */
  at: number;
  /** `true` when a later read failed and this is an older value kept by a {@link ResourceSampler}. */
  stale: boolean;
}

/** Options of a {@link HeapMonitor}. */
export interface HeapMonitorOptions {
  /**
   * Where the numbers come from; for tests.
   * @default v8.getHeapStatistics
   */
  statistics?: () => Pick<HeapInfo, 'used_heap_size' | 'heap_size_limit' | 'total_heap_size'>;
  /**
   * Monotonic clock in milliseconds.
   * @default performance.now
   */
  now?: () => number;
}

const OWNER = 'HeapMonitor';

/**
 * Reads this process's V8 heap: `used_heap_size` against `heap_size_limit` from
 * `v8.getHeapStatistics()` (synchronous, a few microseconds, no I/O). A Worker whose activities run
 * in its main isolate dies of "JavaScript heap out of memory" when `used_heap_size` reaches the
 * limit, long before a container limit is near when `--max-old-space-size` is small.
 *
 * @example
 * ```ts
 * import { HeapMonitor } from 'slotwise';
 *
 * const heap = new HeapMonitor();
 * heap.read(); // => { usedBytes: 9437184, limitBytes: 4345298944, ratio: 0.0022, totalBytes: 12058624, majorGcs: 0, at: 12.3, stale: false }
 * heap.close();
 * ```
 */
export class HeapMonitor {
  readonly #statistics: NonNullable<HeapMonitorOptions['statistics']>;
  readonly #now: () => number;
  #last: HeapReading | null = null;
  #majorGcs: number | null = null;
  #observer: PerformanceObserver | null = null;
  readonly #ownHeap: boolean;

  constructor(options: HeapMonitorOptions = {}) {
    checkOptionsObject(OWNER, options);
    checkKnownKeys(OWNER, options, ['statistics', 'now']);
    if (options.statistics !== undefined && typeof options.statistics !== 'function') {
      optionError(OWNER, 'statistics', 'a function returning v8 heap statistics', options.statistics);
    }
    this.#statistics = options.statistics ?? getHeapStatistics;
    this.#now = checkClock(OWNER, options.now);
    this.#ownHeap = options.statistics === undefined;
    if (this.#ownHeap) this.#observeGcs();
  }

  /** Counts full collections (`gc` performance entries of kind major), from the first read on. */
  #observeGcs(): void {
    try {
      const observer = new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) {
          const kind = (entry as { detail?: { kind?: number } }).detail?.kind;
          if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) this.#majorGcs = (this.#majorGcs ?? 0) + 1;
        }
      });
      observer.observe({ entryTypes: ['gc'] });
      this.#observer = observer;
      this.#majorGcs ??= 0;
    } catch {
      this.#majorGcs = null; // no gc entries on this runtime
    }
  }

  /** Counts a full collection; for tests that supply `statistics`. */
  countMajorGc(): void {
    this.#majorGcs = (this.#majorGcs ?? 0) + 1;
  }

  /** The last reading returned by {@link read}, or `null`. Does no I/O. */
  latest(): HeapReading | null {
    return this.#last;
  }

  /** Reads the heap statistics. Throws when they make no sense (a limit of 0, negative sizes). */
  read(): HeapReading {
    if (this.#ownHeap && this.#observer === null) this.#observeGcs(); // closed by a stopped sampler
    const stats = this.#statistics();
    const used = stats.used_heap_size;
    const limit = stats.heap_size_limit;
    if (!(Number.isFinite(used) && used >= 0 && Number.isFinite(limit) && limit > 0)) {
      throw new Error(
        `V8 heap statistics make no sense: used_heap_size ${String(used)}, heap_size_limit ${String(limit)}`,
      );
    }
    this.#last = {
      usedBytes: used,
      limitBytes: limit,
      ratio: used / limit,
      totalBytes: stats.total_heap_size,
      majorGcs: this.#majorGcs,
      at: this.#now(),
      stale: false,
    };
    return this.#last;
  }

  /** Stops observing garbage collections. Idempotent. */
  close(): void {
    this.#observer?.disconnect();
    this.#observer = null;
  }
}
brandClass(HeapMonitor, 'HeapMonitor');
