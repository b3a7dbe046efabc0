import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A tiny HTTP counter the activities of several Worker processes report to: `POST /start` before an
 * activity works and `POST /end` after it worked, each awaited. An activity counts from the moment
 * its start reached the counter until its end did, an interval inside the one its slot was held, so
 * the counter never shows more running than held slots, and shows every overlap of their work.
 */
export interface ConcurrencyCounter {
  readonly url: string;
  /** Activities running now. */
  readonly running: number;
  /** Most activities running at once so far. */
  readonly max: number;
  /** Starts and ends seen. */
  readonly started: number;
  readonly ended: number;
  /** `[ms since the counter started, running]` after every change. */
  readonly timeline: ReadonlyArray<readonly [number, number]>;
  /** Every activity attempt that reported its start: when it started and ended (counter ms), and its process. */
  readonly intervals: ReadonlyArray<ActivityInterval>;
  /** Milliseconds since the counter started (the timeline's clock). */
  now(): number;
  /**
   * The counter's clock at `performance.timeOrigin + performance.now()` of any process on this machine
   * (an absolute high-resolution time), so other processes' timestamps line up with the timeline.
   */
  fromAbsolute(absoluteMs: number): number;
  /** The activities of process `pid` stop counting now (it was killed); returns how many. */
  dropProcess(pid: number): number;
  close(): Promise<void>;
}

/** One activity attempt as the counter saw it. */
export interface ActivityInterval {
  id: string;
  pid: number;
  start: number;
  /** Undefined while it runs, or when its process was dropped. */
  end: number | undefined;
}

export async function startConcurrencyCounter(): Promise<ConcurrencyCounter> {
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const running = new Map<string, number>(); // activity attempt id -> pid
  const intervals: ActivityInterval[] = [];
  const open = new Map<string, ActivityInterval>();
  const timeline: Array<readonly [number, number]> = [[0, 0]];
  let max = 0;
  let started = 0;
  let ended = 0;
  const record = () => {
    max = Math.max(max, running.size);
    timeline.push([now(), running.size]);
  };
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://counter');
    const id = url.searchParams.get('id') ?? '';
    const pid = Number(url.searchParams.get('pid'));
    if (url.pathname === '/start') {
      started++;
      running.set(id, pid);
      const interval: ActivityInterval = { id, pid, start: now(), end: undefined };
      intervals.push(interval);
      open.set(id, interval);
      record();
    } else if (url.pathname === '/end') {
      ended++;
      if (running.delete(id)) record();
      const interval = open.get(id);
      if (interval) {
        interval.end = now();
        open.delete(id);
      }
    }
    response.end('ok');
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get running() {
      return running.size;
    },
    get max() {
      return max;
    },
    get started() {
      return started;
    },
    get ended() {
      return ended;
    },
    timeline,
    intervals,
    now,
    fromAbsolute: (absoluteMs) => absoluteMs - performance.timeOrigin - t0,
    dropProcess(pid) {
      let dropped = 0;
      for (const [id, owner] of [...running]) {
        if (owner === pid) {
          running.delete(id);
          open.delete(id);
          dropped++;
        }
      }
      if (dropped > 0) record();
      return dropped;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The share of `[from, to]` (counter milliseconds) during which exactly `level` activities ran, from
 * a counter's timeline.
 */
export function shareAtLevel(
  timeline: ReadonlyArray<readonly [number, number]>,
  level: number,
  from: number,
  to: number,
): number {
  if (to <= from) return 0;
  let at = 0;
  for (let i = 0; i < timeline.length; i++) {
    const [t, value] = timeline[i]!;
    const next = i + 1 < timeline.length ? timeline[i + 1]![0] : to;
    const start = Math.max(t, from);
    const end = Math.min(next, to);
    if (end > start && value === level) at += end - start;
  }
  return at / (to - from);
}

/** The time-averaged value of a step `timeline` over `[from, to]` (mean activities running, for a counter's). */
export function meanLevel(
  timeline: ReadonlyArray<readonly [number, number]>,
  from: number,
  to: number,
): number {
  if (to <= from) return 0;
  let area = 0;
  for (let i = 0; i < timeline.length; i++) {
    const [t, value] = timeline[i]!;
    const next = i + 1 < timeline.length ? timeline[i + 1]![0] : to;
    const start = Math.max(t, from);
    const end = Math.min(next, to);
    if (end > start) area += (end - start) * value;
  }
  return area / (to - from);
}

/**
 * Dispatch gaps: for every activity that ended before `until`, the time from its end to the start of the
 * activity that took its place (the earliest start at or after its end not already taken by an earlier
 * end), anywhere in the fleet. While work is queued, a slot stays empty for exactly this long.
 */
export function dispatchGaps(intervals: ReadonlyArray<ActivityInterval>, until: number): number[] {
  const ends = intervals
    .map((i) => i.end)
    .filter((end): end is number => end !== undefined && end < until)
    .sort((a, b) => a - b);
  const starts = intervals.map((i) => i.start).sort((a, b) => a - b);
  const gaps: number[] = [];
  let next = 0;
  for (const end of ends) {
    while (next < starts.length && starts[next]! < end) next++;
    if (next >= starts.length) break;
    gaps.push(starts[next]! - end);
    next++;
  }
  return gaps;
}

/**
 * A step timeline from `+1`/`-1` events (`[time, delta]`, any order), starting at 0: for permits issued
 * or used, from a supplier's reserve/markUsed/release times.
 */
export function timelineOf(
  events: ReadonlyArray<readonly [number, number]>,
): Array<readonly [number, number]> {
  const sorted = [...events].sort((a, b) => a[0] - b[0]);
  const timeline: Array<readonly [number, number]> = [[Number.NEGATIVE_INFINITY, 0]];
  let level = 0;
  for (const [t, delta] of sorted) {
    level += delta;
    timeline.push([t, level]);
  }
  return timeline;
}

/**
 * The window during which every group still had work queued, from intervals grouped by `groupOf`
 * (the bench groups by workflow, one per task queue): from the latest of the groups' first starts
 * to the earliest of their last starts. `null` when there are no intervals or the groups' windows
 * do not overlap. While one group has run dry and others have not, a permit given to a poller of
 * the dry group waits for a task that does not come; inside this window no poller waits for that.
 */
export function everyGroupWindow(
  intervals: ReadonlyArray<ActivityInterval>,
  groupOf: (interval: ActivityInterval) => string,
): { from: number; to: number } | null {
  const spans = new Map<string, { first: number; last: number }>();
  for (const interval of intervals) {
    const group = groupOf(interval);
    const span = spans.get(group);
    if (span === undefined) spans.set(group, { first: interval.start, last: interval.start });
    else {
      span.first = Math.min(span.first, interval.start);
      span.last = Math.max(span.last, interval.start);
    }
  }
  if (spans.size === 0) return null;
  const from = Math.max(...[...spans.values()].map((s) => s.first));
  const to = Math.min(...[...spans.values()].map((s) => s.last));
  return to > from ? { from, to } : null;
}
