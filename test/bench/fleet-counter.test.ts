import { describe, expect, it } from 'vitest';
import {
  type ActivityInterval,
  dispatchGaps,
  everyGroupWindow,
  meanLevel,
  shareAtLevel,
  timelineOf,
} from '../../bench/lib/fleet/concurrency-counter.js';

const interval = (start: number, end: number | undefined, pid = 1): ActivityInterval => ({
  id: `${start}`,
  pid,
  start,
  end,
});

describe('fleet bench counter arithmetic', () => {
  // Two slots: 0..100 at 2, 100..110 at 1 (one slot between tasks), 110..200 at 2.
  const timeline = [
    [0, 0],
    [0, 1],
    [0, 2],
    [100, 1],
    [110, 2],
  ] as const;

  it('meanLevel is the time-averaged level over the window, next to the share at the level', () => {
    expect(meanLevel(timeline, 0, 200)).toBeCloseTo((100 * 2 + 10 * 1 + 90 * 2) / 200, 10);
    expect(shareAtLevel(timeline, 2, 0, 200)).toBeCloseTo(190 / 200, 10);
    expect(meanLevel(timeline, 100, 110)).toBe(1);
    expect(meanLevel(timeline, 50, 50)).toBe(0);
  });

  it('dispatchGaps pairs each end with the first start after it that no earlier end took', () => {
    const intervals = [
      interval(0, 100),
      interval(0, 105),
      interval(110, 300),
      interval(107, 290),
      interval(400, undefined),
    ];
    // Ends 100, 105, 290, 300 (all before `until`); starts after the first wave: 107, 110, 400. The
    // end at 300 has no start left to take its place.
    expect(dispatchGaps(intervals, 350)).toEqual([7, 5, 110]);
    // An end with no later start ends the list (the queue ran dry).
    expect(dispatchGaps([interval(0, 10), interval(0, 20), interval(15, 30)], 100)).toEqual([5]);
    // Ends at or after `until` do not count.
    expect(dispatchGaps(intervals, 101)).toEqual([7]);
  });

  it('timelineOf builds a step timeline from +1/-1 events in any order', () => {
    const steps = timelineOf([
      [30, -1],
      [10, 1],
      [20, 1],
      [40, -1],
    ]);
    expect(steps).toEqual([
      [Number.NEGATIVE_INFINITY, 0],
      [10, 1],
      [20, 2],
      [30, 1],
      [40, 0],
    ]);
    expect(meanLevel(steps, 0, 50)).toBeCloseTo((10 * 1 + 10 * 2 + 10 * 1) / 50, 10);
  });

  it('everyGroupWindow is the time every group still had starts ahead: latest first start to earliest last start', () => {
    const of = (id: string, start: number): ActivityInterval => ({ id, pid: 1, start, end: start + 50 });
    const intervals = [
      of('q0/1', 0),
      of('q0/2', 300),
      of('q1/1', 20),
      of('q1/2', 900),
      of('q2/1', 40),
      of('q2/2', 500),
    ];
    const byQueue = (i: ActivityInterval) => i.id.split('/')[0]!;
    // q2 starts last (40); q0 runs dry first (its last start at 300).
    expect(everyGroupWindow(intervals, byQueue)).toEqual({ from: 40, to: 300 });
    // One group: its own first to last start.
    expect(everyGroupWindow(intervals.slice(0, 2), byQueue)).toEqual({ from: 0, to: 300 });
    // Windows that do not overlap, and no intervals at all.
    expect(everyGroupWindow([of('a/1', 0), of('a/2', 10), of('b/1', 20), of('b/2', 30)], byQueue)).toBeNull();
    expect(everyGroupWindow([], byQueue)).toBeNull();
  });
});
