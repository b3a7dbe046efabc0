import { brandClass } from '../class-brand.js';
import { SlotwiseOptionsError } from '../errors.js';
import { type ResourceSample, ResourceSampler } from '../resources/sampler.js';
import { checkSampleInterval } from '../resources/sampler-options.js';
import type { PermitRecord } from './permit-ledger.js';
import type { GateReading } from './resource-gate.js';
import {
  type ResourceSupplierOptions,
  type ResourceSupplierSnapshot,
  type RiseWindow,
  SHOWS_ANY,
} from './resource-slot-supplier.js';
import { SingleResourceSlotSupplier } from './single-resource-slot-supplier.js';

/** Options of a {@link HeapSlotSupplier}. */
export interface HeapSlotSupplierOptions extends ResourceSupplierOptions {
  /**
   * Milliseconds between samples of the sampler this supplier creates. Only without a `sampler`.
   * @default 100
   */
  sampleIntervalMs?: number;
}

const OWNER = 'HeapSlotSupplier';

/**
 * Issues permits while this process's projected V8 heap (`used_heap_size` from
 * `v8.getHeapStatistics()`) stays under `targetUtilization` of the old generation's limit
 * (`--max-old-space-size`; not `heap_size_limit`, which also counts the young generation that large
 * objects never use; see `HeapMonitor`). Activities run in the Worker's main isolate, so a burst of
 * activities that each keep tens of megabytes reachable kills the Worker with "JavaScript heap out of
 * memory" long before a container limit is near when the heap limit is small. Declare `heapBytes` per task type (what a
 * task keeps reachable at most), or let the supplier learn it from readings.
 *
 * The reading is `used_heap_size`, garbage included. What a finished task left behind is garbage
 * that V8 collects before it would give up, so it does not hold the heap: a release frees the task's
 * cost at once, and until the next full collection its garbage is not taken for anyone's live
 * objects.
 *
 * @example
 * ```ts
 * import { CompositeSlotSupplier, FixedSlotSupplier, HeapSlotSupplier } from 'slotwise';
 *
 * const heap = new HeapSlotSupplier({
 *   targetUtilization: 0.7,
 *   costs: { activities: { parseReport: { heapBytes: 64 * 1024 ** 2 } } },
 * });
 * const activities = new CompositeSlotSupplier([new FixedSlotSupplier({ slots: 20 }), heap]);
 * // tuner: { activityTaskSlotSupplier: activities, ... }
 * heap.snapshot().readings.heap; // => null until the first sample (within 100 ms), then { usedBytes, limitBytes, ratio, ageMs, stale, ... }
 * heap.close();
 * ```
 */
export class HeapSlotSupplier extends SingleResourceSlotSupplier {
  protected readonly dimension = 'heapBytes' as const;
  protected readonly resource = 'heap' as const;
  /** Full collections seen when each task was released: its garbage is gone after the next one. */
  readonly #gcsAtRelease = new WeakMap<PermitRecord, number | null>();
  /** The full collections counted by the latest reading whose releases were forgotten. */
  #gcsFollowed: number | null = null;

  constructor(options: HeapSlotSupplierOptions = {}) {
    super({
      kind: 'heap',
      owner: OWNER,
      options,
      ownSampler: { keys: ['sampleIntervalMs'], instead: 'set `intervalMs` on the sampler instead.' },
      makeSampler: () =>
        new ResourceSampler({
          intervalMs: checkSampleInterval(OWNER, options?.sampleIntervalMs, 'intervalMs'),
          cpu: false,
          memory: false,
          gpu: false,
          heap: {},
          ...(options?.logger ? { logger: options.logger } : {}),
        }),
    });
    if ((this.sampler as { heap?: unknown }).heap == null) {
      throw new SlotwiseOptionsError(
        `${OWNER}: expected \`sampler\` to sample the V8 heap, but it was created without heap: create it with \`heap: {}\`.`,
      );
    }
  }

  /** What a finished task leaves is garbage, collected before V8 gives up: it does not hold the heap. */
  protected override gateOptions() {
    return { releasedMayHold: false };
  }

  /**
   * Every followed release before a reading may still show in full until a full collection, and the
   * collection clears them all at once (see {@link beforeObserve}): they are counted per cost group,
   * not walked at every reading (up to 30 s of releases: 30,000 at 1,000 tasks/s).
   */
  protected override summedReleases(): boolean {
    return true;
  }

  /**
   * A reading after a new full collection: the tasks released before it leave nothing any reading
   * can show, so they stop being followed now (a walk once per full collection), not one by one at
   * every reading until they are 30 s old.
   */
  protected override beforeObserve(sample: ResourceSample): void {
    const gcs = sample.heap?.majorGcs;
    if (gcs === null || gcs === undefined || gcs === this.#gcsFollowed) return;
    this.#gcsFollowed = gcs;
    this.forgetReleases(({ record }) => {
      const before = this.#gcsAtRelease.get(record);
      return before !== null && before !== undefined && gcs > before;
    });
  }

  protected override onReleased(record: PermitRecord): void {
    this.#gcsAtRelease.set(record, this.sampler.latest().heap?.majorGcs ?? null);
    super.onReleased(record);
  }

  /**
   * A released task's garbage shows in `used_heap_size` until a full collection: followed (so it is
   * not taken for someone else's objects) until the heap reading has seen one, for up to 30 s.
   */
  protected override shown(
    record: PermitRecord,
    releasedAt: number | undefined,
    now: number = this.clock(),
  ): readonly [number, number] | null {
    if (releasedAt === undefined) return super.shown(record, undefined, now);
    const before = this.#gcsAtRelease.get(record);
    const gcs = this.sampler.latest().heap?.majorGcs;
    if (before !== null && before !== undefined && gcs !== null && gcs !== undefined && gcs > before)
      return null;
    return now - releasedAt < this.retentionMs() ? SHOWS_ANY : null;
  }

  /**
   * Only a rise counts: the heap reading falls at every collection, and the reading just after one
   * (live objects only) is the truest there is.
   */
  protected override movement(window: RiseWindow, at: number): number | null {
    return window.rise(at, this.settleMs);
  }

  protected override retentionMs(): number {
    return Math.max(this.settleMs, 30_000);
  }

  protected reading(sample: ResourceSample): GateReading | null {
    const heap = sample.heap;
    if (heap === null || heap === undefined) return null;
    return { used: heap.usedBytes, limit: heap.limitBytes, at: heap.at };
  }

  protected readings(sample: ResourceSample): ResourceSupplierSnapshot['readings'] {
    const heap = sample.heap;
    const freshness = this.freshness('heap', sample);
    return {
      heap:
        heap && freshness
          ? { usedBytes: heap.usedBytes, limitBytes: heap.limitBytes, ratio: heap.ratio, ...freshness }
          : null,
    };
  }
}
brandClass(HeapSlotSupplier, 'HeapSlotSupplier');
