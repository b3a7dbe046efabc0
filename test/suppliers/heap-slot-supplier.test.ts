import { describe, expect, it, vi } from 'vitest';
import { ResourceSampler } from '../../src/resources/sampler.js';
import { CompositeSlotSupplier } from '../../src/suppliers/composite-slot-supplier.js';
import { FixedSlotSupplier } from '../../src/suppliers/fixed-slot-supplier.js';
import { HeapSlotSupplier } from '../../src/suppliers/heap-slot-supplier.js';
import { activityInfo, flush } from '../helpers/fakes.js';
import { itRejectsOptions } from '../helpers/option-errors.js';
import { FakeSampler, MiB } from './fixtures/fake-sampler.js';
import { burst, grantedOf, resourceSupplierSetup } from './fixtures/resource-supplier-setup.js';

const { make: heapSupplier, closeAfterTest } = resourceSupplierSetup(HeapSlotSupplier, 'heap');

describe('HeapSlotSupplier', () => {
  itRejectsOptions(
    (options) => new HeapSlotSupplier(options),
    [
      [
        { targetUtilization: 70 },
        'HeapSlotSupplier: expected `targetUtilization` to be a ratio in (0, 1], got `70` (number). Did you mean 0.7?',
      ],
      [
        { costs: { default: { heapBytes: -1 } } },
        'HeapSlotSupplier: expected `costs.default.heapBytes` to be a whole number of bytes >= 0, got `-1` (number).',
      ],
      [{ heapLimit: 5 }, 'HeapSlotSupplier: unknown option `heapLimit`.'],
      [
        { staleAfterMs: 0 },
        'HeapSlotSupplier: expected `staleAfterMs` to be a whole number of milliseconds in [1, 2147483647], got `0` (number).',
      ],
    ],
  );

  it('constructor() rejects a sampler that does not read the heap, and sampleIntervalMs next to a sampler', () => {
    const memoryOnly = new FakeSampler({ memory: true });
    expect(() => new HeapSlotSupplier({ sampler: memoryOnly.asSampler })).toThrow(
      'HeapSlotSupplier: expected `sampler` to sample the V8 heap, but it was created without heap: create it with `heap: {}`.',
    );
    const heap = new FakeSampler({ heap: true });
    expect(() => new HeapSlotSupplier({ sampler: heap.asSampler, sampleIntervalMs: 50 })).toThrow(
      'HeapSlotSupplier: `sampleIntervalMs` applies only when the supplier creates its own sampler; set `intervalMs` on the sampler instead.',
    );
  });

  it('reserveSlot() admits floor((target x heap limit - used) / heapBytes) tasks, charges them, and refills on release', async () => {
    // A 200 MiB heap limit, 40 MiB used idle, target 0.8 = 160 MiB, tasks declared at 24 MiB: 5.
    const { supplier, sampler } = heapSupplier({
      rampThrottleMs: 0,
      costs: { activities: { parse: { heapBytes: 24 * MiB } }, default: { heapBytes: 24 * MiB } },
    });
    sampler.heapUsed(40 * MiB, 200 * MiB);
    const reservations = burst(supplier, 8);
    await flush();
    const permits = grantedOf(reservations);
    expect(permits).toHaveLength(5);
    for (const permit of permits) supplier.markSlotUsed({ permit, slotInfo: activityInfo('parse') });
    expect(supplier.snapshot().charged.heapBytes).toBe(5 * 24 * MiB);
    // The task ends: what it leaves is garbage V8 collects before it gives up, so its 24 MiB are
    // free at once, and its garbage is not taken for anyone's objects until a full collection.
    supplier.releaseSlot({ permit: permits[0]!, slotInfo: activityInfo('parse') });
    await flush();
    expect(grantedOf(reservations)).toHaveLength(6);
    sampler.heapUsed(40 * MiB + 5 * 24 * MiB, 200 * MiB); // the five running plus the garbage
    await flush();
    expect(grantedOf(reservations)).toHaveLength(6);
    expect(supplier.snapshot().capacity).toBe(5);
    expect(supplier.snapshot()).toMatchObject({ issued: 5, capacity: 5 });
    expect(supplier.snapshot().readings.heap).toMatchObject({
      usedBytes: 160 * MiB,
      limitBytes: 200 * MiB,
      ratio: 0.8,
      stale: false,
    });
  });

  it('reserveSlot() learns the heap a task type keeps from readings when none is declared', async () => {
    const { supplier, sampler } = heapSupplier({ rampThrottleMs: 0 });
    sampler.heapUsed(40 * MiB, 200 * MiB);
    const reservations = burst(supplier, 8);
    await flush();
    const [probe] = grantedOf(reservations);
    supplier.markSlotUsed({ permit: probe!, slotInfo: activityInfo('parse') });
    for (let t = 0; t < 2000; t += 100) {
      await vi.advanceTimersByTimeAsync(100);
      sampler.heapUsed(60 * MiB, 200 * MiB);
    }
    await flush();
    // Learned 20 MiB: (160 - 40) / 20 = 6 in all.
    expect(supplier.snapshot().learned.activities).toEqual({ parse: { heapBytes: 20 * MiB } });
    expect(grantedOf(reservations)).toHaveLength(6);
  });

  it('admits against the old generation (--max-old-space-size), not heap_size_limit with its young generation', async () => {
    // A Worker started with --max-old-space-size=160: heap_size_limit 208 MiB. Target 0.7 of the
    // 160 MiB old space is 112 MiB; 15 MiB used: 6 tasks of 16 MiB. Of 208 MiB it would be 8 (a
    // 0.91 share of the old space; with a task's transient copy, V8 gave up at that in CI).
    const sampler = new ResourceSampler({
      cpu: false,
      memory: false,
      heap: {
        statistics: () => ({
          used_heap_size: 15 * MiB,
          heap_size_limit: 208 * MiB,
          total_heap_size: 20 * MiB,
        }),
        flags: ['--max-old-space-size=160'],
      },
      now: () => Date.now(),
    });
    const heap = new HeapSlotSupplier({
      sampler,
      now: () => Date.now(),
      targetUtilization: 0.7,
      minSlots: 0,
      rampThrottleMs: 0,
      costs: { default: { heapBytes: 16 * MiB } },
    });
    closeAfterTest(heap);
    sampler.sampleNow();
    const reservations = burst(heap, 10);
    await flush();
    expect(grantedOf(reservations)).toHaveLength(6);
    expect(heap.snapshot().readings.heap).toMatchObject({ usedBytes: 15 * MiB, limitBytes: 160 * MiB });
  });

  it('works as a part of a composite, with the heap read by a real sampler', async () => {
    let used = 30 * MiB;
    const sampler = new ResourceSampler({
      cpu: false,
      memory: false,
      heap: {
        statistics: () => ({ used_heap_size: used, heap_size_limit: 100 * MiB, total_heap_size: used }),
      },
      now: () => Date.now(),
    });
    const heap = new HeapSlotSupplier({
      sampler,
      now: () => Date.now(),
      minSlots: 0,
      rampThrottleMs: 0,
      costs: { default: { heapBytes: 10 * MiB } },
    });
    const composite = new CompositeSlotSupplier([new FixedSlotSupplier({ slots: 10 }), heap]);
    closeAfterTest(heap);
    closeAfterTest(composite);
    sampler.sampleNow();
    const reservations = burst(composite, 10);
    await flush();
    expect(grantedOf(reservations)).toHaveLength(5); // (80 - 30) / 10
    used = 60 * MiB; // someone else's objects: 60 + 5 x 10 > 80, nothing more until they go
    sampler.sampleNow();
    const permit = grantedOf(reservations)[0]!;
    composite.releaseSlot({ permit });
    await flush();
    expect(grantedOf(reservations)).toHaveLength(5);
    used = 30 * MiB;
    sampler.sampleNow();
    await flush();
    expect(grantedOf(reservations)).toHaveLength(6);
  });
});

describe('HeapSlotSupplier and HeapMonitor across copies of the code', () => {
  it('instanceof accepts instances made by another copy (an ESM and a CommonJS build in one process)', async () => {
    type Main = typeof import('../../src/index.js');
    vi.resetModules();
    const a = (await import('../../src/index.js')) as Main;
    vi.resetModules();
    const b = (await import('../../src/index.js')) as Main;
    expect(a.HeapSlotSupplier).not.toBe(b.HeapSlotSupplier); // really two copies of the code
    const monitor = new a.HeapMonitor({
      statistics: () => ({ used_heap_size: 1, heap_size_limit: 2 }) as never,
    });
    const supplier = new a.HeapSlotSupplier({ sampler: new FakeSampler({ heap: true }).asSampler });
    closeAfterTest(supplier);
    closeAfterTest(monitor);
    expect(supplier instanceof b.HeapSlotSupplier).toBe(true);
    expect(supplier instanceof b.ResourceSlotSupplier).toBe(true);
    expect(supplier instanceof b.MemorySlotSupplier).toBe(false);
    expect(monitor instanceof b.HeapMonitor).toBe(true);
  });
});
