import { brandClass } from '../class-brand.js';
import type { ResourceSample, ResourceSampler } from '../resources/sampler.js';
import {
  LedgerSlotSupplier,
  SUPPLIER_BASE_OPTION_KEYS,
  type SupplierBaseOptions,
} from './ledger-slot-supplier.js';
import { checkInteger, checkKnownKeys, checkOptionsObject, optionError } from './option-checks.js';
import { checkRatio } from './option-ratio.js';
import type { PermitRecord } from './permit-ledger.js';
import type { GateInput, ResourceGate } from './resource-gate.js';
import { NO_FLOORS, TEMPORAL_FLOORS } from './slot-type-limits.js';
import { type CostDimension, checkTaskCosts, declaredCost, type TaskCosts, zeroCost } from './task-cost.js';
import type { ReservationContext, SupplierSnapshot } from './types.js';

/** Options every resource-aware supplier accepts. */
export interface ResourceSupplierOptions extends SupplierBaseOptions {
  /**
   * Permits issued regardless of readings.
   * @default 1 (0 for GPU suppliers)
   */
  minSlots?: number;
  /**
   * Permits issued at most.
   * @default 1000
   */
  maxSlots?: number;
  /**
   * Ratio of the limit (cores, memory limit, device memory) that projected usage must stay under,
   * in (0, 1]: `0.8`, not `80`.
   * @default 0.8
   */
  targetUtilization?: number;
  /**
   * Once usage reached the target, how far (as a ratio of the limit) it must fall below it before
   * permits are issued again; keeps admission from flapping.
   * @default 0.05
   */
  hysteresis?: number;
  /**
   * Milliseconds between two permits issued above `minSlots`.
   * @default 50
   */
  rampThrottleMs?: number;
  /**
   * Milliseconds a new permit counts on top of the readings, until its task shows in them.
   * @default 1500 for CPU (the smoothed reading lags), 1000 for memory and GPU memory
   */
  settleMs?: number;
  /** Declared cost per task type, charged when core marks a slot used and refunded at release. */
  costs?: TaskCosts;
  /**
   * The sampler to read. When omitted the supplier creates, starts and (on {@link close}) stops its own.
   * Pass one sampler to several suppliers to read resources once.
   */
  sampler?: ResourceSampler;
}

/** Option keys of {@link ResourceSupplierOptions}. */
export const RESOURCE_SUPPLIER_OPTION_KEYS = [
  ...SUPPLIER_BASE_OPTION_KEYS,
  'minSlots',
  'maxSlots',
  'targetUtilization',
  'hysteresis',
  'rampThrottleMs',
  'settleMs',
  'costs',
  'sampler',
] as const;

/** Declared cost of the tasks running now, per dimension. */
export type ChargedCost = Record<CostDimension, number>;

/** A resource supplier's snapshot: the counts, plus its latest readings and the charged cost. */
export interface ResourceSupplierSnapshot extends SupplierSnapshot {
  /** The readings admission was last decided on (`null` before the first sample). */
  readings: {
    cpu?: { utilization: number; usableCores: number } | null;
    memory?: { usedBytes: number; limitBytes: number; ratio: number } | null;
    gpus?: Array<{
      index: number;
      uuid: string;
      utilization: number | null;
      memoryUsedBytes: number | null;
      memoryTotalBytes: number | null;
      permits: number;
    }>;
  };
  /** Declared cost of the tasks running now, per dimension. */
  charged: ChargedCost;
}

/** The limits of a resource supplier that {@link ResourceSlotSupplier.setLimits} can change while it runs. */
export interface ResourceLimits {
  /** Permits issued regardless of readings. */
  minSlots?: number;
  /** Permits issued at most. */
  maxSlots?: number;
  /** Ratio of the limit that projected usage must stay under, in (0, 1]. */
  targetUtilization?: number;
}

/** Defaults a concrete supplier gives its options. */
export interface ResourceDefaults {
  minSlots: number;
  settleMs: number;
}

/**
 * The shared machinery of resource-aware suppliers: `minSlots`/`maxSlots`, the ramp throttle,
 * per-task cost charged at mark-used, the count of permits too recent to show in readings, and
 * wake-ups on every new sample. Subclasses decide the resource part in {@link admitResources}.
 *
 * @example
 * ```ts
 * import { ResourceSlotSupplier, ResourceSampler, type ResourceSample } from 'slotwise';
 *
 * // Admits while fewer than 4 tasks run per usable core, as the sampler sees the cores.
 * class PerCoreSupplier extends ResourceSlotSupplier {
 *   constructor() {
 *     super('per-core', 'PerCoreSupplier', {}, [], { minSlots: 1, settleMs: 0 }, () => new ResourceSampler({ memory: false }));
 *   }
 *   protected admitResources(_request: unknown, sample: ResourceSample, force: boolean) {
 *     return force || this.ledger.issued < 4 * (sample.cpu?.usableCores ?? 1) ? {} : null;
 *   }
 *   protected observe() {}
 *   protected readings(sample: ResourceSample) {
 *     return { cpu: sample.cpu && { utilization: sample.cpu.utilization, usableCores: sample.cpu.usableCores } };
 *   }
 *   protected capacity() {
 *     return 4 * (this.sampler.latest().cpu?.usableCores ?? 1);
 *   }
 * }
 * new PerCoreSupplier().close();
 * ```
 */
export abstract class ResourceSlotSupplier<X extends object = object> extends LedgerSlotSupplier<X> {
  /** Where readings come from. */
  protected readonly sampler: ResourceSampler;
  /** Declared per-task costs. */
  protected readonly costs: Readonly<TaskCosts>;
  /** The hysteresis ratio. */
  protected readonly hysteresis: number;
  #target: number;
  #minSlots: number;
  #maxSlots: number;
  readonly #owner: string;
  readonly #rampThrottleMs: number;
  readonly #settleMs: number;
  readonly #ownsSampler: boolean;
  readonly #unsubscribe: () => void;
  readonly #clock: () => number;
  #lastGrantAt = Number.NEGATIVE_INFINITY;
  /** Used permits released in the last `settleMs`, oldest first. */
  readonly #recentReleases: Array<{ record: PermitRecord<X>; at: number }> = [];
  /** Index of the first release in {@link #recentReleases} that has not expired. */
  #recentHead = 0;
  #rampTimer: NodeJS.Timeout | undefined;
  #closed = false;

  protected constructor(
    kind: string,
    owner: string,
    options: ResourceSupplierOptions,
    extraKeys: readonly string[],
    defaults: ResourceDefaults,
    makeSampler: () => ResourceSampler,
  ) {
    checkOptionsObject(owner, options, true);
    const opts = options ?? {};
    checkKnownKeys(owner, opts, [...RESOURCE_SUPPLIER_OPTION_KEYS, ...extraKeys]);
    const minSlots =
      opts.minSlots === undefined ? defaults.minSlots : checkInteger(owner, 'minSlots', opts.minSlots, 0);
    const maxSlots = opts.maxSlots === undefined ? 1000 : checkInteger(owner, 'maxSlots', opts.maxSlots, 1);
    if (maxSlots < minSlots) {
      optionError(owner, 'maxSlots', `an integer >= minSlots (${minSlots})`, maxSlots);
    }
    const target = checkRatio(owner, 'targetUtilization', opts.targetUtilization, 0.8);
    const hysteresis = opts.hysteresis ?? 0.05;
    if (typeof hysteresis !== 'number' || !(hysteresis >= 0 && hysteresis < target)) {
      optionError(owner, 'hysteresis', `a ratio in [0, targetUtilization) = [0, ${target})`, hysteresis);
    }
    const rampThrottleMs = nonNegative(owner, 'rampThrottleMs', opts.rampThrottleMs, 50);
    const settleMs = nonNegative(owner, 'settleMs', opts.settleMs, defaults.settleMs);
    const costs = checkTaskCosts(owner, opts.costs);
    if (
      opts.sampler !== undefined &&
      (typeof opts.sampler !== 'object' || typeof opts.sampler.latest !== 'function')
    ) {
      optionError(owner, 'sampler', 'a ResourceSampler', opts.sampler);
    }
    // minSlots 0 says: nothing the readings do not allow. Floors then default to none as well.
    super(kind, opts, minSlots === 0 ? NO_FLOORS : TEMPORAL_FLOORS);
    this.#owner = owner;
    this.#minSlots = minSlots;
    this.#maxSlots = maxSlots;
    this.#target = target;
    this.hysteresis = hysteresis;
    this.#rampThrottleMs = rampThrottleMs;
    this.#settleMs = settleMs;
    this.costs = costs;
    this.#clock = opts.now ?? (() => performance.now());
    this.#ownsSampler = opts.sampler === undefined;
    this.sampler = opts.sampler ?? makeSampler();
    this.#unsubscribe = this.sampler.subscribe((sample) => {
      try {
        this.observe(sample);
      } catch (error) {
        this.ledger.reportError('observe', error);
      }
      this.ledger.wake();
    });
    // Start after the subclass constructor has run: the first sample calls its hooks.
    if (this.#ownsSampler) queueMicrotask(() => this.#closed || this.sampler.start());
  }

  /** The target ratio in (0, 1]. */
  protected get target(): number {
    return this.#target;
  }

  protected get minSlots(): number {
    return this.#minSlots;
  }

  protected get maxSlots(): number {
    return this.#maxSlots;
  }

  /** The limits in force now. */
  get limits(): Required<ResourceLimits> {
    return { minSlots: this.#minSlots, maxSlots: this.#maxSlots, targetUtilization: this.#target };
  }

  /**
   * Changes limits while the supplier runs (config hot reload). Permits in flight are kept: a lower
   * `maxSlots` only stops new permits until enough are released, a higher one lets waiting
   * reservations through at once. An invalid combination throws and changes nothing.
   */
  setLimits(limits: ResourceLimits): void {
    const owner = this.#owner;
    checkOptionsObject(owner, limits);
    checkKnownKeys(owner, limits, ['minSlots', 'maxSlots', 'targetUtilization']);
    const minSlots =
      limits.minSlots === undefined ? this.#minSlots : checkInteger(owner, 'minSlots', limits.minSlots, 0);
    const maxSlots =
      limits.maxSlots === undefined ? this.#maxSlots : checkInteger(owner, 'maxSlots', limits.maxSlots, 1);
    if (maxSlots < minSlots) {
      optionError(owner, 'maxSlots', `an integer >= minSlots (${minSlots})`, maxSlots);
    }
    const target = checkRatio(owner, 'targetUtilization', limits.targetUtilization, this.#target);
    if (!(this.hysteresis < target)) {
      optionError(owner, 'targetUtilization', `a ratio above hysteresis (${this.hysteresis})`, target);
    }
    this.#minSlots = minSlots;
    this.#maxSlots = maxSlots;
    this.#target = target;
    this.ledger.wake();
  }

  /** Stops listening to the sampler (and stops it if this supplier created it) and any timer. */
  close(): void {
    this.#closed = true;
    this.#unsubscribe();
    if (this.#ownsSampler) this.sampler.stop();
    if (this.#rampTimer) clearTimeout(this.#rampTimer);
    this.#rampTimer = undefined;
  }

  /**
   * The resource part of admission, called only above `minSlots` (with `force: false`) or within
   * it (`force: true`: admit, but still choose a device where there is one to choose).
   */
  protected abstract admitResources(
    request: ReservationContext,
    sample: ResourceSample,
    force: boolean,
  ): X | null;

  /** Learns from a new sample (baselines, per-task usage); called before waiters are woken. */
  protected abstract observe(sample: ResourceSample): void;

  /** The readings part of {@link snapshot}. */
  protected abstract readings(sample: ResourceSample): ResourceSupplierSnapshot['readings'];

  /** `maxSlots`: floors never take it above that. */
  override maxPermits(): number {
    return this.#maxSlots;
  }

  /** A floor permit skips the readings as `minSlots` do (a GPU is still chosen where there is one). */
  protected override admitFloor(request: ReservationContext): X | null {
    return this.#granted(this.admitResources(request, this.sampler.latest(), true));
  }

  protected admit(request: ReservationContext): X | null {
    const issued = this.ledger.issued;
    if (issued >= this.maxSlots) return null;
    const sample = this.sampler.latest();
    if (issued < this.minSlots) return this.#granted(this.admitResources(request, sample, true));
    const wait = this.#lastGrantAt + this.#rampThrottleMs - this.#clock();
    if (wait > 0) {
      this.#wakeIn(wait);
      return null;
    }
    return this.#granted(this.admitResources(request, sample, false));
  }

  /**
   * Whether `record`'s task may not show in readings yet: a permit still waiting for its task (core
   * reserves one before each poll, and an idle queue keeps it waiting for as long as the poll lasts,
   * after which it may receive a task at any moment), or one whose task started less than
   * `settleMs` ago.
   */
  protected isUnsettled(record: PermitRecord<X>, now: number = this.#clock()): boolean {
    return record.state === 'reserved' || now - (record.usedAt ?? record.issuedAt) < this.#settleMs;
  }

  /** The declared cost in `dimension` charged for `record`; `undefined` before it is used or when undeclared. */
  protected chargeOf(record: PermitRecord<X>, dimension: CostDimension): number | undefined {
    return record.state === 'used' ? declaredCost(this.costs, record.slotInfo)?.[dimension] : undefined;
  }

  /**
   * Builds the {@link GateInput} of `dimension` for the permits `records` (all live permits, or one
   * device's) against a reading.
   */
  protected gateInput(
    gate: ResourceGate,
    dimension: CostDimension,
    reading: { used: number; limit: number },
    records: Iterable<PermitRecord<X>>,
  ): GateInput {
    // A gate copies the target when it is created; follow changes made by setLimits.
    if (gate.target !== this.#target) (gate as { target: number }).target = this.#target;
    const estimate = gate.estimate(this.costs.default?.[dimension]);
    let unsettled = 0;
    let unsettledCount = 0;
    let uncharged = 0;
    let charged = 0;
    // One clock read per decision: reading it per live permit was most of the decision's time.
    const now = this.#clock();
    for (const record of records) {
      const charge = this.chargeOf(record, dimension);
      charged += charge ?? 0;
      if (this.isUnsettled(record, now)) {
        unsettledCount++;
        unsettled += charge ?? estimate ?? 0;
        if (charge === undefined) uncharged += estimate ?? 0;
      }
    }
    return {
      used: reading.used,
      limit: reading.limit,
      unsettled,
      unsettledCount,
      charged,
      uncharged,
      estimate,
    };
  }

  /**
   * How many of `records` are used, and how many of those are too recent to show in readings, plus
   * the used permits (those `released` selects) released less than `settleMs` ago: their tasks may
   * still show. Permits waiting for a task use nothing, so they count in neither.
   */
  protected runningCounts(
    records: Iterable<PermitRecord<X>>,
    released: (record: PermitRecord<X>) => boolean = () => true,
  ): { running: number; unsettled: number } {
    let running = 0;
    let unsettled = 0;
    const now = this.#clock();
    for (const record of records) {
      if (record.state !== 'used') continue;
      running++;
      if (this.isUnsettled(record, now)) unsettled++;
    }
    this.#forgetOldReleases();
    for (let i = this.#recentHead; i < this.#recentReleases.length; i++) {
      if (released(this.#recentReleases[i]!.record)) unsettled++;
    }
    return { running, unsettled };
  }

  /** Remembers when a permit that ran a task was released (see {@link runningCounts}). */
  protected override onReleased(record: PermitRecord<X>): void {
    this.#forgetOldReleases();
    if (record.usedAt !== undefined) this.#recentReleases.push({ record, at: this.#clock() });
  }

  /** Declared cost of the running tasks, per dimension. */
  protected chargedCost(): ChargedCost {
    const total = zeroCost();
    for (const record of this.ledger.records()) {
      if (record.state !== 'used') continue;
      const cost = declaredCost(this.costs, record.slotInfo);
      if (!cost) continue;
      for (const dimension of Object.keys(total) as CostDimension[]) total[dimension] += cost[dimension] ?? 0;
    }
    return total;
  }

  /** Counts and capacity, plus the latest readings and the charged cost. */
  override snapshot(): ResourceSupplierSnapshot {
    let readings: ResourceSupplierSnapshot['readings'] = {};
    try {
      readings = this.readings(this.sampler.latest());
    } catch (error) {
      this.ledger.reportError('snapshot', error);
    }
    return { ...super.snapshot(), readings, charged: this.chargedCost() };
  }

  /** Capacity estimate: what is issued plus how many more fit now, within [minSlots, maxSlots]. */
  protected clampCapacity(fitMore: number): number {
    const capacity = this.ledger.issued + Math.max(0, Math.floor(fitMore));
    return Math.min(this.maxSlots, Math.max(this.minSlots, capacity));
  }

  /** The option-owner name used in messages ("CpuSlotSupplier"). */
  protected get owner(): string {
    return this.#owner;
  }

  #granted(extras: X | null): X | null {
    if (extras !== null) this.#lastGrantAt = this.#clock();
    return extras;
  }

  #forgetOldReleases(): void {
    const now = this.#clock();
    // Releases are in time order: advance a head index past the expired ones and compact only when
    // half the array is dead, so dropping n releases costs O(n), not O(n^2) as shift() would.
    const releases = this.#recentReleases;
    while (this.#recentHead < releases.length && now - releases[this.#recentHead]!.at >= this.#settleMs) {
      this.#recentHead++;
    }
    if (this.#recentHead > 0 && this.#recentHead * 2 >= releases.length) {
      releases.splice(0, this.#recentHead);
      this.#recentHead = 0;
    }
  }

  #wakeIn(ms: number): void {
    if (this.#rampTimer !== undefined) return;
    this.#rampTimer = setTimeout(() => {
      this.#rampTimer = undefined;
      this.ledger.wake();
    }, Math.ceil(ms));
    this.#rampTimer.unref();
  }
}
brandClass(ResourceSlotSupplier, 'ResourceSlotSupplier');

function nonNegative(owner: string, option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    optionError(owner, option, 'a number of milliseconds >= 0', value);
  }
  return value;
}
