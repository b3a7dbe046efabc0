import { describe, expect, it } from 'vitest';
import { SoloTaskLearner } from '../../src/suppliers/solo-task-learner.js';

const T = 'activities/short';

/** A task of `type` from `start` to `end` on a fresh learner (settle 1000 ms), readings every 100 ms of `usage(t)`. */
function run(usage: (t: number) => number, { start = 0, end = 600, minCost = 5 } = {}) {
  const learner = new SoloTaskLearner(1000);
  const permit = {};
  const learned = [];
  learner.used(permit, T, start, 100, false);
  for (let t = 100; t <= 3000; t += 100) {
    if (t === end) learner.released(permit, t);
    learned.push(...learner.reading(t, usage(t), minCost));
  }
  return { learned, following: learner.following };
}

describe('SoloTaskLearner', () => {
  it('learns what a task that ran alone held above the idle baseline, settleMs after it ended', () => {
    const learner = new SoloTaskLearner(1000);
    const permit = {};
    learner.used(permit, T, 0, 100, false);
    expect(learner.reading(100, 300, 5)).toEqual([]);
    expect(learner.reading(200, 300, 5)).toEqual([]);
    learner.released(permit, 400);
    expect(learner.reading(1300, 120, 5)).toEqual([]); // still followed: freed memory may show late
    expect(learner.reading(1400, 120, 5)).toEqual([{ typeKey: T, cost: 200 }]);
    expect(learner.following).toBe(0);
  });

  it('takes the highest reading of the whole run: a task still allocating when it ended', () => {
    // 10 per 100 ms up to its end at 600 ms: it held 60 at most.
    const { learned } = run((t) => 100 + Math.min(t, 600) / 10);
    expect(learned).toEqual([{ typeKey: T, cost: 60 }]);
  });

  it('measures from the lowest reading when usage elsewhere fell below the baseline (the cost looks larger)', () => {
    const { learned } = run((t) => (t < 300 ? 150 : 60));
    expect(learned).toEqual([{ typeKey: T, cost: 150 - 60 }]);
  });

  it('learns nothing from a task the readings barely saw, or that had fewer than two readings', () => {
    expect(run(() => 104).learned).toEqual([]); // 4 < minCost 5
    const once = new SoloTaskLearner(1000);
    const permit = {};
    once.used(permit, T, 0, 100, false);
    once.released(permit, 50);
    expect(once.reading(1100, 400, 5)).toEqual([]); // one reading after it started
  });

  it('learns nothing from a task another task ran beside, or that started beside others', () => {
    const learner = new SoloTaskLearner(1000);
    const [a, b] = [{}, {}];
    learner.used(a, T, 0, 100, false);
    learner.reading(100, 300, 5);
    learner.used(b, null, 150, 100, false); // a known-cost task starts while a runs: a is spoiled
    learner.released(a, 300);
    learner.released(b, 300);
    for (let t = 200; t <= 2000; t += 100) expect(learner.reading(t, 300, 5)).toEqual([]);
    learner.used({}, T, 2100, 100, true);
    expect(learner.following).toBe(0);
  });

  it("readings after the next task started are not the ended task's (its garbage and the next task would add up)", () => {
    const learner = new SoloTaskLearner(1000);
    const [a, b] = [{}, {}];
    learner.used(a, T, 0, 100, false);
    learner.reading(100, 300, 5);
    learner.reading(200, 300, 5);
    learner.released(a, 300);
    learner.used(b, T, 300, 100, false);
    const learned = [];
    // a's 200 MiB still resident (garbage not collected) while b allocates its own 200.
    for (let t = 400; t <= 1300; t += 100) learned.push(...learner.reading(t, 500, 5));
    expect(learned).toEqual([{ typeKey: T, cost: 200 }]);
    expect(learner.following).toBe(1);
  });
});
