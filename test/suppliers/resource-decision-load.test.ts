import type { SlotInfo } from '@temporalio/worker';
import { describe, expect, it, vi } from 'vitest';
import { CpuSlotSupplier } from '../../src/suppliers/cpu-slot-supplier.js';
import { HeapSlotSupplier } from '../../src/suppliers/heap-slot-supplier.js';
import {
  MemorySlotSupplier,
  type MemorySlotSupplierOptions,
} from '../../src/suppliers/memory-slot-supplier.js';
import type { PermitRecord } from '../../src/suppliers/permit-ledger.js';
import type { GateLoad, GateTask, ResourceGate } from '../../src/suppliers/resource-gate.js';
import type { SlotwisePermit } from '../../src/suppliers/types.js';
import { activityInfo, reserveCtx, workflowInfo } from '../helpers/fakes.js';
import { FakeSampler, GiB, handDriven, MiB } from './fixtures/fake-sampler.js';
import { expectSameLoad, RandomRun, random, summedKinds } from './fixtures/random-run.js';

// A decision sums the tasks in one pass (`load()`); learning and tests see them one by one
// (`tasks()`). Both must describe the same tasks, or admission and learning disagree.

class MemoryProbe extends MemorySlotSupplier {
  both(): [GateLoad, GateLoad] {
    return [this.load(), this.gate.loadOf(this.tasks())];
  }
  /** Σ cost x the most shown of the released tasks the gate takes in. */
  releasedAtMost(): number {
    let sum = 0;
    for (const task of this.tasks()) if (!task.live) sum += (task.cost ?? 0) * task.shown[1];
    return sum;
  }
  /** What the gate made of the latest reading, and the tasks it took in. */
  state(): GateState {
    return gateState(this.gate, this.load(), this.tasks());
  }
  followedReleases(): number {
    return this.recentReleases().length;
  }
}

class CpuProbe extends CpuSlotSupplier {
  both(): [GateLoad, GateLoad] {
    return [this.load(), this.gate.loadOf(this.tasks())];
  }
  gateEntries(): GateTask[] {
    return this.tasks();
  }
  outside(): number | null {
    return this.gate.learning.outside;
  }
  followedReleases(): number {
    return this.recentReleases().length;
  }
}

class HeapProbe extends HeapSlotSupplier {
  both(): [GateLoad, GateLoad] {
    return [this.load(), this.gate.loadOf(this.tasks())];
  }
  state(): GateState {
    return gateState(this.gate, this.load(), this.tasks());
  }
  followedReleases(): number {
    return this.recentReleases().length;
  }
}

/** What a gate made of the latest reading, and how many entries it took in. */
interface GateState {
  outside: number | null;
  baseline: number | null;
  projected: number | null;
  entries: number;
}

function gateState(gate: ResourceGate, load: GateLoad, tasks: readonly GateTask[]): GateState {
  const { outside, baseline } = gate.learning;
  return { outside, baseline, projected: gate.project(load, 0), entries: tasks.length };
}

/**
 * One task a millisecond for `ms` ms (1 in 4 of type `big`, the rest `small`), each released 0.5 ms
 * after it starts, with `reading(ms)` at the end of every 100 ms; `setNow` moves the test's clock.
 */
function thousandPerSecond(
  supplier: {
    tryReserveSlot: MemoryProbe['tryReserveSlot'];
    markSlotUsed: MemoryProbe['markSlotUsed'];
    releaseSlot: MemoryProbe['releaseSlot'];
  },
  ms: number,
  setNow: (at: number) => void,
  reading: (ms: number) => void,
): void {
  for (let at = 0; at < ms; at++) {
    setNow(at);
    const permit = supplier.tryReserveSlot(reserveCtx())!;
    supplier.markSlotUsed({ permit, slotInfo: activityInfo(at % 4 === 0 ? 'big' : 'small') });
    setNow(at + 0.5);
    supplier.releaseSlot({ permit });
    if (at % 100 === 99) {
      setNow(at + 1);
      reading(at);
    }
  }
}

/**
 * A probe on a fake sampler of `resource` and the test's clock `now`, with minSlots 0, target 0.9,
 * no ramp and `costs`.
 */
function drivenProbe<P>(
  Probe: new (options: MemorySlotSupplierOptions) => P,
  resource: 'cpu' | 'memory' | 'heap',
  now: () => number,
  costs: MemorySlotSupplierOptions['costs'],
  settleMs?: number,
): { sampler: FakeSampler; supplier: P } {
  const sampler = new FakeSampler({ [resource]: true }, now);
  const options = { ...handDriven(sampler, now), minSlots: 0, targetUtilization: 0.9, costs };
  return { sampler, supplier: new Probe(settleMs === undefined ? options : { ...options, settleMs }) };
}

const TYPES: SlotInfo[] = [
  activityInfo('declared'),
  activityInfo('learned'),
  activityInfo('other'),
  workflowInfo('flow'),
];

type Kind = 'memory' | 'cpu' | 'heap';

function probe(kind: Kind, seed: number, sampler: FakeSampler, now: () => number) {
  const common = {
    ...handDriven(sampler, now),
    minSlots: 0,
    maxSlots: 64,
    settleMs: 300,
    targetUtilization: 0.9,
  };
  // Odd seeds declare one type's cost (the others start at it); even seeds declare none, so
  // permits of unknown cost (probes) are counted too; from seed 6 on a default cost is
  // declared as well (a permit waiting for its task then has a known cost).
  const withDefault = seed >= 6;
  const declare = seed % 2 === 1 || withDefault;
  const costs = (dimension: 'memoryBytes' | 'cpu' | 'heapBytes', own: number, fallback: number) =>
    declare
      ? {
          costs: {
            activities: { declared: { [dimension]: own } },
            ...(withDefault ? { default: { [dimension]: fallback } } : {}),
          },
        }
      : {};
  if (kind === 'memory') return new MemoryProbe({ ...common, ...costs('memoryBytes', 64 * MiB, 48 * MiB) });
  if (kind === 'heap') return new HeapProbe({ ...common, ...costs('heapBytes', 64 * MiB, 48 * MiB) });
  return new CpuProbe({ ...common, ...costs('cpu', 0.25, 0.1) });
}

describe('a decision sums the same tasks learning lists', () => {
  for (const kind of ['memory', 'cpu', 'heap'] as const) {
    for (const seed of [1, 2, 3, 4, 5, 6, 7]) {
      it(`${kind}: seed ${seed}, reservations, tasks, releases, readings and limits in random order`, () => {
        const next = random(seed);
        let now = 0;
        const sampler = new FakeSampler({
          memory: kind === 'memory',
          cpu: kind === 'cpu',
          heap: kind === 'heap',
        });
        const supplier = probe(kind, seed, sampler, () => now);
        const declare = seed % 2 === 1 || seed >= 6;
        const run = new RandomRun<SlotwisePermit>(supplier, next, {
          odds: { reserve: 0.3, use: 0.5, release: 0.7, drop: 0.75, limits: 0.8 },
          // A workflow reservation now and then: its expected cost is its own family's.
          reserveContext: () => (next() < 0.15 ? reserveCtx('q', 'workflow') : reserveCtx()),
          taskOf: (permit) => (permit.slotType === 'workflow' ? TYPES[3]! : TYPES[Math.floor(next() * 3)]!),
        });
        let gcs = 0;
        const read = () => {
          const used = (200 + 50 * run.running.length + next() * 30) * MiB;
          if (kind === 'memory') sampler.memoryUsed(used, 4 * GiB);
          else if (kind === 'heap') sampler.heapUsed(used, 4 * GiB, next() < 0.3 ? ++gcs : gcs);
          else sampler.cpuBusy(0.2 + 0.2 * run.running.length + next() * 0.1, 8);
        };
        read();
        const seen = new Set<string>();
        const checks = run.steps(500, {
          advance: (ms) => (now += ms),
          otherwise: read,
          // Not after every step: the sum of what released tasks hold is kept from one decision to the
          // next, and must stay right over several releases between two of them.
          check: (step) => {
            const loads = supplier.both();
            expectSameLoad(loads, `seed ${seed} step ${step}`, 3);
            for (const summed of summedKinds(loads[1])) seen.add(summed);
          },
        });
        expect(checks).toBeGreaterThan(200);
        // The run must have reached every kind of task a decision sums, or it proved little. (With
        // nothing declared, permits of unknown cost must have been summed; a memory supplier may also
        // learn a cost from a task that ran alone, and then sums live and held tasks too.) CPU time
        // is never held after a task ends: a CPU decision never sums a held task.
        const held = kind === 'cpu' ? [] : ['held'];
        expect([...seen]).toEqual(expect.arrayContaining(declare ? [...held, 'live'] : ['unknown']));
        if (kind === 'cpu') expect(seen.has('held')).toBe(false);
        supplier.close();
      });
    }
  }
});

/**
 * A memory supplier (minSlots 1, settleMs 500, a stale bound of 1 s, `costs`) after one reading at 0 ms
 * and then `count` tasks run and released one by one on its minSlots permit, one every 10 ms (the last
 * at `count` x 10 ms). `shownReleased`: the release times `shown()` was asked about since.
 */
function releasing(count: number, costs?: MemorySlotSupplierOptions['costs']) {
  let now = 0;
  const sampler = new FakeSampler({ memory: true });
  const shownReleased: number[] = [];
  class Probe extends MemoryProbe {
    protected override shown(record: PermitRecord, releasedAt: number | undefined, at?: number) {
      if (releasedAt !== undefined) shownReleased.push(releasedAt);
      return super.shown(record, releasedAt, at);
    }
  }
  const supplier = new Probe({
    ...handDriven(sampler, () => now),
    minSlots: 1,
    settleMs: 500,
    staleAfterMs: 1000,
    ...(costs === undefined ? {} : { costs }),
  });
  sampler.memoryUsed(GiB, 4 * GiB);
  for (let i = 1; i <= count; i++) {
    now = i * 10;
    const permit = supplier.tryReserveSlot(reserveCtx());
    if (permit === null) throw new Error(`release ${i}: the minSlots permit was refused`);
    supplier.markSlotUsed({ permit, slotInfo: activityInfo() });
    supplier.releaseSlot({ permit });
  }
  return { supplier, sampler, shownReleased, advance: (ms: number) => (now += ms) };
}

describe('released tasks a decision follows', () => {
  it('are bounded by the stale bound while no reading comes (a stopped sampler)', () => {
    // Before: a release no reading had followed was kept whatever its age, so with the sampler
    // stopped every release of minSlots permits stayed, and every decision walked all of them.
    const { supplier, sampler } = releasing(500); // no cost declared
    // At 5000 ms, the releases of the last stale bound (4000..5000 ms) are kept: 101 of 500.
    expect(supplier.followedReleases()).toBe(101);

    // A reading after them: only those released less than settleMs ago (4510..5000 ms) still count.
    sampler.memoryUsed(GiB, 4 * GiB);
    expect(supplier.followedReleases()).toBe(50);
    supplier.close();
  });
});

describe('released tasks the memory and heap suppliers follow', () => {
  /** The same suppliers walking every release at every reading, as before they were counted per group. */
  class WalkingMemoryProbe extends MemoryProbe {
    protected override summedReleases(): boolean {
      return false;
    }
  }
  class WalkingHeapProbe extends HeapProbe {
    protected override summedReleases(): boolean {
      return false;
    }
    // Nor forgets at a full collection the releases it covers: each waits for its own check.
    protected override beforeObserve(): void {}
  }

  for (const kind of ['memory', 'heap'] as const) {
    for (const seed of [1, 2, 6]) {
      it(`${kind}: counts per cost group, and the gate makes of each reading what a walk made (seed ${seed})`, () => {
        const probes = kind === 'memory' ? [MemoryProbe, WalkingMemoryProbe] : [HeapProbe, WalkingHeapProbe];
        const runs = probes.map((Probe) => {
          const next = random(seed);
          let now = 0;
          const sampler = new FakeSampler({ memory: kind === 'memory', heap: kind === 'heap' }, () => now);
          const declare = seed % 2 === 1 || seed >= 6;
          const dimension = kind === 'memory' ? 'memoryBytes' : 'heapBytes';
          const supplier = new Probe({
            ...handDriven(sampler, () => now),
            minSlots: 0,
            maxSlots: 64,
            settleMs: 300,
            targetUtilization: 0.9,
            ...(declare
              ? {
                  costs: {
                    activities: { declared: { [dimension]: 64 * MiB } },
                    ...(seed >= 6 ? { default: { [dimension]: 48 * MiB } } : {}),
                  },
                }
              : {}),
          });
          const run = new RandomRun<SlotwisePermit>(supplier, next, {
            odds: { reserve: 0.4, use: 0.6, release: 0.85, drop: 0.88, limits: 0.9 },
            reserveContext: () => (next() < 0.15 ? reserveCtx('q', 'workflow') : reserveCtx()),
            taskOf: (permit) => (permit.slotType === 'workflow' ? TYPES[3]! : TYPES[Math.floor(next() * 3)]!),
          });
          const states: GateState[] = [];
          let gcs = 0;
          run.steps(600, {
            advance: (ms) => (now += ms),
            otherwise: () => {
              const used = (200 + 50 * run.running.length + next() * 30) * MiB;
              if (kind === 'memory') sampler.memoryUsed(used, 4 * GiB);
              else sampler.heapUsed(used, 4 * GiB, next() < 0.2 ? ++gcs : gcs);
              states.push(supplier.state());
            },
            check: () => {},
          });
          supplier.close();
          return states;
        });
        const [summed, walked] = runs as [GateState[], GateState[]];
        expect(summed.length).toBe(walked.length);
        expect(summed.length).toBeGreaterThan(20);
        let fewer = 0;
        for (const [i, state] of summed.entries()) {
          const other = walked[i]!;
          for (const key of ['outside', 'baseline', 'projected'] as const) {
            if (other[key] === null) expect(state[key], `reading ${i}: ${key}`).toBeNull();
            else expect(state[key], `reading ${i}: ${key}`).toBeCloseTo(other[key]!, 0);
          }
          if (state.entries < other.entries) fewer++;
        }
        // The point of it: fewer entries for the gate at readings that followed several releases.
        expect(fewer).toBeGreaterThan(5);
      });
    }
  }

  it('a thousand releases a second: one entry per cost group, counted on release and forget', () => {
    let now = 0;
    const { sampler, supplier } = drivenProbe(
      MemoryProbe,
      'memory',
      () => now,
      { default: { memoryBytes: MiB }, activities: { big: { memoryBytes: 8 * MiB } } },
      1000,
    );
    sampler.memoryUsed(GiB, 64 * GiB);
    thousandPerSecond(
      supplier,
      3000,
      (at) => (now = at),
      (ms) => {
        sampler.memoryUsed(GiB, 64 * GiB);
        // The releases of the last settleMs (1000 ms, or all so far): 1 in 4 of 8 MiB, the rest 1 MiB.
        const followed = Math.min(ms + 1, 1000);
        expect(supplier.state().entries, `at ${now} ms`).toBe(2);
        expect(supplier.followedReleases()).toBe(followed);
        // What the gate takes released tasks to hold at most: the whole cost of each.
        const mostHeld = (followed / 4) * 8 * MiB + ((followed * 3) / 4) * MiB;
        expect(supplier.releasedAtMost()).toBe(mostHeld);
      },
    );
    supplier.close();
  });
});

describe('released tasks the heap supplier follows', () => {
  it('are one entry per cost group until a full collection, which forgets every one before it', () => {
    // Before: each release was followed one by one until a reading saw a full collection after it,
    // for up to 30 s: a Worker at 1000 tasks/s and few full collections walked ~30,000 per reading.
    let now = 0;
    const { sampler, supplier } = drivenProbe(HeapProbe, 'heap', () => now, {
      default: { heapBytes: MiB },
      activities: { big: { heapBytes: 8 * MiB } },
    });
    let gcs = 0;
    sampler.heapUsed(GiB, 64 * GiB, gcs);
    thousandPerSecond(
      supplier,
      20_000,
      (at) => (now = at),
      (ms) => {
        // A full collection at 10 s: every task released before it leaves nothing to show.
        if (ms === 9_999) gcs++;
        sampler.heapUsed(GiB, 64 * GiB, gcs);
        const followed = ms === 9_999 ? 0 : ms < 10_000 ? ms + 1 : ms - 9_999;
        expect(supplier.followedReleases(), `at ${now} ms`).toBe(followed);
        expect(supplier.state().entries, `at ${now} ms`).toBe(followed === 0 ? 0 : 2);
      },
    );
    supplier.close();
  });
});

describe('released tasks the CPU supplier follows', () => {
  /** The entries for released tasks the gate takes in at a reading: `[cost, share]`. */
  const releasedEntries = (supplier: CpuProbe) =>
    supplier.gateEntries().flatMap((task) => (task.live ? [] : [[task.cost, task.shown[1]] as const]));

  it('sums the released tasks a reading followed past their end, one running sum per cost group', () => {
    // Before: every release was followed one by one until it showed under 0.5 % of its cost
    // (2.65 s at the default smoothing), so a Worker at 1000 tasks/s walked ~2650 of them at every
    // reading, most of a tick's time.
    let now = 0;
    const { sampler, supplier } = drivenProbe(CpuProbe, 'cpu', () => now, {
      default: { cpu: 0.25 },
      activities: { heavy: { cpu: 1 } },
    });
    sampler.cpuBusy(1, 8);
    const long = supplier.tryReserveSlot(reserveCtx())!;
    supplier.markSlotUsed({ permit: long, slotInfo: activityInfo() });
    for (let i = 1; i <= 5; i++) {
      now = 10 * i;
      const permit = supplier.tryReserveSlot(reserveCtx())!;
      supplier.markSlotUsed({ permit, slotInfo: activityInfo(i % 2 === 0 ? 'heavy' : 'light') });
      now += i % 2 === 0 ? 30 : 1;
      supplier.releaseSlot({ permit });
    }
    now = 95;
    supplier.releaseSlot({ permit: long });
    // One released after the sample of the next reading was taken (at 100 ms), before it comes in.
    now = 99;
    const late = supplier.tryReserveSlot(reserveCtx())!;
    supplier.markSlotUsed({ permit: late, slotInfo: activityInfo('heavy') });
    now = 101;
    supplier.releaseSlot({ permit: late });
    expect(supplier.followedReleases()).toBe(7);
    sampler.cpuBusy(1, 8, 100);
    const alpha = 1 - Math.exp(-100 / 500);
    // Two groups: cost 0.25 (the 95 ms task and three 1 ms ones), cost 1 (two 30 ms ones). The late
    // task shows 1 ms of this interval: it is followed one by one until the next reading.
    expect(supplier.followedReleases()).toBe(1);
    const quarter = alpha * (0.95 + 3 * 0.01);
    const whole = alpha * 2 * 0.3;
    const late1 = alpha * 0.01;
    expect(releasedEntries(supplier)).toEqual([
      [1, expect.closeTo(late1, 12)],
      [0.25, expect.closeTo(quarter, 12)],
      [1, expect.closeTo(whole, 12)],
    ]);
    expectSameLoad(supplier.both(), 'after the first reading', 3);
    // Each sum fades by 1 - alpha = 0.82 per reading and is dropped under 0.005 of a task: the sum of
    // cost 1 (with the late task from the second reading on) at the 17th, the other at the 19th.
    const late2 = late1 + alpha * (0.01 - late1); // it showed 1 ms of the second interval too
    for (let reading = 2; reading <= 19; reading++) {
      now = 100 * reading;
      sampler.cpuBusy(1, 8);
      const fade = (1 - alpha) ** (reading - 1);
      const ones = (whole * (1 - alpha) + late2) * (1 - alpha) ** (reading - 2);
      expect(ones >= 0.005, `reading ${reading}`).toBe(reading < 17);
      const expected = [[0.25, expect.closeTo(quarter * fade, 12)]];
      if (ones >= 0.005) expected.push([1, expect.closeTo(ones, 12)]);
      expect(supplier.followedReleases(), `reading ${reading}`).toBe(0);
      expect(releasedEntries(supplier), `reading ${reading}`).toEqual(
        quarter * fade >= 0.005 ? expected : [],
      );
      expectSameLoad(supplier.both(), `reading ${reading}`, 3);
    }
    expect(releasedEntries(supplier)).toEqual([]);
    supplier.close();
  });

  it('a thousand 1 ms tasks a second leave the outside usage where it was (each alone shows 0.2 %)', () => {
    // Before: a 1 ms task shows 0.01 of an interval x the smoothing's 0.18, under the 0.5 % at which
    // a released task was dropped, so none was counted and the reading's 0.25 core of them rose
    // the usage outside our tasks by as much, and admission with it.
    let now = 0;
    const { sampler, supplier } = drivenProbe(CpuProbe, 'cpu', () => now, { default: { cpu: 0.25 } });
    sampler.cpuBusy(1, 8);
    const alpha = 1 - Math.exp(-100 / 500);
    let shown = 0; // what the monitor shows of our tasks, in task-equivalents
    let walked = 0;
    let refused = 0;
    for (let reading = 1; reading <= 40; reading++) {
      for (let ms = 0; ms < 100; ms++) {
        now = 100 * (reading - 1) + ms;
        const permit = supplier.tryReserveSlot(reserveCtx())!;
        if (permit === null) refused++;
        supplier.markSlotUsed({ permit, slotInfo: activityInfo() });
        now += 0.5;
        supplier.releaseSlot({ permit });
      }
      now = 100 * reading;
      shown += alpha * (100 * 0.005 - shown);
      sampler.cpuBusy(1 + 0.25 * shown, 8);
      walked = Math.max(walked, supplier.gateEntries().length);
      expect(supplier.outside(), `reading ${reading}`).toBeCloseTo(1, 9);
    }
    // The gate took in one sum, not ~2650 tasks. And no reservation was refused: before, each task
    // released since the latest reading counted at its whole cost until the next one (at 25 ms,
    // 25 x 0.25 core filled the target).
    expect(walked).toBe(1);
    expect(refused).toBe(0);
    expect(supplier.snapshot()).toMatchObject({ issued: 0, used: 0 });
    supplier.close();
  });
});

describe('what released tasks hold, summed from one decision to the next', () => {
  const each64MiB = { default: { memoryBytes: 64 * MiB } };

  it('walks only the releases since the previous decision', () => {
    // Before: every decision walked every release since the latest reading (all 90 of them, each
    // time; at 1000 releases/s and one GPU reading a second, up to 1000 per decision).
    const { supplier, shownReleased } = releasing(90, each64MiB);
    const [first] = supplier.both();
    expect(first.held).toBe(90 * 64 * MiB);
    shownReleased.length = 0;
    const [again, listed] = supplier.both();
    // Only the full count (`tasks()`) looked at them again (before: 180, 90 of them the decision's).
    expect(shownReleased.length).toBe(90);
    expect(again).toEqual(listed);
    supplier.close();
  });

  it('forgets the releases forgotten while no reading comes, and starts again at the next reading', () => {
    const { supplier, sampler, advance } = releasing(500, each64MiB);
    // At 5000 ms, the releases of the last stale bound (4000..5000 ms) are followed: 101 of 500.
    expect(supplier.both()[0].held).toBe(101 * 64 * MiB);
    advance(500);
    // 4500..5000 ms: 51. The sum kept by the previous decision held 101.
    const [fast, listed] = supplier.both();
    expect(fast.held).toBe(51 * 64 * MiB);
    expect(fast).toEqual(listed);
    // A reading after them: none was released after it.
    sampler.memoryUsed(GiB, 4 * GiB);
    const [after, afterListed] = supplier.both();
    expect(after.held).toBe(0);
    expect(after).toEqual(afterListed);
    supplier.close();
  });
});

describe('what a decision walks', () => {
  /** A memory supplier that counts the live permits a decision reads one by one. */
  class CountingProbe extends MemorySlotSupplier {
    visited = 0;
    protected override load(): GateLoad {
      const ledger = this.ledger as { records(): IterableIterator<unknown> };
      const records = ledger.records.bind(ledger);
      ledger.records = () => {
        const it = records();
        const counting = {
          next: () => {
            const step = it.next();
            if (!step.done) this.visited++;
            return step;
          },
          [Symbol.iterator]: () => counting,
        };
        return counting as IterableIterator<unknown>;
      };
      try {
        return super.load();
      } finally {
        ledger.records = records;
      }
    }
    both(): [GateLoad, GateLoad] {
      return [this.load(), this.gate.loadOf(this.tasks())];
    }
    decisionLoad(): GateLoad {
      return this.load();
    }
    /** A decision's sums, expected to equal a full count without walking any live permit. */
    walklessLoad(): GateLoad {
      this.visited = 0;
      const [fast, listed] = this.both();
      expect(this.visited, 'live permits the decision walked').toBe(0);
      expect(fast).toEqual(listed);
      return fast;
    }
    permits(): SlotwisePermit[] {
      return [...this.ledger.records()].map((record) => record.permit);
    }
  }

  function running(costs: MemorySlotSupplierOptions['costs'], types: SlotInfo[]) {
    const sampler = new FakeSampler({ memory: true });
    const supplier = new CountingProbe({
      ...handDriven(sampler, () => 0),
      minSlots: 0,
      maxSlots: 2000,
      settleMs: 0,
      targetUtilization: 0.95,
      costs,
    });
    sampler.memoryUsed(GiB, 1024 * GiB);
    for (let i = 0; i < 1000; i++) {
      const permit = supplier.tryReserveSlot(reserveCtx());
      if (permit === null) throw new Error(`permit ${i} was refused`);
      supplier.markSlotUsed({ permit, slotInfo: types[i % types.length]! });
    }
    return supplier;
  }

  it('reads running tasks of a declared cost from sums, not one by one (1000 running)', () => {
    // Before: every decision walked all 1000 live permits (1000 visited).
    const supplier = running({ default: { memoryBytes: MiB } }, [activityInfo('a')]);
    expect(supplier.walklessLoad().live).toBe(1000 * MiB);
    supplier.close();
  });

  it('counts a running task of no declared cost at its expected cost, as a full count does', () => {
    // 'other' has no cost declared or learned: it counts at the largest declared of its slot type.
    const supplier = running({ activities: { declared: { memoryBytes: 3 * MiB } } }, [
      activityInfo('declared'),
      activityInfo('other'),
    ]);
    const fast = supplier.walklessLoad();
    expect(fast.unknown).toBe(0);
    expect(fast.live).toBe(1000 * 3 * MiB);
    supplier.close();
  });

  it('prices running tasks of no declared cost once per type, not once per task', () => {
    // Before: the gate was asked for the learned cost of each of the 500 undeclared tasks.
    const supplier = running({ activities: { declared: { memoryBytes: 3 * MiB } } }, [
      activityInfo('declared'),
      activityInfo('other'),
      activityInfo('another'),
      activityInfo('other'),
    ]);
    const gate = (supplier as unknown as { gate: { learnedCost(key: string): number | undefined } }).gate;
    const asked = vi.spyOn(gate, 'learnedCost');
    const fast = supplier.decisionLoad();
    expect(asked).toHaveBeenCalledTimes(2); // 'other' and 'another'
    asked.mockRestore();
    expect(fast.live).toBe(1000 * 3 * MiB);
    expect(fast).toEqual(supplier.both()[1]);
    supplier.close();
  });

  it('counts a permit waiting for its task at the default cost, and walks them when there is none', () => {
    const withDefault = running({ default: { memoryBytes: MiB } }, [activityInfo('a')]);
    const waiting = [withDefault.tryReserveSlot(reserveCtx()), withDefault.tryReserveSlot(reserveCtx())];
    expect(waiting.every((permit) => permit !== null)).toBe(true);
    expect(withDefault.walklessLoad().live).toBe(1002 * MiB);
    withDefault.close();

    const typed = running({ activities: { a: { memoryBytes: MiB } } }, [activityInfo('a')]);
    expect(typed.tryReserveSlot(reserveCtx())).not.toBeNull();
    // No default: the waiting permit's cost is the largest declared for its slot type. It is read from
    // the permits waiting for a task, kept apart on issue and mark-used (before: a walk, 1001 visited).
    expect(typed.walklessLoad().live).toBe(1001 * MiB);
    typed.close();
  });

  it('stays equal to a full count after releases, in any order', () => {
    // A cost that is no power of two (memory costs are whole bytes: 0.1 MiB is refused, as by a config).
    const supplier = running({ activities: { declared: { memoryBytes: Math.round(0.1 * MiB) } } }, [
      activityInfo('declared'),
      activityInfo('other'),
    ]);
    const permits = supplier.permits();
    const next = random(9);
    while (permits.length > 0) {
      const permit = permits.splice(Math.floor(next() * permits.length), 1)[0]!;
      supplier.releaseSlot({ permit });
      if (permits.length % 97 === 0) {
        const [fast, listed] = supplier.both();
        expect(fast.unknown).toBe(listed.unknown);
        expect(fast.live).toBeCloseTo(listed.live, 3);
      }
    }
    const [fast] = supplier.both();
    expect(fast.live).toBe(0);
    supplier.close();
  });
});
