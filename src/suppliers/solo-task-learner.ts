/** A task followed from its start to a settle time after its end (see {@link SoloTaskLearner}). */
interface Episode {
  readonly permit: object;
  readonly typeKey: string;
  readonly usedAt: number;
  /** The idle baseline when it started. */
  readonly baseline: number;
  releasedAt: number | null;
  /** Another task of ours started while this one ran: the readings no longer show it alone. */
  spoiled: boolean;
  /** Another task started after this one ended: later readings show that one, not this one. */
  closed: boolean;
  /** Highest and lowest reading taken after it started, and how many there were. */
  peak: number;
  low: number;
  readings: number;
}

/** What {@link SoloTaskLearner.reading} learned: the cost of a type, from one task that ran alone. */
export interface SoloTaskSample {
  typeKey: string;
  cost: number;
}

/**
 * Learns the cost of a task type from a task that ran alone and ended before it could settle.
 *
 * Why: a gate learns a type's cost only from readings in which every task shows in full and
 * nothing has moved for `settleMs` (a task may still be allocating). A task shorter than
 * `settleMs` never shows in full, so with no declared cost a supplier of such tasks admitted one at
 * a time forever (measured: 300-900 ms tasks at one at a time where eight fit). A task that ended
 * cannot grow any more, though: the highest reading from its start until `settleMs` after its end
 * (memory readings keep the worst of a recent window, and freed memory takes time to show) is all it
 * ever held, above the idle baseline.
 *
 * A task counts only when no other task of ours ran at any time during its run (readings then
 * show it alone; readings after the next task started are not its own: where memory is freed only
 * by a garbage collector, the next task's memory and this one's garbage would add up to twice its
 * size), when at least two readings followed its start, and when what it
 * showed is at least `minCost` (a task the readings never saw tells nothing: its type stays
 * unknown, and admission stays one probe at a time). The baseline it is measured from is the idle
 * baseline when it started, or the lowest reading while followed if usage fell below it (so usage
 * that fell elsewhere meanwhile makes the cost look larger, not smaller).
 *
 * @example
 * ```ts
 * import { SoloTaskLearner } from 'slotwise/internal/suppliers/solo-task-learner.js';
 * const learner = new SoloTaskLearner(1000);
 * const permit = {};
 * learner.used(permit, 'activities/resize', 0, 100, false);
 * learner.reading(100, 300, 10);
 * learner.reading(200, 300, 10);
 * learner.released(permit, 400);
 * learner.reading(1400, 120, 10); // => [{ typeKey: 'activities/resize', cost: 200 }]
 * ```
 */
export class SoloTaskLearner {
  readonly #settleMs: number;
  #episodes: Episode[] = [];

  constructor(settleMs: number) {
    this.#settleMs = settleMs;
  }

  /**
   * A permit was marked used for a task of `typeKey` whose cost is unknown (`null`: known, or no
   * type): follow it when `othersRunning` is false and an idle `baseline` exists. Any task starting
   * spoils the tasks followed that still run.
   */
  used(
    permit: object,
    typeKey: string | null,
    at: number,
    baseline: number | null,
    othersRunning: boolean,
  ): void {
    for (const episode of this.#episodes) {
      if (episode.releasedAt === null) episode.spoiled = true;
      else episode.closed = true;
    }
    if (typeKey === null || baseline === null || othersRunning) return;
    this.#episodes.push({
      permit,
      typeKey,
      usedAt: at,
      baseline,
      releasedAt: null,
      spoiled: false,
      closed: false,
      peak: Number.NEGATIVE_INFINITY,
      low: Number.POSITIVE_INFINITY,
      readings: 0,
    });
  }

  /** A permit was released; a followed task is followed for `settleMs` more. */
  released(permit: object, at: number): void {
    for (const episode of this.#episodes) if (episode.permit === permit) episode.releasedAt ??= at;
  }

  /**
   * Takes in a reading (`used` at time `at`); returns the costs learned from the tasks whose
   * following ended with it.
   */
  reading(at: number, used: number, minCost: number): SoloTaskSample[] {
    if (this.#episodes.length === 0) return [];
    const learned: SoloTaskSample[] = [];
    this.#episodes = this.#episodes.filter((episode) => {
      if (at > episode.usedAt && !episode.closed) {
        episode.peak = Math.max(episode.peak, used);
        episode.low = Math.min(episode.low, used);
        episode.readings++;
      }
      if (episode.releasedAt === null || at < episode.releasedAt + this.#settleMs) return true;
      const cost = episode.peak - Math.min(episode.baseline, episode.low);
      if (!episode.spoiled && episode.readings >= 2 && cost >= minCost) {
        learned.push({ typeKey: episode.typeKey, cost });
      }
      return false;
    });
    return learned;
  }

  /** How many tasks are followed (tests). */
  get following(): number {
    return this.#episodes.length;
  }
}
