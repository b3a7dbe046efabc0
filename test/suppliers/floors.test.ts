import type { SlotReserveContext } from '@temporalio/worker';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CompositeSlotSupplier } from '../../src/suppliers/composite-slot-supplier.js';
import { CpuSlotSupplier } from '../../src/suppliers/cpu-slot-supplier.js';
import { FixedSlotSupplier } from '../../src/suppliers/fixed-slot-supplier.js';
import { GpuSlotSupplier } from '../../src/suppliers/gpu-slot-supplier.js';
import type { LedgerSlotSupplier } from '../../src/suppliers/ledger-slot-supplier.js';
import { MemorySlotSupplier } from '../../src/suppliers/memory-slot-supplier.js';
import { GROUP_LINGER_MS } from '../../src/suppliers/slot-groups.js';
import type { SlotwisePermit } from '../../src/suppliers/types.js';
import { flush, recordingLogger, reserveCtx, track } from '../helpers/fakes.js';
import { itRejectsOptions } from '../helpers/option-errors.js';
import { FakeSampler, GiB } from './fixtures/fake-sampler.js';

const signal = () => new AbortController().signal;
const closers: Array<() => void> = [];

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(0);
});

afterEach(() => {
  for (const close of closers.splice(0)) close();
  vi.useRealTimers();
});

/** The four reservations a Worker makes first: a workflow poll of each kind, an activity and a local-activity poll. */
const everyType = (queue = 'q'): SlotReserveContext[] => [
  reserveCtx(queue, 'workflow', true),
  reserveCtx(queue, 'workflow', false),
  reserveCtx(queue, 'activity'),
  reserveCtx(queue, 'local-activity'),
];

type AnyLedgerSupplier = LedgerSlotSupplier<object>;

/**
 * Suppliers whose readings refuse every permit: a saturated CPU, memory at 99 % of its limit, a GPU
 * whose memory is full (GPU suppliers have no floors by default, so this one is given them), and a
 * composite of a fixed 8 and such a memory supplier.
 */
const refusingSuppliers: Array<[string, () => AnyLedgerSupplier]> = [
  [
    'CpuSlotSupplier',
    () => {
      const sampler = new FakeSampler({ cpu: true });
      sampler.cpuBusy(4, 4);
      const supplier = new CpuSlotSupplier({ sampler: sampler.asSampler, now: () => Date.now() });
      closers.push(() => supplier.close());
      return supplier;
    },
  ],
  ['MemorySlotSupplier', () => saturatedMemory()],
  [
    'GpuSlotSupplier',
    () => {
      const sampler = new FakeSampler({ gpu: true });
      sampler.gpus([{ index: 0, memoryUsedBytes: 80 * GiB, memoryTotalBytes: 80 * GiB }]);
      const supplier = new GpuSlotSupplier({
        sampler: sampler.asSampler,
        slotsPerDevice: 8,
        floors: { workflow: 2, activity: 1, localActivity: 1 },
        now: () => Date.now(),
      });
      closers.push(() => supplier.close());
      return supplier as unknown as AnyLedgerSupplier;
    },
  ],
  [
    'CompositeSlotSupplier',
    () => {
      const composite = new CompositeSlotSupplier([new FixedSlotSupplier({ slots: 8 }), saturatedMemory()]);
      closers.push(() => composite.close());
      return composite as unknown as AnyLedgerSupplier;
    },
  ],
];

function saturatedMemory(options: ConstructorParameters<typeof MemorySlotSupplier>[0] = {}) {
  const sampler = new FakeSampler({ memory: true });
  sampler.memoryUsed(15.84 * GiB, 16 * GiB);
  const supplier = new MemorySlotSupplier({ sampler: sampler.asSampler, now: () => Date.now(), ...options });
  closers.push(() => supplier.close());
  return supplier;
}

describe.each(refusingSuppliers)('%s serving every slot type while its readings refuse', (_, make) => {
  it('reserveSlot() grants each (slot type, task queue) its floor, and no more', async () => {
    const supplier = make();
    const first = everyType('q').map((ctx) => track(supplier.reserveSlot(ctx, signal())));
    const beyond = [reserveCtx('q', 'workflow', true), reserveCtx('q', 'activity')].map((ctx) =>
      track(supplier.reserveSlot(ctx, signal())),
    );
    const otherQueue = track(supplier.reserveSlot(reserveCtx('q2', 'activity'), signal()));
    await flush();
    expect(first.map((r) => r.settled())).toEqual([true, true, true, true]);
    expect(beyond.map((r) => r.settled())).toEqual([false, false]);
    expect(otherQueue.settled()).toBe(true);
    const snapshot = supplier.snapshot();
    expect(snapshot).toMatchObject({ issued: 5, waiting: 2 });
    expect(snapshot.floors).toEqual({ workflow: 2, activity: 1, localActivity: 1 });
    expect(
      snapshot.groups.map(({ slotType, taskQueue, issued, waiting, unmet }) => [
        slotType,
        taskQueue,
        issued,
        waiting,
        unmet,
      ]),
    ).toEqual([
      ['workflow', 'q', 2, 1, 0],
      ['activity', 'q', 1, 1, 0],
      ['local-activity', 'q', 1, 0, 0],
      ['activity', 'q2', 1, 0, 0],
    ]);
  });

  it('reserveSlot() grants a floor permit again as soon as the group falls below its floor', async () => {
    const supplier = make();
    const permit = await supplier.reserveSlot(reserveCtx('q', 'activity'), signal());
    const next = track(supplier.reserveSlot(reserveCtx('q', 'activity'), signal()));
    await flush();
    expect(next.settled()).toBe(false);
    supplier.releaseSlot({ permit });
    await flush();
    expect(next.settled()).toBe(true);
    expect(supplier.snapshot()).toMatchObject({ issued: 1, waiting: 0 });
  });

  it('tryReserveSlot() grants a floor permit while other groups wait', async () => {
    const supplier = make();
    await supplier.reserveSlot(reserveCtx('q', 'activity'), signal());
    const waiting = track(supplier.reserveSlot(reserveCtx('q', 'activity'), signal()));
    expect(supplier.tryReserveSlot(reserveCtx('q', 'local-activity'))).not.toBeNull();
    expect(supplier.tryReserveSlot(reserveCtx('q', 'local-activity'))).toBeNull();
    await flush();
    expect(waiting.settled()).toBe(false);
    expect(supplier.snapshot()).toMatchObject({ issued: 2, waiting: 1 });
  });
});

describe('floors under a hard maximum', () => {
  it('reserveSlot() on a FixedSlotSupplier keeps room for the floor permits other groups are owed', async () => {
    const supplier = new FixedSlotSupplier({ slots: 4 });
    const permits = await Promise.all(everyType('q').map((ctx) => supplier.reserveSlot(ctx, signal())));
    const activity = track(supplier.reserveSlot(reserveCtx('q', 'activity'), signal()));
    supplier.releaseSlot({ permit: permits[0]! }); // the sticky workflow poll ended
    await flush();
    // A fifth activity would leave no slot for the next sticky poll: it waits.
    expect(activity.settled()).toBe(false);
    const sticky = track(supplier.reserveSlot(reserveCtx('q', 'workflow', true), signal()));
    await flush();
    expect(sticky.settled()).toBe(true);
    expect(supplier.snapshot()).toMatchObject({ issued: 4, waiting: 1 });
  });

  it('reserveSlot() never takes a FixedSlotSupplier above its slots for floors; they are met first come first served', async () => {
    const supplier = new FixedSlotSupplier({ slots: 2 });
    const granted = ['a', 'b', 'c'].map((queue) =>
      track(supplier.reserveSlot(reserveCtx(queue, 'activity'), signal())),
    );
    await flush();
    expect(granted.map((r) => r.settled())).toEqual([true, true, false]);
    supplier.releaseSlot({ permit: granted[0]!.value()! });
    await flush();
    expect(granted[2]!.settled()).toBe(true);
    expect(supplier.snapshot()).toMatchObject({ issued: 2, waiting: 0 });
  });

  it('reserveSlot() stops keeping room for a task queue no Worker polls any more after GROUP_LINGER_MS', async () => {
    const supplier = new FixedSlotSupplier({ slots: 2, now: () => Date.now() });
    const gone = await supplier.reserveSlot(reserveCtx('gone', 'activity'), signal());
    supplier.releaseSlot({ permit: gone });
    await supplier.reserveSlot(reserveCtx('q', 'activity'), signal());
    const second = track(supplier.reserveSlot(reserveCtx('q', 'activity'), signal()));
    await flush();
    expect(second.settled()).toBe(false); // the last slot is kept for queue 'gone'
    await vi.advanceTimersByTimeAsync(GROUP_LINGER_MS);
    supplier.snapshot(); // any look at the groups forgets the stale ones, but nothing wakes the waiter
    const third = track(supplier.reserveSlot(reserveCtx('q', 'activity'), signal()));
    await flush();
    expect([second.settled(), third.settled()]).toEqual([true, false]);
  });

  it('reserveSlot() on a FixedSlotSupplier serving workflow polls keeps room for the local activity the workflow will schedule', async () => {
    // Core reserves a local activity's slot only when a workflow task schedules one; by then ten
    // workflow polls would hold every slot for as long as a long poll lasts.
    const supplier = new FixedSlotSupplier({ slots: 10 });
    const polls = Array.from({ length: 10 }, (_, i) =>
      track(supplier.reserveSlot(reserveCtx('q', 'workflow', i % 5 !== 0), signal())),
    );
    await flush();
    expect(polls.filter((p) => p.settled())).toHaveLength(8);
    expect(supplier.tryReserveSlot(reserveCtx('q', 'local-activity'))).not.toBeNull();
    expect(supplier.tryReserveSlot(reserveCtx('q', 'activity'))).not.toBeNull();
    expect(supplier.snapshot()).toMatchObject({ issued: 10, waiting: 2 });
  });

  it('reserveSlot() keeps room only for the slot types declared', async () => {
    const supplier = new FixedSlotSupplier({ slots: 10, serves: ['workflow'] });
    const polls = Array.from({ length: 10 }, (_, i) =>
      track(supplier.reserveSlot(reserveCtx('q', 'workflow', i % 5 !== 0), signal())),
    );
    await flush();
    expect(polls.filter((p) => p.settled())).toHaveLength(10);
    expect(() => supplier.declareSlotTypes(['nexus' as never])).toThrow('fixed-');
  });

  it('reserveSlot() on a resource supplier issues floors above minSlots but never above maxSlots', async () => {
    const supplier = saturatedMemory({ minSlots: 1, maxSlots: 3 });
    const reservations = everyType('q').map((ctx) => track(supplier.reserveSlot(ctx, signal())));
    await flush();
    expect(reservations.map((r) => r.settled())).toEqual([true, true, true, false]);
    expect(supplier.snapshot()).toMatchObject({ issued: 3, waiting: 1 });
  });

  it('ceilings cap one (slot type, task queue), not the others', async () => {
    const supplier = new FixedSlotSupplier({ slots: 10, ceilings: { activity: 2 } });
    const reservations = ['q', 'q', 'q', 'q2'].map((queue) =>
      track(supplier.reserveSlot(reserveCtx(queue, 'activity'), signal())),
    );
    await flush();
    expect(reservations.map((r) => r.settled())).toEqual([true, true, false, true]);
    expect(supplier.tryReserveSlot(reserveCtx('q', 'activity'))).toBeNull();
  });
});

describe('floors of a resource supplier', () => {
  it('default to none with minSlots 0: nothing the readings do not allow', async () => {
    const supplier = saturatedMemory({ minSlots: 0 });
    const waiting = track(supplier.reserveSlot(reserveCtx('q', 'activity'), signal()));
    await flush();
    expect(waiting.settled()).toBe(false);
    expect(supplier.floors).toEqual({ workflow: 0, activity: 0, localActivity: 0 });
  });

  it('given explicitly next to minSlots 0, are issued', async () => {
    const supplier = saturatedMemory({ minSlots: 0, floors: { activity: 1 } });
    expect(supplier.tryReserveSlot(reserveCtx('q', 'activity'))).not.toBeNull();
    expect(supplier.tryReserveSlot(reserveCtx('q', 'workflow', true))).toBeNull();
  });

  it('of a GPU supplier still need a device with a free slot', async () => {
    const sampler = new FakeSampler({ gpu: true });
    const supplier = new GpuSlotSupplier({
      sampler: sampler.asSampler,
      floors: { activity: 2 },
      logger: recordingLogger(),
    });
    closers.push(() => supplier.close());
    expect(supplier.tryReserveSlot(reserveCtx('q', 'activity'))).toBeNull(); // no GPU visible
    sampler.gpus([{ index: 0, memoryUsedBytes: 80 * GiB }]);
    const permit = supplier.tryReserveSlot(reserveCtx('q', 'activity')) as SlotwisePermit & {
      gpu: { index: number };
    };
    expect(permit.gpu.index).toBe(0);
    expect(supplier.tryReserveSlot(reserveCtx('q', 'activity'))).toBeNull(); // slotsPerDevice 1
  });
});

describe('floors of a composite', () => {
  it('hold in all parts or none: a part at its maximum takes no other part’s permit', async () => {
    const memory = saturatedMemory();
    const one = new FixedSlotSupplier({ slots: 1 });
    const composite = new CompositeSlotSupplier([memory, one]);
    expect(composite.tryReserveSlot(reserveCtx('q', 'activity'))).not.toBeNull();
    expect(composite.tryReserveSlot(reserveCtx('q', 'local-activity'))).toBeNull();
    expect([composite, memory, one].map((s) => s.snapshot().issued)).toEqual([1, 1, 1]);
    expect(composite.maxPermits()).toBe(1);
  });

  it('are the composite’s alone: a permit above them goes through every part’s readings, never a part’s own floors', async () => {
    const memory = saturatedMemory({ minSlots: 0, floors: { activity: 1 } });
    const composite = new CompositeSlotSupplier([new FixedSlotSupplier({ slots: 8 }), memory], {
      floors: false,
    });
    const waiting = track(composite.reserveSlot(reserveCtx('q', 'activity'), signal()));
    await flush();
    expect(waiting.settled()).toBe(false);
    expect(memory.snapshot()).toMatchObject({ issued: 0, waiting: 0 });
    // The memory supplier itself still grants its floor to a direct reservation.
    expect(memory.tryReserveSlot(reserveCtx('q', 'activity'))).not.toBeNull();
  });

  it('default to the smallest of the parts’', () => {
    const sampler = new FakeSampler({ gpu: true });
    const gpu = new GpuSlotSupplier({ sampler: sampler.asSampler });
    closers.push(() => gpu.close());
    const fixed = new FixedSlotSupplier({ slots: 4, floors: { workflow: 3 } });
    const parts = [fixed, saturatedMemory({ floors: { activity: 2 } })];
    expect(new CompositeSlotSupplier(parts).floors).toEqual({ workflow: 2, activity: 1, localActivity: 1 });
    expect(new CompositeSlotSupplier([fixed, gpu as never]).floors).toEqual({
      workflow: 0,
      activity: 0,
      localActivity: 0,
    });
  });
});

describe('floors and ceilings options', () => {
  itRejectsOptions(
    (options: object) => new FixedSlotSupplier({ slots: 4, ...options } as never),
    [
      [
        { floors: { workflow: 1 } },
        'FixedSlotSupplier: expected `floors.workflow` to be 0 or an integer >= 2 (a workflow floor holds one sticky and one non-sticky permit), got `1` (number).',
      ],
      [
        { floors: { activity: -1 } },
        'FixedSlotSupplier: expected `floors.activity` to be an integer >= 0, got `-1` (number).',
      ],
      [
        { floors: { activitys: 1 } },
        'FixedSlotSupplier: `floors`: unknown option `activitys`. Did you mean `activity`? Known options: workflow, activity, localActivity.',
      ],
      [
        { floors: { nexus: 1 } },
        'FixedSlotSupplier: expected `floors.nexus` to be absent, got `1` (number). Nexus tasks cannot use a custom supplier in the TypeScript SDK, so slotwise has no Nexus floor or ceiling.',
      ],
      [
        { floors: 2 },
        'FixedSlotSupplier: expected `floors` to be an object such as { workflow: 2, activity: 1 }, or false for none, got `2` (number).',
      ],
      [
        { floors: { activity: 3 }, ceilings: { activity: 2 } },
        'FixedSlotSupplier: expected `ceilings.activity` to be an integer >= 3 (floors.activity is 3), got `2` (number).',
      ],
      [
        { ceilings: { workflow: 1 } },
        'FixedSlotSupplier: expected `ceilings.workflow` to be an integer >= 2 (core holds a sticky and a non-sticky workflow poll), got `1` (number).',
      ],
    ],
  );

  it('constructor() names the class of the supplier in the message', () => {
    expect(() => saturatedMemory({ floors: { workflow: 1 } })).toThrow(/^MemorySlotSupplier: /);
    expect(
      () => new CompositeSlotSupplier([new FixedSlotSupplier({ slots: 1 })], { floors: 'x' as never }),
    ).toThrow(/^CompositeSlotSupplier: /);
  });
});
