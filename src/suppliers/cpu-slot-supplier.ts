import { brandClass } from '../class-brand.js';
import { SlotwiseOptionsError } from '../errors.js';
import { type ResourceSample, ResourceSampler } from '../resources/sampler.js';
import { checkSampleInterval } from '../resources/sampler-options.js';
import type { PermitRecord } from './permit-ledger.js';
import type { GateReading, GateTask } from './resource-gate.js';
import {
  type ReleasedTask,
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

/**
 * Released tasks that a reading can only show fading out from here on, priced alike (one declared
 * cost, or one task type and slot family): one of them stands for all, with the sum of their shares.
 */
interface FadingGroup {
  readonly record: PermitRecord;
  shown: number;
}

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
  /** Released tasks that only fade, summed per cost group (see {@link beforeObserve}). */
  readonly #fading = new Map<number | string, FadingGroup>();

  constructor(options: CpuSlotSupplierOptions = {}) {
    super({
      kind: 'cpu',
      owner: OWNER,
      options,
      ownSampler: { keys: ['sampleIntervalMs'], instead: 'set `intervalMs` on the sampler instead.' },
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

  /**
   * Exactly the share the smoothing left of the task, released or not: CPU time is never held after
   * a task ends. (A released task whose share was too small to count returned `null` here, which
   * means "may hold all it used", so every task released since the latest reading counted at its
   * whole cost until the next one: at 1000 short tasks/s and 100 ms readings, ~100 tasks' worth.)
   */
  protected override shown(record: PermitRecord): readonly [number, number] {
    if (record.usedAt === undefined) return SHOWS_NONE;
    const share = record.shown;
    return [share, share];
  }

  /** The reading's smoothing is followed exactly: every reading can be learned from. */
  protected override settled(): boolean {
    return true;
  }

  /**
   * The live permits and the releases still followed one by one (see the base class), then one entry
   * per group of fading released tasks, its share the sum of theirs: the gate's every use of a
   * released task's share is a sum of `cost x share`, so a group counts as its tasks would.
   */
  protected override tasks(): GateTask[] {
    const tasks = super.tasks();
    for (const group of this.#fading.values()) {
      const { cost, declared, typeKey } = this.taskCost(this.gate, this.dimension, group.record);
      const shown = [group.shown, group.shown] as const;
      tasks.push({ cost, declared, typeKey, live: false, shown, releasedAfterReading: false });
    }
    return tasks;
  }

  protected override retentionMs(): number {
    return Math.max(this.settleMs, this.#tauMs() * Math.log(1 / GONE));
  }

  /**
   * Moves each task's shown share the way the monitor moved its smoothed reading. A task released
   * before this reading was sampled shows nothing of any later interval: its share only fades, by the
   * same factor at every reading. So from here on it joins the running sum of its cost group rather
   * than being walked one by one (a Worker at 1000 tasks/s had ~2650 of them at every reading, most
   * of a tick's time), and that sum is followed until it shows less than {@link GONE} of one task.
   */
  protected override beforeObserve(sample: ResourceSample): void {
    const cpu = sample.cpu;
    if (cpu === null) return;
    const start = cpu.intervalStart ?? cpu.at;
    const span = cpu.at - start;
    const alpha =
      cpu.smoothedFrom === null || cpu.smoothedFrom === undefined
        ? 1
        : 1 - Math.exp(-(cpu.at - cpu.smoothedFrom) / this.#tauMs());
    for (const [key, group] of this.#fading) {
      group.shown -= alpha * group.shown;
      if (group.shown < GONE) this.#fading.delete(key);
    }
    const follow = (record: PermitRecord, end: number) => {
      if (record.usedAt === undefined) return;
      const running = Math.max(0, Math.min(end, cpu.at) - Math.max(record.usedAt, start));
      const share = span > 0 ? running / span : record.usedAt <= cpu.at && end > cpu.at ? 1 : 0;
      // The share of each task's cost the smoothed reading shows, kept on its record.
      record.shown += alpha * (share - record.shown);
    };
    for (const record of this.ledger.records()) follow(record, Number.POSITIVE_INFINITY);
    // Every followed release came before this reading: one walk follows each and sums the faded.
    this.forgetReleases((release) => {
      follow(release.record, release.at);
      return this.#fades(release, cpu.at);
    });
  }

  /**
   * Whether `release` only fades from this reading (sampled `at`) on; if so, adds it to the sum of its
   * cost group, however little it shows: a thousand 1 ms tasks a second each show 0.2 % of their
   * cost and together a whole task's worth. A task that ended after the sample was taken still shows
   * in the next interval: it is followed one more reading.
   */
  #fades({ record, at: releasedAt }: ReleasedTask<object>, at: number): boolean {
    if (releasedAt > at) return false;
    const key = this.costGroupOf(this.gate, this.dimension, record);
    const group = this.#fading.get(key);
    if (group === undefined) this.#fading.set(key, { record, shown: record.shown });
    else group.shown += record.shown;
    return true;
  }

  #tauMs(): number {
    const tau = (this.sampler.cpu as { tauMs?: unknown } | null)?.tauMs;
    return typeof tau === 'number' && tau > 0 ? tau : 500;
  }
}
brandClass(CpuSlotSupplier, 'CpuSlotSupplier');
