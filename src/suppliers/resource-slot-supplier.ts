import type { SlotInfo } from '@temporalio/worker';
import { brandClass } from '../class-brand.js';
import { checkKnownKeys, checkOptionsObject, MAX_TIMER_MS, optionError } from '../option-checks.js';
import type { ResourceSample, ResourceSampler, SampledResource } from '../resources/sampler.js';
import {
  LedgerSlotSupplier,
  SUPPLIER_BASE_OPTION_KEYS,
  type SupplierBaseOptions,
} from './ledger-slot-supplier.js';
import type { PermitRecord } from './permit-ledger.js';
import { GATE_EPSILON, type GateLoad, type GateTask, type ResourceGate } from './resource-gate.js';
import {
  checkResourceOption,
  isResourceKind,
  RESOURCE_LIVE_KEYS,
  type ResourceLiveKey,
  type ResourceOptionKey,
  resourceOptionConflicts,
  resourceOptionDefault,
} from './resource-supplier-options.js';
import { NO_FLOORS, TEMPORAL_FLOORS } from './slot-type-limits.js';
import {
  type CostDimension,
  checkTaskCosts,
  declaredCost,
  familyOfSlotType,
  type TaskCost,
  type TaskCosts,
  taskTypeOf,
  zeroCost,
} from './task-cost.js';
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
   * Ratio of the limit (cores, memory limit, device memory, heap limit) that projected usage must
   * stay under, in (0, 1]: `0.8`, not `80`.
   * @default 0.8
   */
  targetUtilization?: number;
  /**
   * Once a reservation was refused at the target, how far (as a ratio of the limit) projected usage
   * must fall below it before permits are issued again, unless a whole task's worth of room appears
   * (a release); keeps admission from flapping on noisy readings.
   * @default 0.05
   */
  hysteresis?: number;
  /**
   * Milliseconds between two permits issued above `minSlots`.
   * @default 50
   */
  rampThrottleMs?: number;
  /**
   * Milliseconds a started task may take to show in full in memory-like readings (memory, GPU
   * memory, heap), and a released one to leave them. Learning waits this long, and for readings to
   * stop rising, before it trusts a reading. The CPU supplier follows the smoothing of its reading
   * exactly and uses it only as a lower bound on how long a released task is followed.
   * @default 1500 for CPU, 1000 for memory and heap, 2000 for GPU memory
   */
  settleMs?: number;
  /**
   * A reading older than this many milliseconds is stale: no permit is issued above `minSlots`
   * until a fresh one arrives (one log line says so, and `snapshot().readings` shows it).
   * @default 5 sample intervals of the sampler, at least 1000
   */
  staleAfterMs?: number;
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
  'staleAfterMs',
  'costs',
  'sampler',
] as const;

const FAMILIES = ['activities', 'workflows'] as const;

/** Declared cost of the tasks running now, per dimension. */
export type ChargedCost = Record<CostDimension, number>;

/** How fresh a reading is. */
export interface ReadingFreshness {
  /** Milliseconds since the reading was taken. */
  ageMs: number;
  /** `true` when it is older than `staleAfterMs`: no permit is issued above `minSlots`. */
  stale: boolean;
  /** When it became stale (epoch milliseconds, `Date.now()` time), `null` while fresh. */
  staleSince: number | null;
  /** Why no fresh reading came: the sampler is stopped, or the error of the latest read. `null` when none is known. */
  reason: string | null;
}

/** Costs learned from readings, shaped like the `costs` option (ready to declare). */
export interface LearnedCosts {
  /** Learned cost by activity type. */
  activities: Record<string, TaskCost>;
  /** Learned cost by workflow type. */
  workflows: Record<string, TaskCost>;
}

/** A resource supplier's snapshot: the counts, plus its latest readings and the charged cost. */
export interface ResourceSupplierSnapshot extends SupplierSnapshot {
  /** The readings admission was last decided on (`null` before the first sample), with their freshness. */
  readings: {
    cpu?: ({ utilization: number; usableCores: number } & ReadingFreshness) | null;
    memory?: ({ usedBytes: number; limitBytes: number; ratio: number } & ReadingFreshness) | null;
    heap?: ({ usedBytes: number; limitBytes: number; ratio: number } & ReadingFreshness) | null;
    /** Freshness of the latest `nvidia-smi` reading (`null` before the first call returns). */
    gpu?: ReadingFreshness | null;
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
  /** Costs learned from readings for task types without a declared cost. */
  learned: LearnedCosts;
}

/**
 * The limits of a resource supplier that {@link ResourceSlotSupplier.setLimits} can change while it
 * runs: the options marked `live` in their rules (`minSlots`, `maxSlots`, `targetUtilization`).
 */
export type ResourceLimits = Partial<Record<ResourceLiveKey, number>>;

/** Defaults a supplier of its own kind gives its options (the built-in kinds take theirs from their rules). */
export interface ResourceDefaults {
  minSlots: number;
  settleMs: number;
}

/** What a concrete supplier tells {@link ResourceSlotSupplier}'s constructor. */
export interface ResourceSupplierInit {
  /** The kind of supplier, for metrics and default names ("cpu"). */
  kind: string;
  /** The class name used in option errors ("CpuSlotSupplier"). */
  owner: string;
  /** The options the user passed. */
  options: ResourceSupplierOptions | undefined;
  /** Option keys the concrete supplier accepts beyond {@link RESOURCE_SUPPLIER_OPTION_KEYS}. */
  extraKeys?: readonly string[];
  /**
   * Defaults of a supplier of a kind of its own. The built-in kinds (cpu, memory, gpu, heap) leave it
   * out: their defaults are in `RESOURCE_OPTION_RULES`.
   */
  defaults?: ResourceDefaults;
  /** Creates the sampler when `options.sampler` is not given. */
  makeSampler: () => ResourceSampler;
}

/** A task that ran on one of this supplier's permits and was released, with when. */
/** Which tasks a gate accounts for, and what its reading shows of each (see `gateTasks`). */
export interface GateView<X extends object> {
  gate: ResourceGate;
  dimension: CostDimension;
  /** The live permits it covers. */
  records: Iterable<PermitRecord<X>>;
  /**
   * The share of a task the latest reading can show, `[low, high]`; `null` for a released task it
   * cannot show any more. `releasedAt` is set for a released task.
   */
  shown: (record: PermitRecord<X>, releasedAt: number | undefined) => readonly [number, number] | null;
  /** Which recently released tasks it covers (another device's are not). @default all */
  released?: (record: PermitRecord<X>) => boolean;
  /** The stamp of the latest reading taken in (from `readingTaken()`). @default none */
  readingTaken?: number;
  /**
   * `true` when {@link records} are all the live permits of the ledger: a decision then takes the
   * declared costs of running tasks from sums kept at mark-used and release, not from a walk.
   * @default false
   */
  wholeLedger?: boolean;
}

export interface ReleasedTask<X extends object> {
  readonly record: PermitRecord<X>;
  /** When, on the supplier's clock. */
  readonly at: number;
  /** Its place among releases and readings taken in (see {@link ResourceSlotSupplier.readingTaken}). */
  readonly order: number;
}

/**
 * The shared machinery of resource-aware suppliers: `minSlots`/`maxSlots`, the ramp throttle,
 * per-task cost charged at mark-used, stale readings (fail closed above `minSlots`), the tasks a
 * {@link ResourceGate} accounts for, and wake-ups on every new sample. Subclasses decide the
 * resource part in {@link admitResources}.
 *
 * @example
 * ```ts
 * import { ResourceSlotSupplier, ResourceSampler, type ResourceSample } from 'slotwise';
 *
 * // Admits while fewer than 4 tasks run per usable core, as the sampler sees the cores.
 * class PerCoreSupplier extends ResourceSlotSupplier {
 *   constructor() {
 *     super({
 *       kind: 'per-core',
 *       owner: 'PerCoreSupplier',
 *       options: {},
 *       defaults: { minSlots: 1, settleMs: 0 },
 *       makeSampler: () => new ResourceSampler({ memory: false }),
 *     });
 *   }
 *   protected resources() {
 *     return ['cpu'] as const;
 *   }
 *   protected admitResources(_request: unknown, sample: ResourceSample, force: boolean) {
 *     return force || this.ledger.issued < 4 * (sample.cpu?.usableCores ?? 1) ? {} : null;
 *   }
 *   protected observe() {}
 *   protected readings(sample: ResourceSample) {
 *     return { cpu: sample.cpu && { utilization: sample.cpu.utilization, usableCores: sample.cpu.usableCores, ...this.freshness('cpu', sample)! } };
 *   }
 *   protected learnedCosts() {
 *     return { activities: {}, workflows: {} };
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
  /** Milliseconds a task takes to show in (or leave) memory-like readings. */
  protected readonly settleMs: number;
  /** The supplier's clock. */
  protected readonly clock: () => number;
  #target: number;
  #minSlots: number;
  #maxSlots: number;
  readonly #owner: string;
  readonly #rampThrottleMs: number;
  readonly #staleAfterMs: number | undefined;
  readonly #ownsSampler: boolean;
  readonly #unsubscribe: () => void;
  #lastGrantAt = Number.NEGATIVE_INFINITY;
  /** Used permits released recently (see {@link retentionMs}), oldest first. */
  readonly #recentReleases: Array<ReleasedTask<X>> = [];
  /** Index of the first release in {@link #recentReleases} that is still followed. */
  #recentHead = 0;
  /** Orders releases and readings taken in: a release after the latest reading has a higher stamp. */
  #order = 0;
  /** The stamp of the latest reading taken in. */
  #lastReadingOrder = 0;
  /** Resources whose readings are stale now (logged once per episode). */
  readonly #staleNow = new Set<SampledResource>();
  #rampTimer: NodeJS.Timeout | undefined;
  /** Fires when the readings would go stale, so the log line comes even when nothing is reserved. */
  #staleTimer: NodeJS.Timeout | undefined;
  #closed = false;
  /** The `seq` of the last sample taken in by {@link observe}. */
  #observedSeq = 0;
  /** Running tasks by their cost in a dimension, kept at mark-used and release (see {@link UsedCosts}). */
  readonly #usedCosts = new Map<CostDimension, UsedCosts<X>>();

  protected constructor({
    kind,
    owner,
    options,
    extraKeys = [],
    defaults,
    makeSampler,
  }: ResourceSupplierInit) {
    checkOptionsObject(owner, options, true);
    const opts = options ?? {};
    checkKnownKeys(owner, opts, [...RESOURCE_SUPPLIER_OPTION_KEYS, ...extraKeys]);
    // Each option is checked and defaulted by its rule in resource-supplier-options.ts.
    const option = (key: ResourceOptionKey): number | null => {
      const value = opts[key as keyof ResourceSupplierOptions];
      if (value !== undefined) return checkResourceOption(owner, key, value);
      const own = defaults?.[key as keyof ResourceDefaults];
      if (own !== undefined) return own;
      // A kind of its own without defaults for these takes the memory supplier's.
      return resourceOptionDefault(isResourceKind(kind) ? kind : 'memory', key);
    };
    const minSlots = option('minSlots')!;
    const maxSlots = option('maxSlots')!;
    const target = option('targetUtilization')!;
    const hysteresis = option('hysteresis')!;
    const rampThrottleMs = option('rampThrottleMs')!;
    const settleMs = option('settleMs')!;
    const staleAfterMs = option('staleAfterMs') ?? undefined;
    const [conflict] = resourceOptionConflicts({ minSlots, maxSlots, targetUtilization: target, hysteresis });
    if (conflict) optionError(owner, conflict.key, conflict.what, conflict.value);
    const costs = checkTaskCosts(owner, opts.costs);
    if (
      opts.sampler !== undefined &&
      (typeof opts.sampler !== 'object' ||
        opts.sampler === null ||
        typeof opts.sampler.latest !== 'function' ||
        typeof opts.sampler.subscribe !== 'function')
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
    this.settleMs = settleMs;
    this.#staleAfterMs = staleAfterMs;
    this.costs = costs;
    this.clock = opts.now ?? (() => performance.now());
    this.#ownsSampler = opts.sampler === undefined;
    this.sampler = opts.sampler ?? makeSampler();
    this.#unsubscribe = this.sampler.subscribe((sample) => this.#onSample(sample));
    // Start after the subclass constructor has run: the first sample calls its hooks. A shared
    // sampler that already has readings is read now, before any permit exists: those readings
    // cannot show our tasks, whichever started first.
    queueMicrotask(() => {
      if (this.#closed) return;
      if (this.#ownsSampler) this.sampler.start();
      else this.current();
    });
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
    checkKnownKeys(owner, limits, RESOURCE_LIVE_KEYS);
    const next = { ...this.limits };
    for (const key of RESOURCE_LIVE_KEYS) {
      const value = limits[key];
      if (value !== undefined) next[key] = checkResourceOption(owner, key, value);
    }
    for (const conflict of resourceOptionConflicts({ ...next, hysteresis: this.hysteresis })) {
      // hysteresis is fixed once constructed: the target given is what is wrong.
      if (conflict.key === 'hysteresis') {
        optionError(
          owner,
          'targetUtilization',
          `a ratio above hysteresis (${this.hysteresis})`,
          next.targetUtilization,
        );
      }
      optionError(owner, conflict.key, conflict.what, conflict.value);
    }
    this.#minSlots = next.minSlots;
    this.#maxSlots = next.maxSlots;
    this.#target = next.targetUtilization;
    this.ledger.wake();
  }

  /** Stops listening to the sampler (and stops it if this supplier created it) and any timer. */
  close(): void {
    this.#closed = true;
    this.#unsubscribe();
    if (this.#ownsSampler) this.sampler.stop();
    if (this.#rampTimer) clearTimeout(this.#rampTimer);
    this.#rampTimer = undefined;
    if (this.#staleTimer) clearTimeout(this.#staleTimer);
    this.#staleTimer = undefined;
  }

  /** The readings admission depends on: when any of them is stale, nothing is issued above `minSlots`. */
  protected abstract resources(): readonly SampledResource[];

  /**
   * The resource part of admission, called only above `minSlots` with fresh readings (with
   * `force: false`) or within `minSlots` (`force: true`: admit, but still choose a device where
   * there is one to choose).
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
    return this.#granted(this.admitResources(request, this.current(), true));
  }

  /** The learned part of {@link snapshot}. */
  protected abstract learnedCosts(): LearnedCosts;

  /**
   * The sampler's latest sample, taken in by {@link observe} first if it is new to this supplier
   * (so a supplier created on a sampler that already has readings learns from them before it issues
   * its first permit, whatever runs first).
   */
  protected current(): ResourceSample {
    const sample = this.sampler.latest();
    this.#take(sample);
    return sample;
  }

  protected admit(request: ReservationContext): X | null {
    const issued = this.ledger.issued;
    if (issued >= this.maxSlots) return null;
    const sample = this.current();
    if (issued < this.minSlots) return this.#granted(this.admitResources(request, sample, true));
    if (!this.#fresh(sample)) return null;
    const wait = this.#lastGrantAt + this.#rampThrottleMs - this.clock();
    if (wait > 0) {
      this.#wakeIn(wait);
      return null;
    }
    return this.#granted(this.admitResources(request, sample, false));
  }

  /** How long this supplier waits for a reading before it is stale. */
  protected staleAfterMs(resource: SampledResource): number {
    if (this.#staleAfterMs !== undefined) return this.#staleAfterMs;
    const sampler = this.sampler as Partial<Pick<ResourceSampler, 'intervalMs' | 'gpuIntervalMs'>>;
    const interval = resource === 'gpu' ? (sampler.gpuIntervalMs ?? 1000) : (sampler.intervalMs ?? 250);
    return Math.max(1000, 5 * interval);
  }

  /** How fresh the reading of `resource` in `sample` is; `null` when there is no reading. */
  protected freshness(resource: SampledResource, sample: ResourceSample): ReadingFreshness | null {
    const reading = sample[resource] as { at: number; error?: string | null } | null | undefined;
    if (reading === null || reading === undefined) return null;
    const ageMs = Math.max(0, this.clock() - reading.at);
    const bound = this.staleAfterMs(resource);
    const stale = ageMs > bound;
    const failure =
      (typeof this.sampler.failure === 'function' ? this.sampler.failure(resource) : null) ??
      reading.error ??
      null;
    const running = (this.sampler as Partial<Pick<ResourceSampler, 'running'>>).running;
    const reason = failure ?? (running === false ? 'the sampler is stopped' : null);
    return {
      ageMs,
      stale,
      staleSince: stale ? Date.now() - (ageMs - bound) : null,
      reason: stale || failure !== null ? reason : null,
    };
  }

  /**
   * The cost in `dimension` a gate accounts `record` at, and whether it is declared: the declared
   * cost of its task type, else what was learned for the type, else the estimate of a new task.
   */
  protected taskCost(
    gate: ResourceGate,
    dimension: CostDimension,
    record: PermitRecord<X>,
  ): Pick<GateTask, 'cost' | 'declared' | 'typeKey'> {
    if (record.state === 'used' || record.slotInfo !== undefined) {
      const declared = declaredCost(this.costs, record.slotInfo)?.[dimension];
      if (declared !== undefined) return { cost: declared, declared: true, typeKey: null };
      const typeKey = typeKeyOf(record.slotInfo);
      if (typeKey !== null) {
        return {
          cost: gate.learnedCost(typeKey) ?? this.nextCost(gate, dimension, record.permit.slotType),
          declared: false,
          typeKey,
        };
      }
    }
    const next = this.nextCost(gate, dimension, record.permit.slotType);
    return { cost: next, declared: this.costs.default?.[dimension] !== undefined, typeKey: null };
  }

  /**
   * The expected cost of a task not known yet (a permit waiting for its task, or the next one): the
   * declared default, else the largest declared or learned cost of the tasks of that slot type, else
   * `null` (unknown: admission probes one permit at a time). `slotType` `null`: of any slot type.
   */
  protected nextCost(gate: ResourceGate, dimension: CostDimension, slotType: string | null): number | null {
    const fallback = this.costs.default?.[dimension];
    if (fallback !== undefined) return fallback;
    const families = slotType === null ? FAMILIES : [familyOfSlotType(slotType)];
    let largest: number | null = null;
    for (const family of families) {
      const learned = gate.largestLearned(`${family}/`);
      if (learned !== null && (largest === null || learned > largest)) largest = learned;
      for (const cost of Object.values(this.costs[family] ?? {})) {
        const value = cost[dimension];
        if (value !== undefined && (largest === null || value > largest)) largest = value;
      }
    }
    return largest;
  }

  /**
   * The tasks a gate accounts for (see {@link GateView}): the live permits and the recently
   * released tasks the view selects, with the share of each the latest reading can show, and
   * whether each was released after the latest reading was taken in. Learning needs them one by one.
   */
  protected gateTasks(view: GateView<X>): GateTask[] {
    const { gate, dimension, shown, released = () => true, readingTaken = Number.NEGATIVE_INFINITY } = view;
    const tasks: GateTask[] = [];
    for (const record of view.records) {
      const visible = shown(record, undefined) ?? ([0, 0] as const);
      // Fields set one by one: an object spread here cost ~30x more per task in V8.
      const { cost, declared, typeKey } = this.taskCost(gate, dimension, record);
      tasks.push({ cost, declared, typeKey, live: true, shown: visible });
    }
    for (const { record, at, order } of this.recentReleases()) {
      if (!released(record)) continue;
      const afterReading = order > readingTaken;
      const visible = shown(record, at) ?? (afterReading ? ([0, 1] as const) : null);
      if (visible === null || visible[1] <= 0) continue;
      const { cost, declared, typeKey } = this.taskCost(gate, dimension, record);
      tasks.push({
        cost,
        declared,
        typeKey,
        live: false,
        shown: visible,
        releasedAfterReading: afterReading,
      });
    }
    return tasks;
  }

  /**
   * What a decision needs of the same tasks as {@link gateTasks}, summed in one pass without an
   * object per permit (a decision at 1000 permits built 1000 of them and spent milliseconds there).
   * `shown` is asked only for live permits of unknown cost and for tasks released after the latest
   * reading, the only ones a decision looks at.
   */
  protected gateLoad(view: GateView<X>): GateLoad {
    const { gate, dimension, shown, released = () => true, readingTaken = Number.NEGATIVE_INFINITY } = view;
    const load: GateLoad = { live: 0, held: 0, unknown: 0, unknownUnshown: 0 };
    const next = new NextCosts((slotType) => this.nextCost(gate, dimension, slotType));
    const count = (record: PermitRecord<X>) => {
      const cost = this.#costOf(gate, dimension, record, next);
      if (cost !== null) {
        load.live += cost;
        return;
      }
      load.unknown++;
      if ((shown(record, undefined)?.[0] ?? 0) < 0.5) load.unknownUnshown++;
    };
    if (view.wholeLedger !== true) {
      for (const record of view.records) count(record);
    } else {
      // Running tasks of declared cost are summed at mark-used and release; the rest one by one.
      const used = this.#usedCostsOf(dimension);
      load.live += used.declaredSum();
      for (const record of used.undeclared) count(record);
      const reserved = this.ledger.issued - this.ledger.used;
      const fallback = this.costs.default?.[dimension];
      if (reserved > 0 && fallback !== undefined) load.live += reserved * fallback;
      else if (reserved > 0) for (const record of view.records) if (record.state !== 'used') count(record);
    }
    // Releases are in order: the ones after the latest reading are at the end.
    this.#forgetOldReleases();
    const releases = this.#recentReleases;
    for (let i = releases.length - 1; i >= this.#recentHead; i--) {
      const { record, at, order } = releases[i]!;
      if (order <= readingTaken) break;
      if (!released(record)) continue;
      const visible = shown(record, at);
      const low = visible === null ? 0 : visible[0];
      const high = visible === null ? 1 : visible[1];
      if (high <= 0 || high - low <= GATE_EPSILON) continue;
      load.held += (this.#costOf(gate, dimension, record, next) ?? 0) * high;
    }
    return load;
  }

  /**
   * The cost a gate accounts `record` at (what {@link taskCost} says, with the gate's learned cost
   * for its type), without building an object: declared, else learned for its type, else `next`.
   */
  #costOf(
    gate: ResourceGate,
    dimension: CostDimension,
    record: PermitRecord<X>,
    next: NextCosts,
  ): number | null {
    const slotInfo = record.slotInfo;
    if (record.state === 'used' || slotInfo !== undefined) {
      const declared = declaredCost(this.costs, slotInfo)?.[dimension];
      if (declared !== undefined) return declared;
      const typeKey = typeKeyOf(slotInfo);
      if (typeKey !== null) return gate.learnedCost(typeKey) ?? next.of(record.permit.slotType);
    }
    return next.of(record.permit.slotType);
  }

  /**
   * The share of a task a memory-like reading can show: none while its permit waits for a task,
   * `[0, 1]` (anything) while it starts or after its release for `settleMs`, in full after that, and
   * nothing (`null`) once released for longer. `now`: the clock, read once per decision by the
   * caller (reading it per live permit was most of a decision's time at 1000 permits).
   */
  protected settleShown(
    record: PermitRecord<X>,
    releasedAt: number | undefined,
    now: number = this.clock(),
  ): readonly [number, number] | null {
    if (releasedAt !== undefined) return now - releasedAt < this.settleMs ? [0, 1] : null;
    if (record.state !== 'used' || record.usedAt === undefined) return [0, 0];
    return now - record.usedAt >= this.settleMs ? [1, 1] : [0, 1];
  }

  /** How long a released task is followed; memory-like readings: `settleMs`. */
  protected retentionMs(): number {
    return this.settleMs;
  }

  /** Tasks released within {@link retentionMs}, oldest first. */
  protected recentReleases(): ReleasedTask<X>[] {
    this.#forgetOldReleases();
    return this.#recentReleases.slice(this.#recentHead);
  }

  /** Counts a running task in the sums a decision reads (see {@link UsedCosts}). */
  protected override onUsed(record: PermitRecord<X>): void {
    for (const [dimension, used] of this.#usedCosts)
      used.add(record, declaredCost(this.costs, record.slotInfo)?.[dimension]);
  }

  /**
   * The running tasks by their cost in `dimension`, kept from the first decision that asks on. When
   * they do not add up to the ledger's count of running tasks (a mark-used that did not pass through
   * {@link onUsed}) they are counted again from the ledger.
   */
  #usedCostsOf(dimension: CostDimension): UsedCosts<X> {
    let used = this.#usedCosts.get(dimension);
    if (used === undefined || used.size !== this.ledger.used) {
      used = new UsedCosts<X>();
      for (const record of this.ledger.records()) {
        if (record.state === 'used') used.add(record, declaredCost(this.costs, record.slotInfo)?.[dimension]);
      }
      this.#usedCosts.set(dimension, used);
    }
    return used;
  }

  /** Remembers when a permit that ran a task was released (see {@link recentReleases}). */
  protected override onReleased(record: PermitRecord<X>): void {
    for (const used of this.#usedCosts.values()) used.delete(record);
    this.#forgetOldReleases();
    if (record.usedAt !== undefined) {
      this.#recentReleases.push({ record, at: this.clock(), order: ++this.#order });
    }
  }

  /**
   * Stamps a reading taken in now: releases stamped later happened after it (no reading can show
   * their memory freed yet). Returns the stamp, for {@link gateTasks}.
   */
  protected readingTaken(): number {
    this.#lastReadingOrder = ++this.#order;
    return this.#lastReadingOrder;
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

  /** Counts and capacity, plus the latest readings, the charged cost and the learned costs. */
  override snapshot(): ResourceSupplierSnapshot {
    let readings: ResourceSupplierSnapshot['readings'] = {};
    let learned: LearnedCosts = { activities: {}, workflows: {} };
    try {
      readings = this.readings(this.current());
      learned = this.learnedCosts();
    } catch (error) {
      this.ledger.reportError('snapshot', error);
    }
    return { ...super.snapshot(), readings, charged: this.chargedCost(), learned };
  }

  /** Capacity estimate: what is issued plus how many more fit now, within [minSlots, maxSlots]. */
  protected clampCapacity(fitMore: number): number {
    const capacity = this.ledger.issued + Math.max(0, Math.floor(fitMore));
    return Math.min(this.maxSlots, Math.max(this.minSlots, capacity));
  }

  /** Follows `setLimits`: a gate copies the target it is created with. */
  protected syncTarget(gate: ResourceGate): ResourceGate {
    if (gate.target !== this.#target) {
      gate.target = this.#target;
      gate.reopen();
    }
    return gate;
  }

  /** The option-owner name used in messages ("CpuSlotSupplier"). */
  protected get owner(): string {
    return this.#owner;
  }

  #onSample(sample: ResourceSample): void {
    this.#take(sample);
    this.#watchStaleness();
    this.ledger.wake();
  }

  /**
   * Keeps one timer for the moment the readings would go stale: then it checks (logging the stale
   * line once) and wakes waiters, so a stopped sampler is reported even when no reservation comes.
   */
  #watchStaleness(): void {
    if (this.#staleTimer !== undefined || this.#closed) return;
    const sample = this.sampler.latest();
    let due = Number.POSITIVE_INFINITY;
    for (const resource of this.resources()) {
      const state = this.freshness(resource, sample);
      if (state === null || state.stale) continue;
      due = Math.min(due, this.staleAfterMs(resource) - state.ageMs);
    }
    if (!Number.isFinite(due)) return;
    // At least 10 ms: a clock injected by the caller that stands still must not spin this timer; at
    // most what a Node timer can wait (a longer delay would fire at once, over and over).
    const delayMs = Math.min(MAX_TIMER_MS, Math.max(10, Math.ceil(due) + 1));
    this.#staleTimer = setTimeout(() => {
      this.#staleTimer = undefined;
      if (this.#closed) return;
      if (this.#fresh(this.sampler.latest())) this.#watchStaleness();
      this.ledger.wake();
    }, delayMs);
    this.#staleTimer.unref?.();
  }

  #take(sample: ResourceSample): void {
    if (sample.seq === this.#observedSeq) return;
    this.#observedSeq = sample.seq;
    try {
      this.observe(sample);
    } catch (error) {
      this.ledger.reportError('observe', error);
    }
  }

  /** Whether every reading admission needs is there and fresh; logs each change once. */
  #fresh(sample: ResourceSample): boolean {
    let fresh = true;
    for (const resource of this.resources()) {
      const state = this.freshness(resource, sample);
      if (state === null) {
        fresh = false; // no reading yet: nothing to log, the first sample wakes the waiters
        continue;
      }
      if (state.stale) {
        fresh = false;
        if (!this.#staleNow.has(resource)) {
          this.#staleNow.add(resource);
          this.#log(
            `slotwise supplier '${this.name}': the ${resource} reading is stale (taken ${(state.ageMs / 1000).toFixed(1)} s ago, bound ${(this.staleAfterMs(resource) / 1000).toFixed(1)} s${state.reason ? `: ${state.reason}` : ''}); issuing no permit above minSlots (${this.minSlots}) until a fresh reading arrives`,
          );
        }
      } else if (this.#staleNow.delete(resource)) {
        this.#log(`slotwise supplier '${this.name}': the ${resource} reading is fresh again`);
      }
    }
    return fresh;
  }

  #log(message: string): void {
    try {
      this.ledger.logger.warn(message);
    } catch {
      // A broken logger must not break admission.
    }
  }

  #granted(extras: X | null): X | null {
    if (extras !== null) this.#lastGrantAt = this.clock();
    return extras;
  }

  #forgetOldReleases(): void {
    const now = this.clock();
    const retention = this.retentionMs();
    // Releases are in time order: advance a head index past the expired ones and compact only when
    // half the array is dead, so dropping n releases costs O(n), not O(n^2) as shift() would.
    const releases = this.#recentReleases;
    // A release no reading has followed yet is kept: it may still hold its memory. But not past the
    // stale bound: a release that old with no reading since means the latest reading is older
    // still, so it is stale and nothing above minSlots is admitted until a new one arrives, which
    // the release precedes. (Kept whatever its age, the list grew by every release for as long as
    // the sampler was stopped, and every decision walked it.)
    let staleBound = 0;
    for (const resource of this.resources()) staleBound = Math.max(staleBound, this.staleAfterMs(resource));
    while (this.#recentHead < releases.length) {
      const { at, order } = releases[this.#recentHead]!;
      const age = now - at;
      if (age < retention || (order > this.#lastReadingOrder && age <= staleBound)) break;
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

/**
 * Readings of one resource over the last `windowMs`, to tell whether they still move (a task still
 * allocating) before learning from them.
 *
 * Internal: not exported from the package.
 *
 * @example
 * ```ts
 * import { RiseWindow } from 'slotwise/internal/suppliers/resource-slot-supplier.js';
 * const window = new RiseWindow();
 * window.push(0, 100);
 * window.push(500, 150);
 * window.push(1000, 160);
 * window.rise(1000, 1000); // => 60 (160 - the lowest of the last second, 100)
 * window.range(1000, 1000); // => 60 (the highest of the last second - the lowest)
 * window.rise(1000, 2000); // => null (the readings do not cover 2 s yet)
 * ```
 */
export class RiseWindow {
  readonly #points: Array<{ at: number; used: number }> = [];

  /** Adds a reading taken at `at`. */
  push(at: number, used: number): void {
    const last = this.#points.at(-1);
    if (last !== undefined && last.at === at) return;
    this.#points.push({ at, used });
  }

  /**
   * How much the reading at `at` rose above the lowest one of the `windowMs` before it; `null` when
   * the readings do not cover that whole window yet.
   */
  rise(at: number, windowMs: number): number | null {
    const points = this.#points;
    while (points.length > 1 && points[1]!.at <= at - windowMs) points.shift();
    const first = points[0];
    const last = points.at(-1);
    if (first === undefined || last === undefined || first.at > at - windowMs) return null;
    let low = Number.POSITIVE_INFINITY;
    for (const point of points) low = Math.min(low, point.used);
    return last.used - low;
  }

  /**
   * How far the readings of the `windowMs` before `at` spread (highest - lowest): a reading that fell
   * is no flatter than one that rose. `null` when the readings do not cover that whole window yet.
   */
  range(at: number, windowMs: number): number | null {
    if (this.rise(at, windowMs) === null) return null; // also drops readings older than the window
    let low = Number.POSITIVE_INFINITY;
    let high = Number.NEGATIVE_INFINITY;
    for (const point of this.#points) {
      low = Math.min(low, point.used);
      high = Math.max(high, point.used);
    }
    return high - low;
  }
}
/** Tasks of a type share one learned cost under this key (`activities/resize`); cached per task. */
const typeKeys = new WeakMap<SlotInfo, string | null>();

function typeKeyOf(slotInfo: SlotInfo | undefined): string | null {
  if (slotInfo === undefined) return null;
  let key = typeKeys.get(slotInfo);
  if (key === undefined) {
    const type = taskTypeOf(slotInfo);
    key = type === null ? null : `${type.family}/${type.type}`;
    typeKeys.set(slotInfo, key);
  }
  return key;
}

/** The expected cost of a task not known yet, per slot family, worked out once per decision. */
class NextCosts {
  #activities: number | null | undefined;
  #workflows: number | null | undefined;
  constructor(readonly nextCost: (slotType: string) => number | null) {}

  of(slotType: string): number | null {
    if (familyOfSlotType(slotType) === 'workflows') {
      if (this.#workflows === undefined) this.#workflows = this.nextCost(slotType);
      return this.#workflows;
    }
    if (this.#activities === undefined) this.#activities = this.nextCost(slotType);
    return this.#activities;
  }
}

/**
 * The running tasks of a supplier by their cost in one dimension: tasks of a declared cost as a
 * count per cost (so the sum is exact whatever the order of mark-used and release, with no drift
 * from adding and subtracting over a Worker's life), the others one by one, for a decision to walk.
 */
class UsedCosts<X extends object> {
  /** Declared cost of each counted task. */
  readonly #declared = new Map<PermitRecord<X>, number>();
  /** How many counted tasks have each declared cost. */
  readonly #perCost = new Map<number, number>();
  /** Running tasks without a declared cost in this dimension. */
  readonly undeclared = new Set<PermitRecord<X>>();

  /** Tasks counted. */
  get size(): number {
    return this.#declared.size + this.undeclared.size;
  }

  add(record: PermitRecord<X>, declared: number | undefined): void {
    if (this.#declared.has(record) || this.undeclared.has(record)) return;
    if (declared === undefined) {
      this.undeclared.add(record);
      return;
    }
    this.#declared.set(record, declared);
    this.#perCost.set(declared, (this.#perCost.get(declared) ?? 0) + 1);
  }

  delete(record: PermitRecord<X>): void {
    const declared = this.#declared.get(record);
    if (declared === undefined) {
      this.undeclared.delete(record);
      return;
    }
    this.#declared.delete(record);
    const left = this.#perCost.get(declared)! - 1;
    if (left === 0) this.#perCost.delete(declared);
    else this.#perCost.set(declared, left);
  }

  /** Σ declared cost of the counted tasks. */
  declaredSum(): number {
    let sum = 0;
    for (const [cost, count] of this.#perCost) sum += cost * count;
    return sum;
  }
}
