import type { SlotEvent } from './child-protocol.js';
import { type ActivityInterval, meanLevel, timelineOf } from './concurrency-counter.js';

// How the task queues of a fleet run drained: where each queue's work started and ended, which
// process ran how much of it, how far the queues drifted apart, and how long permits waited on a
// queue that had run dry. Scenario 6 prints these beside its shares, so an uneven drain can be told
// apart by its cause: a queue polled late, queues dispatched unevenly, or leases parked on polls of
// a queue with no work left.

/** One task queue's part of a run (counter milliseconds). */
export interface QueueDrain {
  queue: string;
  /** First and last activity start on it. */
  first: number;
  last: number;
  /** Activity starts on it per process, in the order of `pids`. */
  startsByProcess: number[];
}

/**
 * Per task queue: its first and last start and its starts per process (`pids` in the order wanted;
 * a pid not listed is not counted). Queues are named by `queueOf` and listed in `queues` order; a
 * queue with no start is left out.
 */
export function queueDrains(
  intervals: ReadonlyArray<ActivityInterval>,
  queueOf: (interval: ActivityInterval) => string,
  queues: readonly string[],
  pids: readonly number[],
): QueueDrain[] {
  const drains: QueueDrain[] = [];
  for (const queue of queues) {
    const mine = intervals.filter((interval) => queueOf(interval) === queue);
    if (mine.length === 0) continue;
    drains.push({
      queue,
      first: Math.min(...mine.map((interval) => interval.start)),
      last: Math.max(...mine.map((interval) => interval.start)),
      startsByProcess: pids.map((pid) => mine.filter((interval) => interval.pid === pid).length),
    });
  }
  return drains;
}

/**
 * The most starts by which one queue was ahead of another at any moment: replaying the starts in
 * time order, the largest difference between the queues' counts of starts so far. A fleet that serves
 * its queues in turn keeps it small; a queue nobody polls falls behind by as many as the others start.
 */
export function startSkew(
  intervals: ReadonlyArray<ActivityInterval>,
  queueOf: (interval: ActivityInterval) => string,
  queues: readonly string[],
): number {
  const counts = new Map(queues.map((queue) => [queue, 0]));
  let skew = 0;
  for (const interval of [...intervals].sort((a, b) => a.start - b.start)) {
    const queue = queueOf(interval);
    if (!counts.has(queue)) continue;
    counts.set(queue, counts.get(queue)! + 1);
    const values = [...counts.values()];
    skew = Math.max(skew, Math.max(...values) - Math.min(...values));
  }
  return skew;
}

/** How a permit change moves the count of pollers without a task: issued adds, used takes away. */
const idleDelta = (kind: SlotEvent[1], delta: SlotEvent[2]): number => (kind === 'issued' ? delta : -delta);

/**
 * Permit-milliseconds spent by pollers without a task on each queue after its last start, up to
 * `to` (counter ms): permits parked on a queue that had run dry while other queues still had work.
 * `events` carry absolute times (see {@link SlotEvent}); `fromAbsolute` maps them to counter time.
 * Events from before `SlotEvent` named its queue are ignored.
 */
export function idleOnDryQueues(
  events: ReadonlyArray<SlotEvent>,
  fromAbsolute: (absoluteMs: number) => number,
  drains: readonly QueueDrain[],
  to: number,
): Map<string, number> {
  const idle = new Map<string, number>();
  for (const drain of drains) {
    // One timeline of pollers without a task (issued minus used), not one of each to subtract.
    const waiting = timelineOf(
      events
        .filter((event) => event[3] === drain.queue)
        .map(([t, kind, delta]) => [fromAbsolute(t), idleDelta(kind, delta)] as const),
    );
    const from = drain.last;
    const span = Math.max(0, to - from);
    idle.set(drain.queue, span === 0 ? 0 : meanLevel(waiting, from, to) * span);
  }
  return idle;
}

/**
 * Pollers without a task on each queue at counter time `at` (permits issued and not used), from
 * every process's {@link SlotEvent}s: at the start of the work, which queues were polled at all.
 */
export function idlePollsAt(
  events: ReadonlyArray<SlotEvent>,
  fromAbsolute: (absoluteMs: number) => number,
  queues: readonly string[],
  at: number,
): number[] {
  return queues.map((queue) => {
    let level = 0;
    for (const [t, kind, delta, q] of events) {
      if (q !== queue || fromAbsolute(t) > at) continue;
      level += idleDelta(kind, delta);
    }
    return level;
  });
}

/** A process's leases over a run, from its state messages. */
export interface HeldLeases {
  mean: number;
  min: number;
  max: number;
  /** State messages in the window. */
  samples: number;
}

/**
 * The leases a process held over `[from, to]` (counter ms), from `[counter ms, held]` samples:
 * time-weighted mean from the first sample that applies (each holds until the next), least and
 * most. `null` with no sample in or before the window.
 */
export function heldLeases(
  samples: ReadonlyArray<readonly [number, number]>,
  from: number,
  to: number,
): HeldLeases | null {
  const sorted = [...samples].sort((a, b) => a[0] - b[0]);
  const before = sorted.filter(([t]) => t <= from).at(-1);
  const inside = sorted.filter(([t]) => t > from && t < to);
  const steps = before === undefined ? inside : [[from, before[1]] as const, ...inside];
  if (steps.length === 0 || to <= from) return null;
  const values = steps.map(([, held]) => held);
  return {
    mean: meanLevel(steps, steps[0]![0], to),
    min: Math.min(...values),
    max: Math.max(...values),
    samples: inside.length,
  };
}
