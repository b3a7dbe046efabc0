import { brandClass } from '../class-brand.js';
import { SlotwiseOptionsError } from '../errors.js';
import { type ResourceSample, ResourceSampler } from '../resources/sampler.js';
import type { ResourceSupplierOptions, ResourceSupplierSnapshot } from './resource-slot-supplier.js';
import { SingleResourceSlotSupplier } from './single-resource-slot-supplier.js';

/** Options of a {@link CpuSlotSupplier}. */
export interface CpuSlotSupplierOptions extends ResourceSupplierOptions {
  /**
   * Milliseconds between samples of the sampler this supplier creates. Only without a `sampler`.
   * @default 100
   */
  sampleIntervalMs?: number;
}

const OWNER = 'CpuSlotSupplier';

/**
 * Issues permits while projected CPU use stays under `targetUtilization` of the usable cores (the
 * cgroup quota when there is one). Readings are smoothed and lag, so permits issued in the last
 * `settleMs` count at their declared `cpu` cost, or at the learned per-task use; with neither
 * known, one permit at a time is probed.
 *
 * @example
 * ```ts
 * import { CpuSlotSupplier } from 'slotwise';
 *
 * const cpu = new CpuSlotSupplier({ targetUtilization: 0.8, maxSlots: 16, costs: { default: { cpu: 1 } } });
 * // tuner: { activityTaskSlotSupplier: cpu, ... }
 * cpu.snapshot().readings.cpu; // => { utilization: 0.35, usableCores: 2 }
 * cpu.close();
 * ```
 */
export class CpuSlotSupplier extends SingleResourceSlotSupplier {
  protected readonly dimension = 'cpu' as const;

  constructor(options: CpuSlotSupplierOptions = {}) {
    if (options?.sampler !== undefined && options.sampleIntervalMs !== undefined) {
      throw new SlotwiseOptionsError(
        `${OWNER}: \`sampleIntervalMs\` applies only when the supplier creates its own sampler; set \`intervalMs\` on the sampler instead.`,
      );
    }
    super(
      'cpu',
      OWNER,
      options,
      ['sampleIntervalMs'],
      { minSlots: 1, settleMs: 1500 },
      () =>
        new ResourceSampler({
          intervalMs: options?.sampleIntervalMs ?? 100,
          memory: false,
          gpu: false,
          ...(options?.logger ? { logger: options.logger } : {}),
        }),
    );
    if (this.sampler.cpu === null) {
      throw new SlotwiseOptionsError(
        `${OWNER}: expected \`sampler\` to sample CPU, but it was created with cpu: false.`,
      );
    }
  }

  protected reading(sample: ResourceSample): { used: number; limit: number } | null {
    return cpuReading(sample);
  }

  protected readings(sample: ResourceSample): ResourceSupplierSnapshot['readings'] {
    const cpu = sample.cpu;
    return { cpu: cpu ? { utilization: cpu.utilization, usableCores: cpu.usableCores } : null };
  }
}
brandClass(CpuSlotSupplier, 'CpuSlotSupplier');

/** Busy cores (smoothed) and usable cores. */
function cpuReading(sample: ResourceSample): { used: number; limit: number } | null {
  const cpu = sample.cpu;
  if (cpu === null) return null;
  return { used: cpu.utilization * cpu.usableCores, limit: cpu.usableCores };
}
