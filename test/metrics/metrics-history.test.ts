import { describe, expect, it } from 'vitest';
import { MetricsHistory } from '../../src/metrics/metrics-history.js';

const at = (time: number) => ({ time, suppliers: [] });

describe('MetricsHistory', () => {
  it('push() keeps the newest `capacity` samples, oldest first', () => {
    const history = new MetricsHistory(3);
    expect([history.size, history.since(), history.latest()]).toEqual([0, [], undefined]);
    for (let t = 1; t <= 7; t++) history.push(at(t));
    expect(history.size).toBe(3);
    expect(history.since().map((s) => s.time)).toEqual([5, 6, 7]);
    expect(history.latest()?.time).toBe(7);
  });

  it('since() returns only the samples taken after the given time', () => {
    const history = new MetricsHistory(5);
    for (const t of [10, 20, 30]) history.push(at(t));
    expect(history.since(20).map((s) => s.time)).toEqual([30]);
    expect(history.since(30)).toEqual([]);
    expect(history.since(0).map((s) => s.time)).toEqual([10, 20, 30]);
  });

  it('constructor() rejects a capacity that is not a positive integer', () => {
    expect(() => new MetricsHistory(0)).toThrow(
      'MetricsHistory: expected `capacity` to be an integer >= 1, got `0` (number).',
    );
  });
});
