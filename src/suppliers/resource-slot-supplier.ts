import { brandClass } from '../class-brand.js';
import { SlotwiseOptionsError } from '../errors.js';
import { checkKnownKeys, checkOptionsObject, MAX_TIMER_MS, optionError } from '../option-checks.js';
import type { ResourceSample, ResourceSampler, SampledResource } from '../resources/sampler.js';
import { GateSums, typeKeyOf } from './gate-sums.js';
import {
  LedgerSlotSupplier,
  SUPPLIER_BASE_OPTION_KEYS,
  type SupplierBaseOptions,
} from './ledger-slot-supplier.js';
import { type PermitRecord, reclaimAbortedGrants } from './permit-ledger.js';
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
  type TaskFamily,
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

/** The prefix of the learned-cost keys of each family's task types. */
const FAMILY_PREFIX: Readonly<Record<TaskFamily, string>> = {
  activities: 'activities/',
  workflows: 'workflows/',
};

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
  /**
   * Option keys that configure the sampler `makeSampler` creates (accepted like `extraKeys`), and
   * where to set them on a sampler passed in instead: given with `options.sampler`, each is an error
   * that says so.
   */
  ownSampler?: { keys: readonly string[]; instead: string };
}

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
   * `true` when {@link records} are all the live permits of the ledger: a decision then reads sums
   * the supplier keeps on issue, mark-used and release (see {@link sums}), not a walk.
   * @default false
   */
  wholeLedger?: boolean;
  /**
   * Running sums of exactly the permits in {@link records}, kept by the caller on issue, mark-used and
   * release (a GPU's permits): a decision reads them instead of walking {@link records}, and sums what
   * released tasks hold from one decision to the next. That needs `shown` of a released task to stay
   * the same until the next reading is taken in (true of every built-in supplier).
   * @default none (a walk)
   */
  sums?: GateSums<X>;
}

/** A task that ran on one of this supplier's permits and was released, with when. */
export interface ReleasedTask<X extends object> {
  readonly record: PermitRecord<X>;
  /** When, on the supplier's clock. */
  readonly at: number;
  /** Its place among releases and readings taken in (see {@link ResourceSlotSupplier.readingTaken}). */
  readonly order: number;
}

/**
 * Released tasks priced alike (one declared cost, or one task type, or one family) that a reading
 * may still show anything of: one of them stands for all (see `summedReleases()`).
 */
interface ReleaseGroup<X extends object> {
  readonly key: number | string;
  readonly record: PermitRecord<X>;
  count: number;
}

/** A followed release; `group` once it is counted in a {@link ReleaseGroup}. */
interface FollowedRelease<X extends object> extends ReleasedTask<X> {
  group?: ReleaseGroup<X>;
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
  readonly #recentReleases: Array<FollowedRelease<X>> = [];
  /** Index of the first release in {@link #recentReleases} that is still followed. */
  #recentHead = 0;
  /** Followed releases from before the latest reading, counted per cost group (see {@link summedReleases}). */
  readonly #releaseGroups = new Map<number | string, ReleaseGroup<X>>();
  /** The stamp through which releases were counted in {@link #releaseGroups}. */
  #groupedThrough = 0;
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
  /** Sums of the whole ledger's permits (see {@link GateView.wholeLedger}), from the first decision that asks on. */
  #ledgerSums: GateSums<X> | undefined;
  /** Releases followed after the latest reading that were forgotten (see {@link #forgetOldReleases}). */
  #forgottenAfterReading = 0;
  /** The expected cost of a new task, worked out once per decision (one object, reset per decision). */
  readonly #next = new NextCosts((gate, dimension, slotType) => this.nextCost(gate, dimension, slotType));
  /** The largest declared cost per task family and dimension (see {@link nextCost}). */
  readonly #largestDeclared: Partial<Record<TaskFamily, Partial<Record<CostDimension, number | null>>>> = {};

  protected constructor({
    kind,
    owner,
    options,
    extraKeys = [],
    defaults,
    makeSampler,
    ownSampler,
  }: ResourceSupplierInit) {
    checkOptionsObject(owner, options, true);
    const opts = options ?? {};
    checkKnownKeys(owner, opts, [
      ...RESOURCE_SUPPLIER_OPTION_KEYS,
      ...extraKeys,
      ...(ownSampler?.keys ?? []),
    ]);
    for (const key of opts.sampler === undefined ? [] : (ownSampler?.keys ?? [])) {
      if ((opts as Record<string, unknown>)[key] !== undefined) {
        throw new SlotwiseOptionsError(
          `${owner}: \`${key}\` applies only when the supplier creates its own sampler; ${ownSampler!.instead}`,
        );
      }
    }
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
    const now = this.clock(); // once per decision
    if (!this.#fresh(sample, now)) return null;
    const wait = this.#lastGrantAt + this.#rampThrottleMs - now;
    if (wait > 0) {
      this.#wakeIn(wait);
      return null;
    }
    return this.#granted(this.admitResources(request, sample, false), now);
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
    return this.#setCost({ cost: null, declared: false, typeKey: null }, gate, dimension, record);
  }

  /** Sets `task`'s cost, whether it was declared, and its learned type (the rule of {@link taskCost}). */
  #setCost<T extends Pick<GateTask, 'cost' | 'declared' | 'typeKey'>>(
    task: T,
    gate: ResourceGate,
    dimension: CostDimension,
    record: PermitRecord<X>,
  ): T {
    if (record.state === 'used' || record.slotInfo !== undefined) {
      const declared = declaredCost(this.costs, record.slotInfo)?.[dimension];
      if (declared !== undefined) {
        task.cost = declared;
        task.declared = true;
        return task;
      }
      const typeKey = typeKeyOf(record.slotInfo);
      if (typeKey !== null) {
        task.cost = gate.learnedCost(typeKey) ?? this.nextCost(gate, dimension, record.permit.slotType);
        task.typeKey = typeKey;
        return task;
      }
    }
    task.cost = this.nextCost(gate, dimension, record.permit.slotType);
    task.declared = this.costs.default?.[dimension] !== undefined;
    return task;
  }

  /**
   * The expected cost of a task not known yet (a permit waiting for its task, or the next one): the
   * declared default, else the largest declared or learned cost of the tasks of that slot type, else
   * `null` (unknown: admission probes one permit at a time). `slotType` `null`: of any slot type.
   */
  protected nextCost(gate: ResourceGate, dimension: CostDimension, slotType: string | null): number | null {
    const fallback = this.costs.default?.[dimension];
    if (fallback !== undefined) return fallback;
    if (slotType !== null) return this.#largestOf(gate, dimension, familyOfSlotType(slotType));
    const activities = this.#largestOf(gate, dimension, 'activities');
    const workflows = this.#largestOf(gate, dimension, 'workflows');
    return activities === null
      ? workflows
      : workflows === null
        ? activities
        : Math.max(activities, workflows);
  }

  /** The largest learned or declared cost in `dimension` of the tasks of `family`, or `null`. */
  #largestOf(gate: ResourceGate, dimension: CostDimension, family: TaskFamily): number | null {
    const learned = gate.largestLearned(FAMILY_PREFIX[family]);
    // Declared costs never change: the largest per family and dimension is found once.
    let perDimension = this.#largestDeclared[family];
    if (perDimension === undefined) {
      perDimension = {};
      this.#largestDeclared[family] = perDimension;
    }
    let declared = perDimension[dimension];
    if (declared === undefined) {
      declared = null;
      for (const cost of Object.values(this.costs[family] ?? {})) {
        const value = cost[dimension];
        if (value !== undefined && (declared === null || value > declared)) declared = value;
      }
      perDimension[dimension] = declared;
    }
    return learned === null ? declared : declared === null ? learned : Math.max(learned, declared);
  }

  /**
   * The tasks a gate accounts for (see {@link GateView}): the live permits and the recently
   * released tasks the view selects, with the share of each the latest reading can show, and
   * whether each was released after the latest reading was taken in. Learning needs them one by one.
   */
  protected gateTasks(view: GateView<X>): GateTask[] {
    const { gate, dimension, shown } = view;
    const released = releasesCovered(view);
    const readingTaken = latestReadingOf(view);
    const tasks: GateTask[] = [];
    for (const record of view.records) {
      const visible = shown(record, undefined) ?? SHOWS_NONE;
      tasks.push(this.#gateTask(gate, dimension, record, true, visible, false));
    }
    this.#forgetOldReleases();
    const releases = this.#recentReleases;
    let first = this.#recentHead;
    if (view.released === undefined && this.summedReleases()) {
      // One entry per cost group for the releases before the reading, then those after it one by one.
      first = this.#groupReleases(readingTaken, gate, dimension);
      for (const group of this.#releaseGroups.values()) {
        tasks.push(this.#gateTask(gate, dimension, group.record, false, [0, group.count], false));
      }
    }
    for (let i = first; i < releases.length; i++) {
      const { record, at, order } = releases[i]!;
      if (!released(record)) continue;
      const afterReading = order > readingTaken;
      const visible = shown(record, at) ?? (afterReading ? SHOWS_ANY : null);
      if (visible === null || visible[1] <= 0) continue;
      tasks.push(this.#gateTask(gate, dimension, record, false, visible, afterReading));
    }
    return tasks;
  }

  /**
   * Whether a reading may show anything, `[0, 1]`, of every followed task released before it, so that
   * the gate can take them in as one entry per cost group (`[0, n]`: it only sums `cost x share`)
   * counted on release and forget, not walked at every reading (~1000 at 1000 tasks/s and a 1 s
   * settle time). Only where `shown` says exactly that for as long as {@link retentionMs} keeps them.
   */
  protected summedReleases(): boolean {
    return false;
  }

  /**
   * The key of the tasks a gate prices alike with `record`: its declared cost, else its task type
   * (whose key names its family), else its family. No string is built per task.
   */
  protected costGroupOf(
    gate: ResourceGate,
    dimension: CostDimension,
    record: PermitRecord<X>,
  ): number | string {
    const { declared, cost, typeKey } = this.taskCost(gate, dimension, record);
    return declared ? (cost as number) : (typeKey ?? familyOfSlotType(record.permit.slotType));
  }

  /**
   * Counts the releases stamped after the last count and before the reading `readingTaken` in their
   * cost groups. Returns the index of the first release after that reading.
   */
  #groupReleases(readingTaken: number, gate: ResourceGate, dimension: CostDimension): number {
    const releases = this.#recentReleases;
    let first = releases.length;
    for (let i = releases.length - 1; i >= this.#recentHead; i--) {
      const release = releases[i]!;
      if (release.order > readingTaken) {
        first = i;
        continue;
      }
      if (release.order <= this.#groupedThrough) break;
      const key = this.costGroupOf(gate, dimension, release.record);
      let group = this.#releaseGroups.get(key);
      if (group === undefined) {
        group = { key, record: release.record, count: 0 };
        this.#releaseGroups.set(key, group);
      }
      group.count++;
      release.group = group;
    }
    if (readingTaken > this.#groupedThrough) this.#groupedThrough = readingTaken;
    return first;
  }

  /** Takes a forgotten release out of its group. */
  #ungroup(release: FollowedRelease<X>): void {
    const group = release.group;
    if (group === undefined) return;
    release.group = undefined;
    // A key gets a new group only after its old one emptied and was deleted: this is the one mapped.
    if (--group.count === 0) this.#releaseGroups.delete(group.key);
  }

  /**
   * One {@link GateTask}, its cost set in place by the rule of {@link taskCost}, built as one object
   * of one shape: each reading builds one per followed task (~1000 at 1000 tasks/s), and a second
   * object for the cost first doubled what it allocated (issue 16). Fields set one by one: an object
   * spread here cost ~30x more per task in V8.
   */
  #gateTask(
    gate: ResourceGate,
    dimension: CostDimension,
    record: PermitRecord<X>,
    live: boolean,
    shown: readonly [number, number],
    releasedAfterReading: boolean,
  ): GateTask {
    const task: GateTask = { cost: null, declared: false, typeKey: null, live, shown, releasedAfterReading };
    return this.#setCost(task, gate, dimension, record);
  }

  /**
   * What a decision needs of the same tasks as {@link gateTasks}, summed without an object per permit
   * (a decision at 1000 permits built 1000 of them and spent milliseconds there). With sums (see
   * {@link GateView.sums}) it walks no permit: running tasks come from counts per declared cost and
   * per learned type, permits waiting for a task from the default cost (or, with none, from the
   * few permits waiting), and what released tasks hold from a sum kept since the latest reading.
   * `shown` is asked only for live permits of unknown cost and for tasks released after the latest
   * reading, the only ones a decision looks at.
   */
  protected gateLoad(view: GateView<X>): GateLoad {
    const { gate, dimension, shown } = view;
    const load: GateLoad = { live: 0, held: 0, unknown: 0, unknownUnshown: 0 };
    const next = this.#next.reset(gate, dimension);
    const sums = view.wholeLedger === true ? this.#sumsOfLedger() : view.sums;
    if (sums === undefined) {
      for (const record of view.records) this.#count(load, gate, dimension, record, next, shown);
    } else {
      const used = sums.usedCosts(
        dimension,
        view.records,
        view.wholeLedger === true ? this.ledger.used : sums.running,
      );
      load.live += used.declaredSum();
      for (const group of used.undeclared()) {
        const cost =
          group.typeKey === null
            ? next.of(group.slotType)
            : (gate.learnedCost(group.typeKey) ?? next.of(group.slotType));
        if (cost !== null) load.live += cost * group.records.size;
        else for (const record of group.records) this.#countUnknown(load, record, shown);
      }
      const reserved = sums.reserved.size;
      const fallback = this.costs.default?.[dimension];
      if (reserved > 0 && fallback !== undefined) load.live += reserved * fallback;
      else if (reserved > 0)
        for (const record of sums.reserved) this.#count(load, gate, dimension, record, next, shown);
    }
    load.held = this.#held(view, sums, next);
    return load;
  }

  /** Counts one live permit into `load` at the cost {@link #costOf} says. */
  #count(
    load: GateLoad,
    gate: ResourceGate,
    dimension: CostDimension,
    record: PermitRecord<X>,
    next: NextCosts,
    shown: GateView<X>['shown'],
  ): void {
    const cost = this.#costOf(gate, dimension, record, next);
    if (cost !== null) load.live += cost;
    else this.#countUnknown(load, record, shown);
  }

  #countUnknown(load: GateLoad, record: PermitRecord<X>, shown: GateView<X>['shown']): void {
    load.unknown++;
    if ((shown(record, undefined)?.[0] ?? 0) < 0.5) load.unknownUnshown++;
  }

  /**
   * Σ cost × shown high of the tasks the view covers that were released after the latest reading
   * and may still hold what they used. With sums, only the releases since the previous decision are
   * walked: the sum of the older ones is kept until a new reading is taken in, a learned cost
   * changes or a followed release is forgotten.
   */
  #held(view: GateView<X>, sums: GateSums<X> | undefined, next: NextCosts): number {
    const { gate, dimension, shown } = view;
    const released = releasesCovered(view);
    const readingTaken = latestReadingOf(view);
    this.#forgetOldReleases();
    const cache = sums?.held;
    let after = readingTaken;
    if (cache !== undefined) {
      if (
        cache.reading !== readingTaken ||
        cache.version !== gate.version ||
        cache.forgotten !== this.#forgottenAfterReading
      ) {
        cache.reading = readingTaken;
        cache.version = gate.version;
        cache.forgotten = this.#forgottenAfterReading;
        cache.through = readingTaken;
        cache.sum = 0;
      }
      after = cache.through;
    }
    // Releases are in order: the ones after the latest reading (or the latest summed) are at the end.
    const releases = this.#recentReleases;
    let held = 0;
    for (let i = releases.length - 1; i >= this.#recentHead; i--) {
      const { record, at, order } = releases[i]!;
      if (order <= after) break;
      if (!released(record)) continue;
      const visible = shown(record, at);
      const low = visible === null ? 0 : visible[0];
      const high = visible === null ? 1 : visible[1];
      if (high <= 0 || high - low <= GATE_EPSILON) continue;
      held += (this.#costOf(gate, dimension, record, next) ?? 0) * high;
    }
    if (cache === undefined) return held;
    const newest = releases.length > this.#recentHead ? releases[releases.length - 1]!.order : after;
    if (newest > cache.through) cache.through = newest;
    cache.sum += held;
    return cache.sum;
  }

  /** The sums of the whole ledger, counted from it when first asked for or when they disagree with it. */
  #sumsOfLedger(): GateSums<X> {
    let sums = this.#ledgerSums;
    if (sums === undefined) {
      sums = new GateSums<X>(this.costs);
      sums.rebuild(this.ledger.records());
      this.#ledgerSums = sums;
    } else if (sums.reserved.size !== this.ledger.issued - this.ledger.used) {
      sums.rebuild(this.ledger.records());
    }
    return sums;
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
    if (releasedAt !== undefined) return now - releasedAt < this.settleMs ? SHOWS_ANY : null;
    if (record.state !== 'used' || record.usedAt === undefined) return SHOWS_NONE;
    return now - record.usedAt >= this.settleMs ? SHOWS_FULL : SHOWS_ANY;
  }

  /** How long a released task is followed; memory-like readings: `settleMs`. */
  protected retentionMs(): number {
    return this.settleMs;
  }

  /**
   * Stops following, one by one, the tasks released before the latest reading that `done` takes
   * (a CPU share that only decays from here on: the supplier sums it with others alike, or no
   * reading can show it any more), sooner than {@link retentionMs}. A walk of the followed
   * releases: call it once per reading, not per decision.
   */
  protected forgetReleases(done: (release: ReleasedTask<X>) => boolean): void {
    const releases = this.#recentReleases;
    let kept = 0;
    for (let i = this.#recentHead; i < releases.length; i++) {
      const release = releases[i]!;
      if (release.order < this.#lastReadingOrder && done(release)) {
        this.#ungroup(release);
        continue;
      }
      releases[kept++] = release;
    }
    releases.length = kept;
    this.#recentHead = 0;
  }

  /** Tasks released within {@link retentionMs}, oldest first. */
  protected recentReleases(): ReleasedTask<X>[] {
    this.#forgetOldReleases();
    return this.#recentReleases.slice(this.#recentHead);
  }

  /** Counts a new permit in the sums a decision reads (see {@link GateSums}). */
  protected override onIssued(record: PermitRecord<X>): void {
    this.#ledgerSums?.issued(record);
  }

  /** Counts a running task in the sums a decision reads (see {@link GateSums}). */
  protected override onUsed(record: PermitRecord<X>): void {
    this.#ledgerSums?.used(record);
  }

  /** Remembers when a permit that ran a task was released (see {@link recentReleases}). */
  protected override onReleased(record: PermitRecord<X>): void {
    this.#ledgerSums?.released(record);
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
    reclaimAbortedGrants(); // before the readings count permits (per GPU)
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
  #fresh(sample: ResourceSample, now: number = this.clock()): boolean {
    if (this.#staleNow.size === 0) {
      // The common case, with nothing to log and no object built: every reading there and young enough.
      let young = true;
      for (const resource of this.resources()) {
        const reading = sample[resource] as { at: number } | null | undefined;
        if (reading === null || reading === undefined || now - reading.at > this.staleAfterMs(resource)) {
          young = false;
          break;
        }
      }
      if (young) return true;
    }
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

  #granted(extras: X | null, now?: number): X | null {
    if (extras !== null) this.#lastGrantAt = now ?? this.clock();
    return extras;
  }

  #forgetOldReleases(): void {
    if (this.#recentHead >= this.#recentReleases.length) return; // none followed: nothing to read
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
    let staleBound = Number.NaN; // worked out only when a release outlived the retention
    while (this.#recentHead < releases.length) {
      const { at, order } = releases[this.#recentHead]!;
      const age = now - at;
      if (age < retention) break;
      if (order > this.#lastReadingOrder) {
        if (Number.isNaN(staleBound)) {
          staleBound = 0;
          for (const resource of this.resources())
            staleBound = Math.max(staleBound, this.staleAfterMs(resource));
        }
        if (age <= staleBound) break;
      }
      // A decision's sum of what released tasks hold counted this one: it must count again.
      if (order > this.#lastReadingOrder) this.#forgottenAfterReading++;
      this.#ungroup(releases[this.#recentHead]!);
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
/** Shares a reading can show (see {@link GateTask.shown}), one array each, not one per call. */
export const SHOWS_NONE: readonly [number, number] = Object.freeze([0, 0] as const);
export const SHOWS_ANY: readonly [number, number] = Object.freeze([0, 1] as const);
export const SHOWS_FULL: readonly [number, number] = Object.freeze([1, 1] as const);

/** Every release is covered (the default of {@link GateView.released}). */
const EVERY_RELEASE = (): boolean => true;

// The defaults of a view's optional fields, read where the tasks it covers are listed and where a
// decision sums what released tasks hold. Two readers rather than one object: a decision builds none.

/** The releases `view` covers: {@link GateView.released}, or every one. */
function releasesCovered<X extends object>(view: GateView<X>): (record: PermitRecord<X>) => boolean {
  return view.released ?? EVERY_RELEASE;
}

/** The stamp of the latest reading `view` knows of: {@link GateView.readingTaken}, or none. */
function latestReadingOf<X extends object>(view: GateView<X>): number {
  return view.readingTaken ?? Number.NEGATIVE_INFINITY;
}

/**
 * The expected cost of a task not known yet, per slot family, worked out at most once per decision.
 * One per supplier, {@link reset} at the start of each decision (no object per decision).
 */
class NextCosts {
  #gate: ResourceGate | undefined;
  #dimension: CostDimension = 'cpu';
  #activities: number | null | undefined;
  #workflows: number | null | undefined;
  constructor(
    readonly nextCost: (gate: ResourceGate, dimension: CostDimension, slotType: string) => number | null,
  ) {}

  reset(gate: ResourceGate, dimension: CostDimension): this {
    this.#gate = gate;
    this.#dimension = dimension;
    this.#activities = undefined;
    this.#workflows = undefined;
    return this;
  }

  of(slotType: string): number | null {
    if (familyOfSlotType(slotType) === 'workflows') {
      if (this.#workflows === undefined)
        this.#workflows = this.nextCost(this.#gate!, this.#dimension, slotType);
      return this.#workflows;
    }
    if (this.#activities === undefined)
      this.#activities = this.nextCost(this.#gate!, this.#dimension, slotType);
    return this.#activities;
  }
}
