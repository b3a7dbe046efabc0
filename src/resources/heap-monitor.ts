import { constants, PerformanceObserver } from 'node:perf_hooks';
import { getHeapStatistics, type HeapInfo } from 'node:v8';
import { resourceLimits } from 'node:worker_threads';
import { brandClass } from '../class-brand.js';
import { checkKnownKeys, checkOptionsObject, optionError } from '../option-checks.js';
import { checkClock } from './resource-options.js';

/** One reading of this process's V8 heap (the main isolate). Sizes in bytes. */
export interface HeapReading {
  /** `used_heap_size`: live objects and garbage not yet collected (what `process.memoryUsage().heapUsed` says). */
  usedBytes: number;
  /**
   * The old generation's limit (`--max-old-space-size`): where V8 gives up with "JavaScript heap out
   * of memory". What tasks keep reachable lives there (arrays and buffers of a few hundred kilobytes
   * and more go straight to it); the young generation only holds short-lived small objects.
   */
  limitBytes: number;
  /**
   * `heap_size_limit`: the old generation's limit and the young generation's (three semi-spaces: 48
   * MiB with V8's default 16 MiB semi-space on 64-bit). Larger than {@link limitBytes}: a target taken
   * of it would leave less room than it says (0.7 of 208 MiB is 0.91 of a 160 MiB old space).
   */
  heapSizeLimitBytes: number;
  /** `usedBytes / limitBytes` (the young generation's objects count as used). */
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
  /**
   * The Node and V8 command-line flags the old generation's limit is worked out from
   * (`--max-old-space-size`, `--max-semi-space-size`); for tests. With `statistics` of your own and
   * no such flag, the young generation is taken as empty.
   * @default process.execArgv and NODE_OPTIONS
   */
  flags?: readonly string[];
}

const OWNER = 'HeapMonitor';
const MiB = 1024 * 1024;
/** V8's semi-space limit on 64-bit platforms when no flag sets it. */
const DEFAULT_SEMI_SPACE_MIB = 16;

/** The last value of a `--name=N` / `--name N` flag (dashes or underscores), in MiB; `null` when absent. */
function flagMiB(flags: readonly string[], name: string): number | null {
  const pattern = new RegExp(`^--${name.replaceAll('-', '[-_]')}(?:=(.*))?$`);
  let value: number | null = null;
  for (let i = 0; i < flags.length; i++) {
    const match = pattern.exec(flags[i]!);
    if (!match) continue;
    const text = match[1] ?? flags[i + 1];
    const mib = Number(text);
    if (text !== undefined && text.trim() !== '' && Number.isFinite(mib) && mib > 0) value = mib;
  }
  return value;
}

/**
 * The old generation's limit in bytes, from `heap_size_limit` and the flags that set it:
 * `--max-old-space-size` when given (a worker thread's `resourceLimits.maxOldGenerationSizeMb`
 * first), else `heap_size_limit` less the young generation, three semi-spaces of
 * `--max-semi-space-size` (V8's default 16 MiB when `defaultSemiSpaceMiB` says so). Measured on Node
 * 20: `heap_size_limit` is exactly `--max-old-space-size` + 3 x `--max-semi-space-size`.
 *
 * Internal: exported for tests.
 */
export function oldGenerationLimit(
  heapSizeLimit: number,
  flags: readonly string[],
  defaultSemiSpaceMiB: number,
  workerLimits: { maxOldGenerationSizeMb?: number } = {},
): number {
  const old = workerLimits.maxOldGenerationSizeMb || flagMiB(flags, 'max-old-space-size');
  if (old !== null && old !== undefined && old * MiB < heapSizeLimit) return old * MiB;
  const young = 3 * (flagMiB(flags, 'max-semi-space-size') ?? defaultSemiSpaceMiB) * MiB;
  // A young generation as large as half the heap is not what V8 does: keep the whole limit then.
  return young > 0 && young < heapSizeLimit / 2 ? heapSizeLimit - young : heapSizeLimit;
}

/**
 * A process's Node flags: its command line's (`process.execArgv`) and those of `NODE_OPTIONS`.
 *
 * Internal: exported for tests.
 */
export function nodeFlags(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  return [...execArgv, ...(nodeOptions ?? '').split(/\s+/).filter(Boolean)];
}

/**
 * Reads this process's V8 heap: `used_heap_size` from `v8.getHeapStatistics()` (synchronous, a few
 * microseconds, no I/O) against the old generation's limit (`--max-old-space-size`; when no flag
 * sets it, `heap_size_limit` less V8's young generation). A Worker whose activities run in its main
 * isolate dies of "JavaScript heap out of memory" when the old generation is full, long before a
 * container limit is near when `--max-old-space-size` is small.
 *
 * @example
 * ```ts
 * import { HeapMonitor } from 'slotwise';
 *
 * const heap = new HeapMonitor();
 * heap.read(); // => { usedBytes: 9437184, limitBytes: 4294967296, heapSizeLimitBytes: 4345298944, ratio: 0.0022, totalBytes: 12058624, majorGcs: 0, at: 12.3, stale: false }
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
  readonly #flags: readonly string[];
  /** The old generation's limit worked out for the latest heap_size_limit seen. */
  #oldFor: { heapSizeLimit: number; old: number } | null = null;

  constructor(options: HeapMonitorOptions = {}) {
    checkOptionsObject(OWNER, options);
    checkKnownKeys(OWNER, options, ['statistics', 'now', 'flags']);
    if (options.statistics !== undefined && typeof options.statistics !== 'function') {
      optionError(OWNER, 'statistics', 'a function returning v8 heap statistics', options.statistics);
    }
    if (
      options.flags !== undefined &&
      !(Array.isArray(options.flags) && options.flags.every((flag) => typeof flag === 'string'))
    ) {
      optionError(OWNER, 'flags', 'an array of command-line flags (strings)', options.flags);
    }
    this.#statistics = options.statistics ?? getHeapStatistics;
    this.#now = checkClock(OWNER, options.now);
    this.#ownHeap = options.statistics === undefined;
    this.#flags =
      options.flags ?? (this.#ownHeap ? nodeFlags(process.execArgv, process.env.NODE_OPTIONS) : []);
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
    // Worked out once per heap_size_limit (it does not change while a process runs), not per read.
    if (this.#oldFor?.heapSizeLimit !== limit) {
      const old = oldGenerationLimit(
        limit,
        this.#flags,
        this.#ownHeap ? DEFAULT_SEMI_SPACE_MIB : 0,
        this.#ownHeap ? resourceLimits : {},
      );
      this.#oldFor = { heapSizeLimit: limit, old };
    }
    const { old } = this.#oldFor;
    this.#last = {
      usedBytes: used,
      limitBytes: old,
      heapSizeLimitBytes: limit,
      ratio: used / old,
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
