import { describe, expect, it } from 'vitest';
import { type GateTask, ResourceGate } from '../../src/suppliers/resource-gate.js';

const L = 1000;

/** A task of `cost` (`null`: unknown) that the reading shows `[low, high]` of. */
function task(
  cost: number | null,
  shown: readonly [number, number],
  options: { declared?: boolean; typeKey?: string | null; live?: boolean } = {},
): GateTask {
  return {
    cost,
    declared: options.declared ?? cost !== null,
    typeKey: options.typeKey ?? null,
    live: options.live ?? true,
    shown,
  };
}

const reading = (used: number, at = 0) => ({ used, limit: L, at });

describe('ResourceGate', () => {
  it('admits() fills exactly floor((target x limit - idle) / cost) with declared costs', () => {
    for (const [idle, cost, target] of [
      [144, 128, 0.9],
      [0, 100, 0.8],
      [37, 7, 0.95],
      [500, 250, 0.75],
    ] as const) {
      const gate = new ResourceGate({ target, hysteresis: 0.05 });
      gate.observe(reading(idle), [], true);
      const live: GateTask[] = [];
      while (gate.admits(live, cost, L)) live.push(task(cost, [0, 0]));
      expect(live.length).toBe(Math.floor((target * L - idle) / cost));
      expect(gate.room([], cost, L)).toBe(Math.floor((target * L - idle) / cost));
    }
  });

  it('observe() never counts a task twice: a starting task is in the reading or at its cost, not both', () => {
    const gate = new ResourceGate({ target: 0.9, hysteresis: 0 });
    gate.observe(reading(100), [], true);
    const starting = [task(200, [0, 1]), task(200, [0, 1])];
    for (const used of [100, 250, 400, 500]) {
      // However much of the two tasks the reading shows, outside stays 100: 100 + 2 x 200 + 200 = 700.
      gate.observe(reading(used), starting, false);
      expect(gate.learning.outside).toBe(100);
      expect(gate.project(starting, 200)).toBe(700);
    }
  });

  it('observe() follows a rise outside our tasks at once, and keeps it until tasks show in full', () => {
    const gate = new ResourceGate({ target: 0.9, hysteresis: 0 });
    gate.observe(reading(100), [], true);
    const starting = [task(200, [0, 1])];
    gate.observe(reading(650), starting, false); // 650 - 200 at most ours: 450 is someone else's
    expect(gate.learning.outside).toBe(450);
    expect(gate.admits(starting, 200, L)).toBe(true); // 450 + 200 + 200 = 850 <= 900
    expect(gate.admits([...starting, task(200, [0, 0])], 200, L)).toBe(false); // 1050
    gate.observe(reading(550), starting, false); // could be our task allocating: keep 450
    expect(gate.learning.outside).toBe(450);
    gate.observe(reading(300), [task(200, [1, 1])], true); // settled: 300 - 200 = 100 (the baseline)
    expect(gate.learning.outside).toBe(100);
  });

  it('observe() with exact shares (CPU) follows the reading both ways, below the baseline too', () => {
    const gate = new ResourceGate({ target: 0.8, hysteresis: 0, costsAreBounds: false });
    gate.observe(reading(50), [], true);
    gate.observe(reading(50 + 0.4 * 100), [task(100, [0.4, 0.4])], true);
    expect(gate.learning.outside).toBeCloseTo(50, 9);
    gate.observe(reading(30 + 80), [task(100, [0.8, 0.8])], true);
    expect(gate.learning.outside).toBeCloseTo(30, 9);
    gate.observe(reading(100), [task(100, [1, 1])], true); // the task uses less than declared
    expect(gate.learning.outside).toBeCloseTo(0, 9);
  });

  it('observe() learns a type from readings every task shows in, never below 0.1 % of the limit', () => {
    const gate = new ResourceGate({ target: 0.9, hysteresis: 0 });
    gate.observe(reading(100), [], true);
    const a = (shown: readonly [number, number]) =>
      task(null, shown, { declared: false, typeKey: 'activities/a' });
    gate.observe(reading(100), [a([0, 1])], false); // starting: nothing to learn
    expect(gate.learnedCost('activities/a')).toBeUndefined();
    gate.observe(reading(100), [a([1, 1])], true); // shows in full but uses nothing: not learned as 0
    expect(gate.learnedCost('activities/a')).toBeUndefined();
    gate.observe(reading(400), [a([1, 1]), a([1, 1])], true);
    expect(gate.learnedCost('activities/a')).toBe(150);
    gate.observe(reading(100.5), [a([1, 1]), a([1, 1])], true); // falls by 0.3 x the error, not to 0.25
    expect(gate.learnedCost('activities/a')).toBeCloseTo(150 + (0.3 * (0.5 - 300)) / 2, 9);
    for (let i = 0; i < 50; i++) gate.observe(reading(100), [a([1, 1]), a([1, 1])], true);
    expect(gate.learnedCost('activities/a')).toBe(1); // 0.1 % of 1000
  });

  it('observe() learns the baseline and the cost from two load levels when a task showed in the first reading', () => {
    const gate = new ResourceGate({ target: 0.9, hysteresis: 0 });
    const a = (shown: readonly [number, number]) =>
      task(null, shown, { declared: false, typeKey: 'activities/a' });
    gate.observe(reading(220), [a([1, 1])], true); // 100 idle + 120 of ours, unknown which is which
    expect(gate.learning).toMatchObject({ baseline: null, outside: 220 });
    expect(gate.admits([a([1, 1])], null, L)).toBe(true); // a second probe, its cost unknown
    expect(gate.admits([a([1, 1]), a([0, 0])], null, L)).toBe(false); // but one at a time
    gate.observe(reading(340), [a([1, 1]), a([1, 1])], true);
    expect(gate.learning).toMatchObject({ baseline: 100, baselineSource: 'levels' });
    expect(gate.learnedCost('activities/a')).toBe(120);
  });

  it('admits() probes one task of unknown cost at a time, each once it shows in a settled reading', () => {
    const gate = new ResourceGate({ target: 0.9, hysteresis: 0 });
    gate.observe(reading(100), [], true);
    expect(gate.admits([], null, L)).toBe(true);
    const probe = (shown: readonly [number, number]) =>
      task(null, shown, { declared: false, typeKey: 'activities/a' });
    expect(gate.admits([task(null, [0, 0])], null, L)).toBe(false); // waiting for its task
    expect(gate.admits([probe([0, 1])], null, L)).toBe(false); // starting
    gate.observe(reading(100), [probe([1, 1])], false); // shows, but readings still rise
    expect(gate.admits([probe([1, 1])], null, L)).toBe(false);
  });

  it('admits() reopens after a refusal below the hysteresis band, or when a task leaves', () => {
    // target 800, band 700, tasks of 100 waiting for their task (the reading shows none of them).
    const permits = (n: number) => Array.from({ length: n }, () => task(100, [0, 0]));
    const noisy = new ResourceGate({ target: 0.8, hysteresis: 0.1 });
    noisy.observe(reading(50), [], true);
    expect(noisy.admits(permits(7), 100, L)).toBe(false); // 50 + 700 + 100 = 850: closed
    noisy.observe(reading(0), [], true); // 50 less outside: 800 fits, but is no task's worth lower
    expect(noisy.admits(permits(7), 100, L)).toBe(false);
    expect(noisy.admits(permits(6), 100, L)).toBe(true); // a task left: 700
    expect(noisy.admits(permits(7), 100, L)).toBe(true); // open again: 800 <= 800

    const released = new ResourceGate({ target: 0.8, hysteresis: 0.1 });
    released.observe(reading(50), [], true);
    expect(released.admits(permits(7), 100, L)).toBe(false); // closed at 850
    released.observe(reading(80), [], true);
    expect(released.admits(permits(7), 100, L)).toBe(false); // 880, the highest since the refusal
    expect(released.admits(permits(6), 100, L)).toBe(true); // 780: above the band, but a task below 880
  });
});
