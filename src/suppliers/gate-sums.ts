import type { SlotInfo } from '@temporalio/worker';
import type { PermitRecord } from './permit-ledger.js';
import {
  type CostDimension,
  declaredCost,
  familyOfSlotType,
  type TaskCosts,
  taskTypeOf,
} from './task-cost.js';

/** Tasks of a type share one learned cost under this key (`activities/resize`); cached per task. */
const typeKeys = new WeakMap<SlotInfo, string | null>();

/** The key a task's type is learned under (`activities/resize`), or `null` for a task of no type. */
export function typeKeyOf(slotInfo: SlotInfo | undefined): string | null {
  if (slotInfo === undefined) return null;
  let key = typeKeys.get(slotInfo);
  if (key === undefined) {
    const type = taskTypeOf(slotInfo);
    key = type === null ? null : `${type.family}/${type.type}`;
    typeKeys.set(slotInfo, key);
  }
  return key;
}

/**
 * Running tasks of no declared cost that a decision prices alike: the same task type (or none) and
 * the same slot family (the expected cost of a task not learned yet is per family).
 */
export interface PricedAlike<X extends object> {
  /** Their learned-cost key, `null` for tasks of no type. */
  readonly typeKey: string | null;
  /** The slot type of one of them (only its family matters). */
  readonly slotType: string;
  readonly records: Set<PermitRecord<X>>;
  /** Its key in {@link UsedCosts}. */
  readonly key: string;
}

/**
 * The running tasks of a group of permits by their cost in one dimension: tasks of a declared cost
 * as a count per cost (so the sum is exact whatever the order of mark-used and release, with no drift
 * from adding and subtracting over a Worker's life), the others grouped by what prices them (their
 * type's learned cost, else the expected cost of their slot family), so that a decision reads one
 * number per group, not one per task.
 *
 * Internal: not exported from the package.
 *
 * @example
 * ```ts
 * import { UsedCosts } from 'slotwise/internal/suppliers/gate-sums.js';
 * const used = new UsedCosts();
 * const record = { permit: { slotType: 'activity' }, state: 'used', slotInfo: { type: 'activity', activityType: 'a' } } as never;
 * used.add(record, 64);
 * used.declaredSum(); // => 64
 * ```
 */
export class UsedCosts<X extends object> {
  /** Declared cost of each counted task, or the group of a task of no declared cost. */
  readonly #of = new Map<PermitRecord<X>, number | PricedAlike<X>>();
  /** How many counted tasks have each declared cost. */
  readonly #perCost = new Map<number, number>();
  /** Tasks of no declared cost, by group. */
  readonly #undeclared = new Map<string, PricedAlike<X>>();
  /** Tasks of a declared cost. */
  #declaredCount = 0;

  /** Tasks counted. */
  get size(): number {
    return this.#of.size;
  }

  /** Tasks counted that have a declared cost. */
  get declaredCount(): number {
    return this.#declaredCount;
  }

  add(record: PermitRecord<X>, declared: number | undefined): void {
    if (this.#of.has(record)) return;
    if (declared !== undefined) {
      this.#of.set(record, declared);
      this.#perCost.set(declared, (this.#perCost.get(declared) ?? 0) + 1);
      this.#declaredCount++;
      return;
    }
    const typeKey = typeKeyOf(record.slotInfo);
    const slotType = record.permit.slotType;
    const family = familyOfSlotType(slotType);
    const key = typeKey === null ? family : `${family}\u0000${typeKey}`;
    let group = this.#undeclared.get(key);
    if (group === undefined) {
      group = { typeKey, slotType, records: new Set(), key };
      this.#undeclared.set(key, group);
    }
    group.records.add(record);
    this.#of.set(record, group);
  }

  delete(record: PermitRecord<X>): void {
    const of = this.#of.get(record);
    if (of === undefined) return;
    this.#of.delete(record);
    if (typeof of === 'number') {
      this.#declaredCount--;
      const left = this.#perCost.get(of)! - 1;
      if (left === 0) this.#perCost.delete(of);
      else this.#perCost.set(of, left);
      return;
    }
    of.records.delete(record);
    if (of.records.size === 0) this.#undeclared.delete(of.key);
  }

  /** Σ declared cost of the counted tasks. */
  declaredSum(): number {
    let sum = 0;
    for (const [cost, count] of this.#perCost) sum += cost * count;
    return sum;
  }

  /** The tasks of no declared cost, one group per way of pricing them. */
  undeclared(): IterableIterator<PricedAlike<X>> {
    return this.#undeclared.values();
  }
}

/**
 * What the tasks released after the latest reading may still hold, summed from one decision to the
 * next (see `ResourceSlotSupplier.gateLoad`): valid while the reading, the gate's learned costs and
 * the releases it covers stay the same.
 */
export interface HeldSince {
  /** The reading's stamp the sum is for. */
  reading: number;
  /** The gate's {@link ResourceGate.version} it was summed with. */
  version: number;
  /** How many releases after a reading had been forgotten when it was summed. */
  forgotten: number;
  /** The stamp (`order`) of the newest release in the sum. */
  through: number;
  /** Σ cost × shown high of those releases. */
  sum: number;
}

/**
 * The running sums a decision reads for one group of live permits (a supplier's whole ledger, or the
 * permits on one GPU), kept on issue, mark-used and release so that a decision does not walk the
 * permits: which permits still wait for their task, the running tasks by cost per dimension (see
 * {@link UsedCosts}), and what released tasks hold since the latest reading.
 *
 * Internal: not exported from the package.
 *
 * @example
 * ```ts
 * import { GateSums } from 'slotwise/internal/suppliers/gate-sums.js';
 * const sums = new GateSums({ default: { memoryBytes: 64 } });
 * const record = { permit: { slotType: 'activity' }, state: 'reserved' } as never;
 * sums.issued(record);
 * sums.reserved.size; // => 1
 * ```
 */
export class GateSums<X extends object> {
  /** Live permits of the group still waiting for their task. */
  readonly reserved = new Set<PermitRecord<X>>();
  /** Running tasks of the group, per dimension, from the first decision that asks on. */
  readonly #used = new Map<CostDimension, UsedCosts<X>>();
  /** Running tasks of the group. */
  #running = 0;
  /** See {@link HeldSince}. */
  readonly held: HeldSince = { reading: Number.NaN, version: Number.NaN, forgotten: 0, through: 0, sum: 0 };

  constructor(readonly costs: Readonly<TaskCosts>) {}

  /** Running tasks of the group. */
  get running(): number {
    return this.#running;
  }

  /** A permit of the group was issued. */
  issued(record: PermitRecord<X>): void {
    this.reserved.add(record);
  }

  /** A permit of the group was marked used. */
  used(record: PermitRecord<X>): void {
    if (!this.reserved.delete(record)) return;
    this.#running++;
    for (const [dimension, used] of this.#used) {
      used.add(record, declaredCost(this.costs, record.slotInfo)?.[dimension]);
    }
  }

  /** A permit of the group was released. */
  released(record: PermitRecord<X>): void {
    if (this.reserved.delete(record)) return;
    this.#running--;
    for (const used of this.#used.values()) used.delete(record);
  }

  /**
   * The running tasks by their cost in `dimension`. Counted from `records` (the group's live
   * permits, walked once: it may be an iterator) on the first call for a dimension, and again, with
   * everything else, whenever the sums disagree with `expectRunning` (the owner's count of running
   * tasks, when it has one).
   */
  usedCosts(
    dimension: CostDimension,
    records: Iterable<PermitRecord<X>>,
    expectRunning: number = this.#running,
  ): UsedCosts<X> {
    const known = this.#used.get(dimension);
    if (known !== undefined && known.size === expectRunning && this.#running === expectRunning) return known;
    const recount = this.#running !== expectRunning;
    if (recount) {
      this.reserved.clear();
      this.#used.clear();
      this.#running = 0;
    }
    const used = new UsedCosts<X>();
    for (const record of records) {
      if (record.state === 'used') {
        used.add(record, declaredCost(this.costs, record.slotInfo)?.[dimension]);
        if (recount) this.#running++;
      } else if (recount && record.state === 'reserved') {
        this.reserved.add(record);
      }
    }
    this.#used.set(dimension, used);
    return used;
  }

  /** Counts the group again from its live permits `records`. */
  rebuild(records: Iterable<PermitRecord<X>>): void {
    this.reserved.clear();
    this.#used.clear();
    this.#running = 0;
    for (const record of records) {
      if (record.state === 'reserved') this.reserved.add(record);
      else if (record.state === 'used') this.#running++;
    }
  }
}
