import { brandClass } from '../class-brand.js';
import { SlotwiseOptionsError } from '../errors.js';
import { type ResourceSample, ResourceSampler } from '../resources/sampler.js';
import { checkSampleInterval } from '../resources/sampler-options.js';
import type { PermitRecord } from './permit-ledger.js';
import type { GateReading } from './resource-gate.js';
import {
  type ResourceSupplierOptions,
  type ResourceSupplierSnapshot,
  SHOWS_NONE,
} from './resource-slot-supplier.js';
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

/** Below this share of its cost, a released task no longer shows in the smoothed reading. */
const GONE = 0.005;

/**
 * Issues permits while projected CPU use stays near `targetUtilization` of the usable cores (the
 * cgroup quota when there is one). CPU is a soft limit: a task is admitted when it brings projected
 * use nearer the target than not admitting it, so the mean tracks the target.
 *
 * The reading is smoothed (time constant `tauMs` of the CPU monitor), so a task that just started
 * shows only partly, and one that just ended still shows. The supplier follows that smoothing for
 * each task exactly: a running task counts at its cost, of which the reading already shows a known
 * share, so nothing is counted twice and a release frees its cost at once. Costs are declared
 * (`costs`), or learned per task type from every reading.
 *
 * @example
 * ```ts
 * import { CpuSlotSupplier } from 'slotwise';
 *
 * const cpu = new CpuSlotSupplier({ targetUtilization: 0.8, maxSlots: 16, costs: { default: { cpu: 1 } } });
 * // tuner: { activityTaskSlotSupplier: cpu, ... }
 * cpu.snapshot().readings.cpu; // => { utilization: 0.35, usableCores: 2, ageMs: 40, stale: false, ... }
 * cpu.close();
 * ```
 */
export class CpuSlotSupplier extends SingleResourceSlotSupplier {
  protected readonly dimension = 'cpu' as const;
  protected readonly resource = 'cpu' as const;

  constructor(options: CpuSlotSupplierOptions = {}) {
    if (options?.sampler !== undefined && options.sampleIntervalMs !== undefined) {
      throw new SlotwiseOptionsError(
        `${OWNER}: \`sampleIntervalMs\` applies only when the supplier creates its own sampler; set \`intervalMs\` on the sampler instead.`,
      );
    }
    super({
      kind: 'cpu',
      owner: OWNER,
      options,
      extraKeys: ['sampleIntervalMs'],
      makeSampler: () =>
        new ResourceSampler({
          intervalMs: checkSampleInterval(OWNER, options?.sampleIntervalMs, 'intervalMs'),
          memory: false,
          gpu: false,
          ...(options?.logger ? { logger: options.logger } : {}),
        }),
    });
    if (this.sampler.cpu === null) {
      throw new SlotwiseOptionsError(
        `${OWNER}: expected \`sampler\` to sample CPU, but it was created with cpu: false.`,
      );
    }
  }

  /** A smoothed CPU reading shows a short task only in part: a task alone does not teach its cost. */
  protected override learnsFromSoloTasks(): boolean {
    return false;
  }

  protected override gateOptions() {
    return { rounding: 'nearest' as const, learningRates: [0.3, 0.3] as const, lowersBaselineByTasks: true };
  }

  protected reading(sample: ResourceSample): GateReading | null {
    const cpu = sample.cpu;
    if (cpu === null) return null;
    return { used: cpu.utilization * cpu.usableCores, limit: cpu.usableCores, at: cpu.at };
  }

  protected readings(sample: ResourceSample): ResourceSupplierSnapshot['readings'] {
    const cpu = sample.cpu;
    const freshness = this.freshness('cpu', sample);
    return {
      cpu:
        cpu && freshness
          ? { utilization: cpu.utilization, usableCores: cpu.usableCores, ...freshness }
          : null,
    };
  }

  protected override shown(
    record: PermitRecord,
    releasedAt: number | undefined,
  ): readonly [number, number] | null {
    if (record.usedAt === undefined) return SHOWS_NONE;
    const share = record.shown;
    if (releasedAt !== undefined && share < GONE) return null;
    return [share, share];
  }

  /** The reading's smoothing is followed exactly: every reading can be learned from. */
  protected override settled(): boolean {
    return true;
  }

  protected override retentionMs(): number {
    return Math.max(this.settleMs, this.#tauMs() * Math.log(1 / GONE));
  }

  /** Moves each task's shown share the way the monitor moved its smoothed reading. */
  protected override beforeObserve(sample: ResourceSample): void {
    const cpu = sample.cpu;
    if (cpu === null) return;
    const start = cpu.intervalStart ?? cpu.at;
    const span = cpu.at - start;
    const alpha =
      cpu.smoothedFrom === null || cpu.smoothedFrom === undefined
        ? 1
        : 1 - Math.exp(-(cpu.at - cpu.smoothedFrom) / this.#tauMs());
    const follow = (record: PermitRecord, end: number) => {
      if (record.usedAt === undefined) return;
      const running = Math.max(0, Math.min(end, cpu.at) - Math.max(record.usedAt, start));
      const share = span > 0 ? running / span : record.usedAt <= cpu.at && end > cpu.at ? 1 : 0;
      // The share of each task's cost the smoothed reading shows, kept on its record.
      record.shown += alpha * (share - record.shown);
    };
    for (const record of this.ledger.records()) follow(record, Number.POSITIVE_INFINITY);
    for (const { record, at } of this.recentReleases()) follow(record, at);
    // A released task this reading followed past its end only fades from here on: once it shows less
    // than GONE it never counts again, so it is not kept for retentionMs (2.65 s at the default
    // smoothing: a Worker at 1000 tasks/s followed 2650 of them at every reading).
    this.forgetReleases((record) => record.shown < GONE);
  }

  #tauMs(): number {
    const tau = (this.sampler.cpu as { tauMs?: unknown } | null)?.tauMs;
    return typeof tau === 'number' && tau > 0 ? tau : 500;
  }
}
brandClass(CpuSlotSupplier, 'CpuSlotSupplier');
