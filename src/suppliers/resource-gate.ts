/**
 * One task as a {@link ResourceGate} sees it: a live permit (waiting for its task or running one),
 * or a task released so recently that readings may still show it.
 */
export interface GateTask {
  /**
   * Its usage of the resource: the declared cost, else the learned cost of its type, else the
   * estimate of a new task; `null` when nothing is known yet.
   */
  cost: number | null;
  /** `true` when {@link cost} is declared (learning leaves it alone). */
  declared: boolean;
  /** Its type for learning (`activities/resize`), `null` for a permit still waiting for its task. */
  typeKey: string | null;
  /** `true` for an issued permit (it counts in the projection); `false` for a released task. */
  live: boolean;
  /**
   * For a released task: released after the latest reading was taken, so no reading can have shown
   * its memory freed yet.
   * @default false
   */
  releasedAfterReading?: boolean;
  /**
   * The least and the most of its cost the latest reading can show, as ratios in [0, 1]: `[0, 0]` for
   * a permit waiting for a task, `[1, 1]` for a task that certainly shows in full, `[0, 1]` while it
   * may still be allocating (or freeing), an exact `[s, s]` where the reading's smoothing is known.
   * One entry may stand for several released tasks priced alike (the CPU supplier's fading tasks):
   * its shares are the sums of theirs, above 1 when they add up to more than one task, and the gate
   * counts it as it would count them, since it only ever sums `cost x share`.
   */
  shown: readonly [low: number, high: number];
}

/**
 * What a decision needs to know of the tasks, summed: the projection adds these, so a supplier can
 * compute them in one pass over its permits without building a {@link GateTask} per permit.
 * {@link ResourceGate.loadOf} computes it from a task list.
 */
export interface GateLoad {
  /** Σ cost of the live permits (a permit of unknown cost counts 0). */
  live: number;
  /**
   * Σ `cost × shown high` of the tasks released after the latest reading that may still hold what
   * they used (`shown` a range): no reading can show their usage freed yet.
   */
  held: number;
  /** Live permits whose cost is unknown. */
  unknown: number;
  /** Of those, how many the latest reading shows less than half of (a probe must wait for them). */
  unknownUnshown: number;
}

/** One reading of the resource, in its unit (cores, bytes). */
export interface GateReading {
  /** Usage now. */
  used: number;
  /** The hard limit. */
  limit: number;
  /** When it was taken, in milliseconds of the supplier's clock. */
  at: number;
}

/** How a gate rounds the last task that only partly fits. */
export type GateRounding = 'floor' | 'nearest';

/** Options of a {@link ResourceGate}. */
export interface ResourceGateOptions {
  /** Ratio of the limit to stay under, in (0, 1]. */
  target: number;
  /** Ratio below the target that a projection must reach to reopen after a refusal, in [0, target). */
  hysteresis: number;
  /**
   * `floor` (hard limits: memory, GPU memory, heap): admit only while projected usage stays under the
   * target. `nearest` (CPU): admit when the task brings projected usage nearer the target than not
   * admitting it, so the mean tracks the target.
   * @default 'floor'
   */
  rounding?: GateRounding;
  /**
   * How learning follows a new sample of a type's cost: `[up, down]` weights in (0, 1]. `[1, 0.3]`
   * follows a larger task at once and a smaller one slowly (hard limits); `[0.3, 0.3]` averages noise.
   * @default [1, 0.3]
   */
  learningRates?: readonly [up: number, down: number];
  /**
   * The smallest learned cost, as a ratio of the limit: a type never looks cheaper than this while
   * tasks run, so a wrong reading cannot open the gate wide.
   * @default 0.001
   */
  minLearnedShare?: number;
  /**
   * Whether a released task may keep holding what it used until a reading shows it freed (memory a
   * process or a garbage collector returns late). `false` where what it leaves is reclaimed on
   * demand anyway (V8 collects garbage before it gives up on the heap).
   * @default true
   */
  releasedMayHold?: boolean;
  /**
   * Whether costs are upper bounds (memory: a task uses at most its cost), so that usage outside our
   * tasks is never assumed below the idle baseline when tasks use less; `false` where costs are
   * averages and the reading is followed both ways. CPU keeps `true`: a task on a busy machine gets
   * less than its declared cost, and following the reading down then admitted past the target.
   * @default true
   */
  costsAreBounds?: boolean;
  /**
   * Whether a reading below the idle baseline with tasks of known cost running lowers the baseline
   * to what is left after those tasks' shown share of their costs (CPU: a task shows its smoothed
   * share, and a Worker that was still starting up when its first tasks came left a baseline of
   * a whole core), or only to the reading itself (memory: a task may hold less than its cost now
   * and grow to it later).
   * @default false
   */
  lowersBaselineByTasks?: boolean;
}

/** Where the idle baseline came from. */
export type BaselineSource = 'idle' | 'levels';

/** What a gate has learned, for snapshots and tests. */
export interface GateLearning {
  /** Usage seen while none of our tasks showed (or derived from two load levels), `null` before. */
  baseline: number | null;
  /** How {@link baseline} was found. */
  baselineSource: BaselineSource | null;
  /** The estimate of usage by everything that is not one of our tasks, admission uses it. */
  outside: number | null;
  /** Learned cost per task type. */
  learned: ReadonlyMap<string, number>;
}

/** Below this, a difference of shares or usages is rounding, not a difference. */
export const GATE_EPSILON = 1e-9;
const EPSILON = GATE_EPSILON;

/**
 * The arithmetic of one resource (one dimension of one device): what our tasks use, what the rest of
 * the machine uses, whether one more task fits, and what a task of each type costs when no cost is
 * declared. Pure bookkeeping over the inputs it is given: the supplier says which tasks exist and
 * how much of each the reading can show; the gate never reads a clock or a file.
 *
 * **Projection.** `outside + Σ cost of live permits + cost of the next task`, where `outside`
 * (everything that is not one of our tasks) is tracked from readings:
 * - with nothing of ours showing (idle), `outside` is the reading itself (and so is the baseline);
 * - it rises at once when the reading exceeds it plus the most our tasks can show (someone else
 *   allocated, or a task uses more than its cost): `outside >= used - Σ cost × shown high`;
 * - it never exceeds the reading (our tasks use nothing below zero), nor what the reading leaves
 *   when our tasks show exactly (`used - Σ cost × shown`), and once every task shows in full it falls
 *   back to that, but not below the baseline.
 * So a task counts once (in the reading, or at its cost until it shows, never both), and a step
 * outside stops admission at the next reading. A released task stops counting as soon as a reading
 * shows its memory freed (at once where the reading's smoothing is known, as for CPU); until then,
 * what the reading holds beyond everything else, up to its cost, still counts, so memory a
 * garbage collector has not returned yet is not given out twice.
 *
 * **Learning.** With no declared cost, a type's cost is learned from readings where every task shows
 * exactly and nothing is still growing: against the baseline (`(used - baseline) / tasks`), or, with
 * no baseline yet (a task already showed in the first reading, or the reading fell below the idle
 * baseline while a task of that type ran, as when a Worker is still starting up), from the
 * difference between two load levels (`Δused / Δtasks`), which then gives the baseline too. So the order in which the
 * sampler, the supplier and the first task start changes nothing. A learned cost is never below
 * `minLearnedShare` of the limit. With no estimate at all, permits are admitted one at a time, each
 * waiting until the previous one can be learned from.
 *
 * **Hysteresis.** After a refusal, the gate reopens when the projection falls `hysteresis` below the
 * target, or when a whole task's worth of room appeared (a release), not on every wobble of a reading.
 *
 * @example
 * ```ts
 * import { ResourceGate } from 'slotwise/internal/suppliers/resource-gate.js';
 * const gate = new ResourceGate({ target: 0.8, hysteresis: 0.05 });
 * gate.observe({ used: 10, limit: 100, at: 0 }, [], true); // idle: baseline and outside usage 10
 * const task = { cost: 20, declared: true, typeKey: null, live: true, shown: [0, 1] } as const;
 * gate.admits([task, task], 20, 100); // => true (10 + 2 x 20 + 20 = 70 <= 80)
 * gate.admits([task, task, task], 20, 100); // => false (10 + 3 x 20 + 20 = 90 > 80)
 * ```
 */
export class ResourceGate {
  target: number;
  readonly hysteresis: number;
  readonly rounding: GateRounding;
  readonly #rates: readonly [number, number];
  readonly #minShare: number;
  readonly #costsAreBounds: boolean;
  readonly #releasedMayHold: boolean;
  readonly #lowersBaselineByTasks: boolean;
  #open = true;
  /** Whether the last reading could be learned from (nothing still growing). */
  #settled = false;
  /** The projection (with the next task) when the gate last refused. */
  #closedAt = Number.POSITIVE_INFINITY;
  #baseline: number | null = null;
  #baselineSource: BaselineSource | null = null;
  #outside: number | null = null;
  /** What released tasks may still hold, as the latest reading shows it (see {@link observe}). */
  #lingering = 0;
  readonly #learned = new Map<string, number>();
  /** Counts changes to {@link #learned}: sums of learned costs kept between decisions check it. */
  #version = 0;
  /** The last reading every task showed exactly in: the lower load level for {@link #learnFromLevels}. */
  #level: { used: number; counts: Map<string, number> } | null = null;

  constructor(options: ResourceGateOptions) {
    this.target = options.target;
    this.hysteresis = options.hysteresis;
    this.rounding = options.rounding ?? 'floor';
    this.#rates = options.learningRates ?? [1, 0.3];
    this.#minShare = options.minLearnedShare ?? 0.001;
    this.#costsAreBounds = options.costsAreBounds ?? true;
    this.#releasedMayHold = options.releasedMayHold ?? true;
    this.#lowersBaselineByTasks = options.lowersBaselineByTasks ?? false;
  }

  /** `false` after the gate refused for lack of room, until it admits again. */
  get open(): boolean {
    return this.#open;
  }

  /** Usage seen while none of our tasks showed (or derived from two load levels), `null` before. */
  get baseline(): number | null {
    return this.#baseline;
  }

  /** The learned state (baseline, outside usage, per-type costs). */
  get learning(): GateLearning {
    return {
      baseline: this.#baseline,
      baselineSource: this.#baselineSource,
      outside: this.#outside,
      learned: new Map(this.#learned),
    };
  }

  /**
   * Changes whenever a learned cost changes: what a supplier summed with the learned costs (what
   * released tasks hold) is still valid while it stays the same.
   */
  get version(): number {
    return this.#version;
  }

  /** The learned cost of `typeKey`, or `undefined`. */
  learnedCost(typeKey: string): number | undefined {
    return this.#learned.get(typeKey);
  }

  /**
   * Learns the cost of `typeKey` from a task that ran alone and ended (see `SoloTaskLearner`), when
   * nothing was learned for the type yet; readings refine it from then on as usual. Returns whether
   * it was taken (not below `minLearnedShare` of `limit`).
   */
  learnFromSoloTask(typeKey: string, cost: number, limit: number): boolean {
    if (this.#learned.has(typeKey) || !(cost > this.#minShare * limit)) return false;
    this.#setLearned(typeKey, cost);
    return true;
  }

  /** The largest learned cost among types starting with `prefix` (`'activities/'`), or `null`. */
  largestLearned(prefix = ''): number | null {
    let largest: number | null = null;
    for (const [key, cost] of this.#learned) {
      if (key.startsWith(prefix) && (largest === null || cost > largest)) largest = cost;
    }
    return largest;
  }

  /**
   * Takes in a new reading. `tasks` are the live permits and the recently released tasks, with what
   * the reading can show of each; `settled` says that nothing is still growing (readings have been
   * flat for the supplier's settle time), which learning needs where the share shown is a range.
   */
  observe(reading: GateReading, tasks: readonly GateTask[], settled: boolean): void {
    const { used } = reading;
    if (!Number.isFinite(used)) return;
    this.#settled = settled;
    let shownLow = 0;
    let shownHigh = 0;
    let anyShowing = false;
    let exact = true;
    for (const task of tasks) {
      const [low, high] = task.shown;
      if (high > 0) anyShowing = true;
      if (high - low > EPSILON) exact = false;
    }
    if (!anyShowing) {
      // Idle: the reading is everything else.
      this.#baseline = used;
      this.#baselineSource = 'idle';
      this.#outside = used;
      this.#lingering = 0;
      this.#level = { used, counts: new Map() };
      return;
    }
    if (exact && settled) this.#learn(used, tasks, reading.limit);
    // What our tasks can show, with what was just learned (a task of unknown cost shows nothing of
    // ours: until its cost is learned, its usage counts as outside usage).
    for (const task of tasks) {
      const cost = this.#costOf(task);
      if (cost === null) continue;
      shownLow += cost * task.shown[0];
      shownHigh += cost * task.shown[1];
    }
    const atLeast = used - shownHigh;
    let outside = Math.max(this.#outside ?? used, atLeast);
    // Our tasks show at least their lower share of their cost, so the rest is at most this; where
    // costs are upper bounds a task may use less, so our tasks alone never take outside usage
    // below the idle baseline.
    let atMost = used - shownLow;
    if (this.#costsAreBounds) atMost = Math.max(atMost, this.#baseline ?? Number.NEGATIVE_INFINITY);
    outside = Math.min(outside, atMost);
    if (this.#baseline !== null) this.#lowerBaseline(used, tasks, this.#baseline);
    this.#outside = outside;
    // Released tasks whose memory may not be freed yet (garbage not collected, a process still
    // exiting): what the reading holds beyond everything else, up to their costs, still counts.
    let lingerAtMost = 0;
    let explained = outside;
    for (const task of tasks) {
      const cost = this.#costOf(task) ?? 0;
      if (!task.live && task.shown[1] - task.shown[0] > EPSILON) lingerAtMost += cost * task.shown[1];
      else explained += cost * task.shown[0];
    }
    this.#lingering = this.#releasedMayHold ? Math.min(lingerAtMost, Math.max(0, used - explained)) : 0;
  }

  /**
   * The tasks of `tasks` summed as a decision needs them (see {@link GateLoad}), with the costs
   * learned so far.
   */
  loadOf(tasks: readonly GateTask[]): GateLoad {
    const load: GateLoad = { live: 0, held: 0, unknown: 0, unknownUnshown: 0 };
    for (const task of tasks) {
      const cost = this.#costOf(task);
      if (task.live) {
        if (cost !== null) load.live += cost;
        else {
          load.unknown++;
          if (task.shown[0] < 0.5) load.unknownUnshown++;
        }
      } else if (task.releasedAfterReading && task.shown[1] - task.shown[0] > EPSILON) {
        load.held += (cost ?? 0) * task.shown[1];
      }
    }
    return load;
  }

  /**
   * The projected usage with the live permits of `tasks` (or their {@link GateLoad}) and, when
   * `next` is a number, one more task of that cost. `null` before any reading.
   */
  project(tasks: readonly GateTask[] | GateLoad, next: number | null): number | null {
    if (this.#outside === null) return null;
    const load = this.#load(tasks);
    // A task released after the latest reading may hold all it held: no reading shows it freed yet.
    const held = this.#releasedMayHold ? load.held : 0;
    return this.#outside + this.#lingering + load.live + held + (next ?? 0);
  }

  /**
   * Whether one more task of cost `next` (`null`: unknown) fits under the target of `limit`, given
   * the live permits in `tasks` (or their {@link GateLoad}); updates the hysteresis state. With an
   * unknown cost, admits one probe at a time: only when every live permit of unknown cost already
   * shows at least half of itself in a reading that could be learned from (a permit still waiting
   * for its task never does).
   */
  admits(tasks: readonly GateTask[] | GateLoad, next: number | null, limit: number): boolean {
    const load = this.#load(tasks);
    if (next === null) {
      if (load.unknown > 0 && (load.unknownUnshown > 0 || !this.#settled)) return false;
      // A probe: it fits when what is known leaves room.
      const now = this.project(load, 0);
      return now !== null && now <= this.target * limit;
    }
    const projected = this.project(load, next);
    if (projected === null) return false;
    // Fits under a threshold: `over <= threshold + tolerance` (no closure: this runs on every decision).
    const over = projected - (this.rounding === 'nearest' ? next / 2 : 0);
    const tolerance = EPSILON * Math.max(1, limit);
    let admit: boolean;
    if (this.#open) {
      admit = over <= this.target * limit + tolerance;
    } else {
      // Reopen below the hysteresis band, or when a whole task's worth of room appeared since the refusal.
      admit =
        over <= (this.target - this.hysteresis) * limit + tolerance ||
        (over <= this.target * limit + tolerance && projected <= this.#closedAt - next + tolerance);
    }
    if (admit) {
      this.#open = true;
      this.#closedAt = Number.POSITIVE_INFINITY;
    } else {
      // Room is measured from the highest projection since the refusal.
      this.#closedAt = this.#open ? projected : Math.max(this.#closedAt, projected);
      this.#open = false;
    }
    return admit;
  }

  /**
   * How many more tasks of cost `next` fit now (what `capacity` reports above what is issued);
   * `null` when the cost is unknown.
   */
  room(tasks: readonly GateTask[] | GateLoad, next: number | null, limit: number): number | null {
    if (next === null || next <= 0) return null;
    const projected = this.project(tasks, 0);
    if (projected === null) return 0;
    const free = (this.target * limit - projected) / next;
    return Math.max(0, this.rounding === 'nearest' ? Math.floor(free + 0.5) : Math.floor(free + EPSILON));
  }

  /** Forgets the hysteresis state (after a target change). */
  reopen(): void {
    this.#open = true;
    this.#closedAt = Number.POSITIVE_INFINITY;
  }

  #setLearned(typeKey: string, cost: number): void {
    if (this.#learned.get(typeKey) === cost) return;
    this.#learned.set(typeKey, cost);
    this.#version++;
  }

  #load(tasks: readonly GateTask[] | GateLoad): GateLoad {
    return Array.isArray(tasks) ? this.loadOf(tasks) : (tasks as GateLoad);
  }

  #costOf(task: GateTask): number | null {
    if (task.declared || task.typeKey === null) return task.cost;
    return this.#learned.get(task.typeKey) ?? task.cost;
  }

  /**
   * Lowers the idle baseline when the rest of the machine shrank with tasks running (a Worker that
   * was still starting up when its first tasks came). Memory-like gates lower it to a reading below
   * it; gates that follow tasks by their shown share (`lowersBaselineByTasks`) to what a reading
   * leaves after the shown share of every task's known cost, never below 0. A reading that holds
   * tasks of a type not learned yet cannot be a baseline: a cost learned against it would leave
   * out what those tasks showed in it, so a reading below the baseline becomes the lower load level
   * that type is learned from (see {@link #learnFromLevels}), with no baseline until then.
   */
  #lowerBaseline(used: number, tasks: readonly GateTask[], baseline: number): void {
    const unlearned = new Map<string, number>();
    let declared = 0;
    let known = 0;
    for (const task of tasks) {
      const share = task.shown[0];
      if (share <= 0) continue;
      if (task.declared || task.typeKey === null) declared += (task.cost ?? 0) * share;
      else if (!this.#learned.has(task.typeKey)) {
        unlearned.set(task.typeKey, (unlearned.get(task.typeKey) ?? 0) + share);
      } else known += this.#learned.get(task.typeKey)! * share;
    }
    if (unlearned.size === 0) {
      const rest = this.#lowersBaselineByTasks ? Math.max(0, used - declared - known) : used;
      if (rest < baseline) this.#baseline = rest;
      return;
    }
    if (used >= baseline) return;
    this.#baseline = null;
    this.#baselineSource = null;
    this.#level = { used: used - declared, counts: unlearned };
  }

  /** Learns from a reading in which every task shows exactly (see the class docs). */
  #learn(used: number, tasks: readonly GateTask[], limit: number): void {
    // Visible task-equivalents per learnable type, and the part of the reading declared tasks explain.
    const counts = new Map<string, number>();
    let declared = 0;
    for (const task of tasks) {
      const share = task.shown[0];
      if (share <= 0) continue;
      if (task.declared || task.typeKey === null) {
        if (task.cost === null) return; // a showing task of unknown cost and no type: cannot attribute
        declared += task.cost * share;
        continue;
      }
      counts.set(task.typeKey, (counts.get(task.typeKey) ?? 0) + share);
    }
    const floor = this.#minShare * limit;
    if (counts.size === 0) return;
    if (this.#baseline === null) {
      this.#learnFromLevels(used - declared, counts, floor);
      return;
    }
    const residual = used - declared - this.#baseline;
    const unknown = [...counts.keys()].filter((key) => !this.#learned.has(key));
    if (unknown.length > 1) return;
    let known = 0;
    for (const [key, count] of counts) known += (this.#learned.get(key) ?? 0) * count;
    if (unknown.length === 1) {
      const key = unknown[0]!;
      const count = counts.get(key)!;
      if (count < 0.5) return;
      const sample = (residual - known) / count;
      if (sample > floor) this.#setLearned(key, sample);
      return;
    }
    // Every type known: move each toward the reading in proportion to how much of it shows.
    const error = residual - known;
    let squares = 0;
    for (const count of counts.values()) squares += count * count;
    if (squares < 0.25) return;
    const rate = error > 0 ? this.#rates[0] : this.#rates[1];
    for (const [key, count] of counts) {
      const next = this.#learned.get(key)! + (rate * error * count) / squares;
      this.#setLearned(key, Math.max(floor, next));
    }
  }

  /** No baseline yet: learn one type's cost from two load levels, and the baseline from it. */
  #learnFromLevels(used: number, counts: Map<string, number>, floor: number): void {
    const previous = this.#level;
    if (previous === null || counts.size !== 1) {
      this.#level = { used, counts };
      return;
    }
    const [key, count] = [...counts][0]!;
    const before = previous.counts.get(key) ?? 0;
    if (previous.counts.size > (before > 0 ? 1 : 0)) {
      this.#level = { used, counts }; // another type changed too: start again from here
      return;
    }
    const delta = count - before;
    if (Math.abs(delta) < 0.5) {
      // The same level: keep its lowest reading (the first one where tasks still grow, a later one
      // where the rest of the machine is still shrinking).
      if (used < previous.used) this.#level = { used, counts };
      return;
    }
    this.#level = { used, counts };
    const sample = (used - previous.used) / delta;
    if (!(sample > floor)) return;
    this.#setLearned(key, sample);
    this.#baseline = used - sample * count;
    this.#baselineSource = 'levels';
  }
}
