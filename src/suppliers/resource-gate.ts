/** What a {@link ResourceGate} decides on: one resource (one dimension of one device), in its unit. */
export interface GateInput {
  /** Usage now (the latest reading, worst recent for memory). */
  used: number;
  /** The hard limit (cgroup limit, usable cores, device memory). */
  limit: number;
  /** Estimated usage of permits issued too recently to show in {@link used}. */
  unsettled: number;
  /** How many permits are that recent. */
  unsettledCount: number;
  /** Declared cost of the tasks running now. */
  charged: number;
  /**
   * The part of {@link unsettled} no declared cost covers (permits still waiting for a task, tasks of
   * a type without a declared cost): it is not in {@link charged}, so it adds to the floor too.
   * @default 0
   */
  uncharged?: number;
  /** Expected usage of the permit being decided, `null` when nothing is known about it yet. */
  estimate: number | null;
}

/**
 * Projects the usage of one resource and decides whether one more permit fits under a target
 * ratio, with hysteresis: once it said no, usage has to fall `hysteresis` below the target before
 * it says yes again, so admission does not flap around the target.
 *
 * The projection is `max(used + unsettled, baseline + charged + uncharged) + estimate`: readings
 * plus what they cannot show yet (permits admitted since the last sample), but never less than the
 * idle baseline plus the declared cost of what runs (tasks that have not allocated yet) plus the
 * estimate of recent permits no declared cost covers. With no
 * estimate (no declared cost, nothing learned), permits are admitted one at a time, each waiting
 * until the previous one shows in the readings.
 *
 * @example
 * ```ts
 * import { ResourceGate } from 'slotwise/internal/suppliers/resource-gate.js';
 * const gate = new ResourceGate(0.8, 0.05);
 * gate.admits({ used: 50, limit: 100, unsettled: 20, unsettledCount: 1, charged: 0, estimate: 20 }); // => false (90 > 80)
 * gate.admits({ used: 50, limit: 100, unsettled: 0, unsettledCount: 0, charged: 0, estimate: 20 }); // => true (70 <= 75)
 * ```
 */
export class ResourceGate {
  #open = true;
  #baseline: number | null = null;
  #perTask: number | null = null;

  /**
   * @param target ratio of the limit to stay under, in (0, 1]
   * @param hysteresis ratio below the target that usage must reach to reopen, in [0, target)
   */
  constructor(
    readonly target: number,
    readonly hysteresis: number,
  ) {}

  /** `false` after the gate refused for lack of room, until it admits again. */
  get open(): boolean {
    return this.#open;
  }

  /** Usage seen while nothing ran, or `null` before such a reading. */
  get baseline(): number | null {
    return this.#baseline;
  }

  /** Learned usage of one running task, or `null` before it could be learned. */
  get perTask(): number | null {
    return this.#perTask;
  }

  /**
   * Learns from a new reading: the idle baseline while no task runs and none ended too recently
   * to have left the readings (`unsettledCount` counts those), and never above a reading (tasks
   * use nothing below zero); the usage per running task while every running task shows in the
   * readings.
   */
  observe(used: number, running: number, unsettledCount: number): void {
    const idle = running === 0 && unsettledCount === 0;
    if (this.#baseline === null || idle || used < this.#baseline) this.#baseline = used;
    if (running > 0 && unsettledCount === 0) {
      const sample = Math.max(0, used - this.#baseline) / running;
      this.#perTask = this.#perTask === null ? sample : this.#perTask + 0.3 * (sample - this.#perTask);
    }
  }

  /** The expected usage of a new permit: the declared cost, else the learned one, else `null`. */
  estimate(declared: number | undefined): number | null {
    return declared ?? this.#perTask;
  }

  /** The projected usage if one more permit were admitted (see the class docs). */
  project(input: GateInput): number {
    const floor = (this.#baseline ?? input.used) + input.charged + (input.uncharged ?? 0);
    return Math.max(input.used + input.unsettled, floor) + (input.estimate ?? 0);
  }

  /** Whether one more permit fits; updates the hysteresis state. */
  admits(input: GateInput): boolean {
    if (input.estimate === null && input.unsettledCount > 0) return false;
    const threshold = (this.#open ? this.target : this.target - this.hysteresis) * input.limit;
    this.#open = this.project(input) <= threshold;
    return this.#open;
  }
}
