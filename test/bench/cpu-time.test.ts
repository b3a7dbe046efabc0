import { describe, expect, it } from 'vitest';
import { coresBusy, cpuMicrosBetween, cpuMicrosPerTask, loopUtilization } from '../../bench/lib/cpu-time.js';
import { ratioSummary } from '../../bench/lib/stats.js';

describe('Worker child CPU time arithmetic', () => {
  const before = { userUs: 1_000_000, systemUs: 250_000, loopActiveMs: 100, loopIdleMs: 900 };
  const after = { userUs: 2_500_000, systemUs: 750_000, loopActiveMs: 400, loopIdleMs: 1600 };

  it('adds user and system time spent between two samples', () => {
    expect(cpuMicrosBetween(before, after)).toBe(2_000_000);
    expect(cpuMicrosBetween(before, before)).toBe(0);
  });

  it('divides it by the activities completed', () => {
    expect(cpuMicrosPerTask(before, after, 2000)).toBe(1000);
    expect(cpuMicrosPerTask(before, after, 3)).toBeCloseTo(666_666.667, 3);
  });

  it('is NaN, not 0 or Infinity, when nothing completed or a sample is missing', () => {
    expect(cpuMicrosPerTask(before, after, 0)).toBeNaN();
    expect(cpuMicrosPerTask(null, after, 10)).toBeNaN();
    expect(cpuMicrosPerTask(before, null, 10)).toBeNaN();
    expect(cpuMicrosBetween(null, null)).toBeNaN();
  });

  it('refuses samples taken in the wrong order', () => {
    expect(() => cpuMicrosBetween(after, before)).toThrow(/backwards .*-2000000 us/);
  });

  it('gives the cores kept busy over the wall time', () => {
    expect(coresBusy(before, after, 4)).toBe(0.5);
    expect(coresBusy(before, after, 0)).toBeNaN();
    expect(coresBusy(null, after, 4)).toBeNaN();
  });

  it("gives the main thread's event-loop utilization over the window, not since the child started", () => {
    // 300 ms busy and 700 ms idle in the window; 0.25 busy since the start.
    expect(loopUtilization(before, after)).toBe(0.3);
    expect(loopUtilization(before, before)).toBeNaN();
    expect(loopUtilization(before, null)).toBeNaN();
  });

  it('feeds per-round ratios that skip a round whose figure is missing', () => {
    const slotwise = [cpuMicrosPerTask(before, after, 1600), Number.NaN, 1100];
    const builtin = [1000, 1000, 1000];
    const r = ratioSummary(slotwise, builtin);
    expect(r.n).toBe(2);
    expect(r.min).toBe(1.1);
    expect(r.max).toBe(1.25);
  });
});
