import { brandClass } from '../class-brand.js';
import type { ResourceSample, SampledResource } from '../resources/sampler.js';
import type { PermitRecord } from './permit-ledger.js';
import {
  type GateLoad,
  type GateReading,
  type GateTask,
  ResourceGate,
  type ResourceGateOptions,
} from './resource-gate.js';
import {
  type GateView,
  type LearnedCosts,
  ResourceSlotSupplier,
  RiseWindow,
} from './resource-slot-supplier.js';
import { SoloTaskLearner } from './solo-task-learner.js';
import type { CostDimension } from './task-cost.js';
import type { ReservationContext } from './types.js';

/**
 * A resource supplier gated on one machine-wide resource (CPU cores, memory bytes, heap bytes)
 * through one {@link ResourceGate}. Subclasses say which reading they need, which cost dimension they
 * charge and how to read usage and limit from a sample.
 *
 * @example
 * ```ts
 * import { ResourceSampler } from 'slotwise';
 * import { SingleResourceSlotSupplier } from 'slotwise/internal/suppliers/single-resource-slot-supplier.js';
 *
 * // Gates on host memory used by everything (not only this process).
 * class HostMemorySupplier extends SingleResourceSlotSupplier {
 *   protected readonly dimension = 'memoryBytes' as const;
 *   protected readonly resource = 'memory' as const;
 *   constructor() {
 *     super({
 *       kind: 'host-memory',
 *       owner: 'HostMemorySupplier',
 *       options: {},
 *       defaults: { minSlots: 1, settleMs: 1000 },
 *       makeSampler: () => new ResourceSampler({ cpu: false, memory: { scope: 'host' } }),
 *     });
 *   }
 *   protected reading(sample: import('slotwise').ResourceSample) {
 *     return sample.memory && { used: sample.memory.usedBytes, limit: sample.memory.limitBytes, at: sample.memory.at };
 *   }
 *   protected readings() {
 *     return {};
 *   }
 * }
 * ```
 */
export abstract class SingleResourceSlotSupplier extends ResourceSlotSupplier {
  /** The cost dimension this supplier charges. */
  protected abstract readonly dimension: CostDimension;
  /** The reading it admits on. */
  protected abstract readonly resource: SampledResource;
  #gate: ResourceGate | undefined;
  readonly #rise = new RiseWindow();
  /** The reading object last taken in (a sample of another resource carries the same one again). */
  #lastReading: unknown = null;
  /** Its stamp (see `readingTaken()`). */
  #readingTaken = Number.NEGATIVE_INFINITY;
  /** Learns the cost of tasks too short to settle, from ones that ran alone (memory-like readings). */
  #solo: SoloTaskLearner | undefined;
  /** {@link resources}, built once. */
  #resources: readonly SampledResource[] | undefined;
  /** The view of every decision, built once (see {@link #view}). */
  #decisionView: GateView<object> | undefined;
  /** The clock when the current decision started, for {@link #decisionView}'s `shown`. */
  #viewNow = 0;

  /** Usage, limit and time of the latest reading in the dimension's unit, or `null` before the first. */
  protected abstract reading(sample: ResourceSample): GateReading | null;

  /**
   * Whether a task that ran alone and ended teaches its type's cost (see {@link SoloTaskLearner}):
   * true where a reading keeps what a task held (memory-like); the CPU supplier's smoothed reading
   * shows a short task only in part, so it says no.
   */
  protected learnsFromSoloTasks(): boolean {
    return true;
  }

  /** How the gate rounds and learns (the CPU supplier overrides it). */
  protected gateOptions(): Omit<ResourceGateOptions, 'target' | 'hysteresis'> {
    return {};
  }

  /** The gate, created on first use (subclass fields are not set yet while the base constructs). */
  protected get gate(): ResourceGate {
    this.#gate ??= new ResourceGate({
      target: this.target,
      hysteresis: this.hysteresis,
      ...this.gateOptions(),
    });
    return this.syncTarget(this.#gate);
  }

  protected resources(): readonly SampledResource[] {
    this.#resources ??= [this.resource];
    return this.#resources;
  }

  /** The share of a task the latest reading can show (memory-like by default; see {@link settleShown}). */
  protected shown(
    record: PermitRecord,
    releasedAt: number | undefined,
    now: number = this.clock(),
  ): readonly [number, number] | null {
    return this.settleShown(record, releasedAt, now);
  }

  /**
   * Whether readings stayed flat for `settleMs` (a task still allocating must not be learned from):
   * they may have moved by at most 0.5 % of the limit, or a tenth of what our tasks show above the
   * baseline (see {@link movement}).
   */
  protected settled(reading: GateReading): boolean {
    this.#rise.push(reading.at, reading.used);
    const rise = this.movement(this.#rise, reading.at);
    if (rise === null) return this.settleMs === 0;
    const baseline = this.gate.baseline;
    const load = baseline === null ? 0 : Math.max(0, reading.used - baseline);
    return rise <= Math.max(0.005 * reading.limit, 0.1 * load);
  }

  /**
   * How much the readings of the last `settleMs` moved: their whole spread, since a fall (memory
   * returned by something else) can hide a task still allocating as well as a rise can. `null`
   * while they do not cover `settleMs` yet.
   */
  protected movement(window: RiseWindow, at: number): number | null {
    return window.range(at, this.settleMs);
  }

  /** Called with each new reading before the gate takes it in (the CPU supplier updates its mirror). */
  protected beforeObserve(_sample: ResourceSample, _reading: GateReading): void {}

  /** The tasks the gate accounts for now. */
  protected tasks(): GateTask[] {
    return this.gateTasks(this.#view());
  }

  /** The same tasks summed as a decision needs them (no object per permit). */
  protected load(): GateLoad {
    return this.gateLoad(this.#view());
  }

  /** Every live permit and release, the whole ledger's sums; one object reused by every decision. */
  #view(): GateView<object> {
    this.#viewNow = this.clock(); // once per decision, not once per permit
    if (this.#decisionView === undefined) {
      const ledger = this.ledger;
      this.#decisionView = {
        gate: this.gate,
        dimension: this.dimension,
        records: { [Symbol.iterator]: () => ledger.records() },
        shown: (record, releasedAt) => this.shown(record, releasedAt, this.#viewNow),
        wholeLedger: true,
      };
    }
    const view = this.#decisionView;
    view.gate = this.gate;
    view.readingTaken = this.#readingTaken;
    return view;
  }

  protected admitResources(
    request: ReservationContext,
    sample: ResourceSample,
    force: boolean,
  ): object | null {
    if (force) return {};
    const reading = this.reading(sample);
    if (reading === null) return null;
    const next = this.nextCost(this.gate, this.dimension, request.slotType);
    return this.gate.admits(this.load(), next, reading.limit) ? {} : null;
  }

  protected observe(sample: ResourceSample): void {
    const source = sample[this.resource];
    const reading = this.reading(sample);
    if (reading === null || source === this.#lastReading) return; // not a new reading of ours
    this.#lastReading = source;
    this.#readingTaken = this.readingTaken();
    this.beforeObserve(sample, reading);
    const settled = this.settled(reading);
    this.gate.observe(reading, this.tasks(), settled);
    if (this.#solo) {
      // A task shows at least this much (half a percent of the limit, the flatness tolerance) to count.
      for (const { typeKey, cost } of this.#solo.reading(reading.at, reading.used, 0.005 * reading.limit)) {
        this.gate.learnFromSoloTask(typeKey, cost, reading.limit);
      }
    }
  }

  protected override onUsed(record: PermitRecord): void {
    super.onUsed(record);
    if (!this.learnsFromSoloTasks()) return;
    const { declared, typeKey } = this.taskCost(this.gate, this.dimension, record);
    const unknown = !declared && typeKey !== null && this.gate.learnedCost(typeKey) === undefined;
    if (!unknown && !this.#solo?.following) return; // nothing to follow or spoil
    this.#solo ??= new SoloTaskLearner(this.settleMs);
    // Other tasks running (this one is counted already): the ledger's count, not a walk.
    const othersRunning = unknown && this.ledger.used > 1;
    this.#solo.used(record.permit, unknown ? typeKey : null, this.clock(), this.gate.baseline, othersRunning);
  }

  protected override onReleased(record: PermitRecord): void {
    super.onReleased(record);
    this.#solo?.released(record.permit, this.clock());
  }

  protected capacity(): number {
    const reading = this.reading(this.current());
    if (reading === null) return this.minSlots;
    const next = this.nextCost(this.gate, this.dimension, null);
    const room = this.gate.room(this.load(), next, reading.limit);
    return room === null ? this.maxSlots : this.clampCapacity(room);
  }

  protected learnedCosts(): LearnedCosts {
    const learned: LearnedCosts = { activities: {}, workflows: {} };
    for (const [key, cost] of this.gate.learning.learned) {
      const slash = key.indexOf('/');
      const family = key.slice(0, slash) as keyof LearnedCosts;
      learned[family][key.slice(slash + 1)] = { [this.dimension]: cost };
    }
    return learned;
  }
}
brandClass(SingleResourceSlotSupplier, 'SingleResourceSlotSupplier');
