import { brandClass } from '../class-brand.js';
import { SlotwiseOptionsError } from '../errors.js';
import type { MemoryScope } from '../resources/memory-monitor.js';
import { type ResourceSample, ResourceSampler } from '../resources/sampler.js';
import { checkSampleInterval } from '../resources/sampler-options.js';
import type { GateReading } from './resource-gate.js';
import type { ResourceSupplierOptions, ResourceSupplierSnapshot } from './resource-slot-supplier.js';
import { SingleResourceSlotSupplier } from './single-resource-slot-supplier.js';

/** Options of a {@link MemorySlotSupplier}. */
export interface MemorySlotSupplierOptions extends ResourceSupplierOptions {
  /**
   * Whose memory to measure: the container's cgroup (working set = usage - inactive_file, against
   * its limit), the whole host, or this process's RSS. Only without a `sampler` (configure the
   * sampler's memory monitor instead).
   * @default 'cgroup'
   */
  scope?: MemoryScope;
  /**
   * Measure against this many bytes instead of the cgroup limit or host total. Only without a `sampler`.
   * @default the cgroup limit, else the host's total memory
   */
  limitBytes?: number;
  /**
   * Milliseconds between samples of the sampler this supplier creates. Only without a `sampler`.
   * @default 100
   */
  sampleIntervalMs?: number;
}

const OWNER = 'MemorySlotSupplier';

/**
 * Issues permits while the projected memory working set stays under `targetUtilization` of the
 * limit: the memory of everything else (tracked from readings) plus the cost of every permit issued
 * plus the next task's. A task counts at its declared `memoryBytes` (or the size learned for its
 * type) from the moment its permit is issued, whether or not it has allocated yet, and stops
 * counting the moment it is released; a rise in the reading beyond what our tasks can explain
 * stops admission at the next sample.
 *
 * @example
 * ```ts
 * import { MemorySlotSupplier } from 'slotwise';
 *
 * const memory = new MemorySlotSupplier({
 *   targetUtilization: 0.8,
 *   costs: { activities: { renderVideo: { memoryBytes: 2 * 1024 ** 3 } } },
 * });
 * // tuner: { activityTaskSlotSupplier: memory, ... }
 * memory.snapshot().readings.memory; // => { usedBytes: 1.2e9, limitBytes: 8.5e9, ratio: 0.14, ageMs: 30, stale: false, ... }
 * memory.close();
 * ```
 */
export class MemorySlotSupplier extends SingleResourceSlotSupplier {
  protected readonly dimension = 'memoryBytes' as const;
  protected readonly resource = 'memory' as const;

  constructor(options: MemorySlotSupplierOptions = {}) {
    super({
      kind: 'memory',
      owner: OWNER,
      options,
      ownSampler: {
        keys: ['scope', 'limitBytes', 'sampleIntervalMs'],
        instead: "set it on the sampler's memory monitor instead.",
      },
      makeSampler: () =>
        new ResourceSampler({
          intervalMs: checkSampleInterval(OWNER, options?.sampleIntervalMs, 'intervalMs'),
          cpu: false,
          gpu: false,
          memory: {
            ...(options?.scope !== undefined ? { scope: options.scope } : {}),
            ...(options?.limitBytes !== undefined ? { limitBytes: options.limitBytes } : {}),
          },
          ...(options?.logger ? { logger: options.logger } : {}),
        }),
    });
    if (this.sampler.memory === null) {
      throw new SlotwiseOptionsError(
        `${OWNER}: expected \`sampler\` to sample memory, but it was created with memory: false.`,
      );
    }
  }

  /**
   * A released task may hold anything up to its cost for `settleMs` (its default `shown` and
   * `retentionMs`): the released tasks before a reading are counted per cost group, not walked.
   */
  protected override summedReleases(): boolean {
    return true;
  }

  protected reading(sample: ResourceSample): GateReading | null {
    const memory = sample.memory;
    if (memory === null) return null;
    return { used: memory.usedBytes, limit: memory.limitBytes, at: memory.at };
  }

  protected readings(sample: ResourceSample): ResourceSupplierSnapshot['readings'] {
    const memory = sample.memory;
    const freshness = this.freshness('memory', sample);
    return {
      memory:
        memory && freshness
          ? { usedBytes: memory.usedBytes, limitBytes: memory.limitBytes, ratio: memory.ratio, ...freshness }
          : null,
    };
  }
}
brandClass(MemorySlotSupplier, 'MemorySlotSupplier');
