import type { SlotInfo } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { CpuSlotSupplier } from '../../src/suppliers/cpu-slot-supplier.js';
import {
  MemorySlotSupplier,
  type MemorySlotSupplierOptions,
} from '../../src/suppliers/memory-slot-supplier.js';
import type { GateLoad } from '../../src/suppliers/resource-gate.js';
import type { SlotwisePermit } from '../../src/suppliers/types.js';
import { activityInfo, reserveCtx } from '../helpers/fakes.js';
import { FakeSampler, GiB, MiB } from './fixtures/fake-sampler.js';

// A decision sums the tasks in one pass (`load()`); learning and tests see them one by one
// (`tasks()`). Both must describe the same tasks, or admission and learning disagree.

class MemoryProbe extends MemorySlotSupplier {
  both(): [GateLoad, GateLoad] {
    return [this.load(), this.gate.loadOf(this.tasks())];
  }
  followedReleases(): number {
    return this.recentReleases().length;
  }
}

class CpuProbe extends CpuSlotSupplier {
  both(): [GateLoad, GateLoad] {
    return [this.load(), this.gate.loadOf(this.tasks())];
  }
}

/** A small deterministic generator, so a failure names its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const TYPES: SlotInfo[] = [activityInfo('declared'), activityInfo('learned'), activityInfo('other')];

function expectSameLoad([fast, listed]: [GateLoad, GateLoad], where: string) {
  expect(fast.unknown, `${where}: unknown`).toBe(listed.unknown);
  expect(fast.unknownUnshown, `${where}: unknownUnshown`).toBe(listed.unknownUnshown);
  expect(fast.live, `${where}: live`).toBeCloseTo(listed.live, 3);
  expect(fast.held, `${where}: held`).toBeCloseTo(listed.held, 3);
}

describe('a decision sums the same tasks learning lists', () => {
  for (const kind of ['memory', 'cpu'] as const) {
    for (const seed of [1, 2, 3, 4, 5, 6, 7]) {
      it(`${kind}: seed ${seed}, reservations, tasks, releases and readings in random order`, () => {
        const next = random(seed);
        let now = 0;
        const sampler = new FakeSampler({ memory: kind === 'memory', cpu: kind === 'cpu' });
        const common = {
          sampler: sampler.asSampler,
          now: () => now,
          rampThrottleMs: 0,
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
        const supplier =
          kind === 'memory'
            ? new MemoryProbe({
                ...common,
                ...(declare
                  ? {
                      costs: {
                        activities: { declared: { memoryBytes: 64 * MiB } },
                        ...(withDefault ? { default: { memoryBytes: 48 * MiB } } : {}),
                      },
                    }
                  : {}),
              })
            : new CpuProbe({
                ...common,
                ...(declare
                  ? {
                      costs: {
                        activities: { declared: { cpu: 0.25 } },
                        ...(withDefault ? { default: { cpu: 0.1 } } : {}),
                      },
                    }
                  : {}),
              });
        const running: SlotwisePermit[] = [];
        const reserved: SlotwisePermit[] = [];
        const read = () =>
          kind === 'memory'
            ? sampler.memoryUsed((200 + 50 * running.length + next() * 30) * MiB, 4 * GiB)
            : sampler.cpuBusy(0.2 + 0.2 * running.length + next() * 0.1, 8);
        read();
        let checks = 0;
        const seen = new Set<string>();
        for (let step = 0; step < 400; step++) {
          now += Math.floor(next() * 60);
          const roll = next();
          if (roll < 0.35) {
            const permit = supplier.tryReserveSlot(reserveCtx()) as SlotwisePermit | null;
            if (permit) reserved.push(permit);
          } else if (roll < 0.6 && reserved.length > 0) {
            const permit = reserved.splice(Math.floor(next() * reserved.length), 1)[0]!;
            supplier.markSlotUsed({ permit, slotInfo: TYPES[Math.floor(next() * TYPES.length)]! });
            running.push(permit);
          } else if (roll < 0.8 && running.length > 0) {
            const permit = running.splice(Math.floor(next() * running.length), 1)[0]!;
            supplier.releaseSlot({ permit });
          } else {
            read();
          }
          const loads = supplier.both();
          expectSameLoad(loads, `seed ${seed} step ${step}`);
          if (loads[1].held > 0) seen.add('held');
          if (loads[1].unknown > 0) seen.add('unknown');
          if (loads[1].live > 0) seen.add('live');
          checks++;
        }
        expect(checks).toBe(400);
        // The run must have reached every kind of task a decision sums, or it proved little. (With
        // nothing declared, permits of unknown cost must have been summed; a memory supplier may also
        // learn a cost from a task that ran alone, and then sums live and held tasks too.)
        expect([...seen]).toEqual(expect.arrayContaining(declare ? ['held', 'live'] : ['unknown']));
        supplier.close();
      });
    }
  }
});

describe('released tasks a decision follows', () => {
  it('are bounded by the stale bound while no reading comes (a stopped sampler)', () => {
    // Before: a release no reading had followed was kept whatever its age, so with the sampler
    // stopped every release of minSlots permits stayed, and every decision walked all of them.
    let now = 0;
    const sampler = new FakeSampler({ memory: true });
    const supplier = new MemoryProbe({
      sampler: sampler.asSampler,
      now: () => now,
      rampThrottleMs: 0,
      minSlots: 1,
      settleMs: 500,
      staleAfterMs: 1000,
    });
    sampler.memoryUsed(GiB, 4 * GiB);
    for (let i = 1; i <= 500; i++) {
      now = i * 10;
      const permit = supplier.tryReserveSlot(reserveCtx());
      if (permit === null) throw new Error(`release ${i}: the minSlots permit was refused`);
      supplier.markSlotUsed({ permit, slotInfo: activityInfo() });
      supplier.releaseSlot({ permit });
    }
    // At 5000 ms, the releases of the last stale bound (4000..5000 ms) are kept: 101 of 500.
    expect(supplier.followedReleases()).toBe(101);
    // A reading after them: only those released less than settleMs ago (4510..5000 ms) still count.
    sampler.memoryUsed(GiB, 4 * GiB);
    expect(supplier.followedReleases()).toBe(50);
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
    permits(): SlotwisePermit[] {
      return [...this.ledger.records()].map((record) => record.permit);
    }
  }

  function running(costs: MemorySlotSupplierOptions['costs'], types: SlotInfo[]) {
    const sampler = new FakeSampler({ memory: true });
    const supplier = new CountingProbe({
      sampler: sampler.asSampler,
      now: () => 0,
      rampThrottleMs: 0,
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
    supplier.visited = 0;
    const [fast, listed] = supplier.both();
    expect(supplier.visited).toBe(0);
    expect(fast.live).toBe(1000 * MiB);
    expect(fast).toEqual(listed);
    supplier.close();
  });

  it('counts a running task of no declared cost at its expected cost, as a full count does', () => {
    // 'other' has no cost declared or learned: it counts at the largest declared of its slot type.
    const supplier = running({ activities: { declared: { memoryBytes: 3 * MiB } } }, [
      activityInfo('declared'),
      activityInfo('other'),
    ]);
    supplier.visited = 0;
    const [fast, listed] = supplier.both();
    expect(supplier.visited).toBe(0);
    expect(fast.unknown).toBe(0);
    expect(fast.live).toBe(1000 * 3 * MiB);
    expect(fast).toEqual(listed);
    supplier.close();
  });

  it('counts a permit waiting for its task at the default cost, and walks them when there is none', () => {
    const withDefault = running({ default: { memoryBytes: MiB } }, [activityInfo('a')]);
    const waiting = [withDefault.tryReserveSlot(reserveCtx()), withDefault.tryReserveSlot(reserveCtx())];
    expect(waiting.every((permit) => permit !== null)).toBe(true);
    withDefault.visited = 0;
    const [fast, listed] = withDefault.both();
    expect(withDefault.visited).toBe(0);
    expect(fast.live).toBe(1002 * MiB);
    expect(fast).toEqual(listed);
    withDefault.close();

    const typed = running({ activities: { a: { memoryBytes: MiB } } }, [activityInfo('a')]);
    expect(typed.tryReserveSlot(reserveCtx())).not.toBeNull();
    typed.visited = 0;
    const [typedFast, typedListed] = typed.both();
    // No default: the waiting permit's cost is the largest declared for its slot type, found by a walk.
    expect(typed.visited).toBe(1001);
    expect(typedFast.live).toBe(1001 * MiB);
    expect(typedFast).toEqual(typedListed);
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
