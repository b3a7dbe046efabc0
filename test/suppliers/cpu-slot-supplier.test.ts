import { afterEach, describe, expect, it, vi } from 'vitest';
import { ResourceSampler } from '../../src/resources/sampler.js';
import { CpuSlotSupplier, type CpuSlotSupplierOptions } from '../../src/suppliers/cpu-slot-supplier.js';
import { activityInfo, flush, reserveCtx, track } from '../helpers/fakes.js';
import { itRejectsOptions } from '../helpers/option-errors.js';
import { cleanupTempDirs, fakeRoot, procStat } from '../resources/fixtures/fake-root.js';
import { FakeSampler } from './fixtures/fake-sampler.js';
import { burst, grantedOf, resourceSupplierSetup } from './fixtures/resource-supplier-setup.js';

const signal = () => new AbortController().signal;
const { make: cpuSupplier, closeAfterTest } = resourceSupplierSetup(CpuSlotSupplier, 'cpu');

afterEach(() => cleanupTempDirs());

/**
 * A supplier on 4 cores at target 0.75 (3 cores) with `costs`, after a reading of an idle 0.5 core
 * busy, and 10 reservations made at once.
 */
async function tenReservations(costs?: CpuSlotSupplierOptions['costs']) {
  const { supplier, sampler } = cpuSupplier({
    minSlots: 0,
    rampThrottleMs: 0,
    targetUtilization: 0.75,
    ...(costs === undefined ? {} : { costs }),
  });
  sampler.cpuBusy(0.5);
  const reservations = burst(supplier, 10);
  await flush();
  return { supplier, sampler, reservations };
}

describe('CpuSlotSupplier', () => {
  itRejectsOptions(
    (options) => new CpuSlotSupplier(options),
    [
      [
        { targetUtilization: 80 },
        'CpuSlotSupplier: expected `targetUtilization` to be a ratio in (0, 1], got `80` (number). Did you mean 0.8?',
      ],
      [
        { targetUtilization: 0 },
        'CpuSlotSupplier: expected `targetUtilization` to be a ratio in (0, 1], got `0` (number).',
      ],
      [
        { minSlots: 4, maxSlots: 2 },
        'CpuSlotSupplier: expected `maxSlots` to be an integer >= minSlots (4), got `2` (number).',
      ],
      [{ minSlots: -1 }, 'CpuSlotSupplier: expected `minSlots` to be an integer >= 0, got `-1` (number).'],
      [{ maxSlots: 0 }, 'CpuSlotSupplier: expected `maxSlots` to be an integer >= 1, got `0` (number).'],
      [
        { targetUtilization: 0.5, hysteresis: 0.5 },
        'CpuSlotSupplier: expected `hysteresis` to be a ratio in [0, targetUtilization) = [0, 0.5), got `0.5` (number).',
      ],
      [
        { rampThrottleMs: -5 },
        'CpuSlotSupplier: expected `rampThrottleMs` to be a whole number of milliseconds in [0, 2147483647], got `-5` (number).',
      ],
      [
        { settleMs: '1s' },
        'CpuSlotSupplier: expected `settleMs` to be a whole number of milliseconds in [0, 2147483647], got `"1s"` (string).',
      ],
      [
        { costs: { default: { cpu: -1 } } },
        'CpuSlotSupplier: expected `costs.default.cpu` to be a number of CPU cores >= 0, got `-1` (number).',
      ],
      [
        { costs: { activities: { render: { cores: 2 } } } },
        'CpuSlotSupplier: `costs.activities.render`: unknown option `cores`. Known options: cpu, memoryBytes, gpus, gpuMemoryBytes, heapBytes.',
      ],
      [{ target: 0.8 }, 'CpuSlotSupplier: unknown option `target`. Did you mean `targetUtilization`?'],
      [{ sampler: {} }, 'CpuSlotSupplier: expected `sampler` to be a ResourceSampler, got `{}` (object).'],
    ],
  );

  it('constructor() rejects sampleIntervalMs next to a sampler, and a sampler without CPU', () => {
    const sampler = new FakeSampler({ cpu: true });
    expect(() => new CpuSlotSupplier({ sampler: sampler.asSampler, sampleIntervalMs: 50 })).toThrow(
      'CpuSlotSupplier: `sampleIntervalMs` applies only when the supplier creates its own sampler; set `intervalMs` on the sampler instead.',
    );
    const memoryOnly = new FakeSampler({ memory: true });
    expect(() => new CpuSlotSupplier({ sampler: memoryOnly.asSampler })).toThrow(
      'CpuSlotSupplier: expected `sampler` to sample CPU, but it was created with cpu: false.',
    );
  });

  it('constructor() starts the sampler it creates, and close() stops it; a given sampler is left alone', async () => {
    const start = vi.spyOn(ResourceSampler.prototype, 'start').mockImplementation(() => {});
    const stop = vi.spyOn(ResourceSampler.prototype, 'stop').mockImplementation(() => {});
    try {
      const own = new CpuSlotSupplier({ sampleIntervalMs: 50 });
      expect(start).toHaveBeenCalledTimes(0); // after construction completes, in a microtask
      await flush();
      expect(start).toHaveBeenCalledTimes(1);
      own.close();
      expect(stop).toHaveBeenCalledTimes(1);
      const { supplier, sampler } = cpuSupplier();
      await flush();
      expect(sampler.listeners).toBe(1);
      supplier.close();
      expect([sampler.starts, sampler.stops, sampler.listeners]).toEqual([0, 0, 0]);
      expect(stop).toHaveBeenCalledTimes(1);
    } finally {
      start.mockRestore();
      stop.mockRestore();
    }
  });

  it('reserveSlot() grants minSlots before any reading and on a saturated host, and no more', async () => {
    const { supplier, sampler } = cpuSupplier({ minSlots: 2, rampThrottleMs: 0 });
    const first = burst(supplier, 3);
    await flush();
    expect(grantedOf(first)).toHaveLength(2);
    sampler.cpuBusy(4); // 100 % of 4 cores
    await flush();
    expect(grantedOf(first)).toHaveLength(2);
    expect(supplier.snapshot()).toMatchObject({ issued: 2, waiting: 1 });
  });

  it('reserveSlot() stops at maxSlots on an idle host', async () => {
    const { supplier, sampler } = cpuSupplier({
      minSlots: 0,
      maxSlots: 3,
      rampThrottleMs: 0,
      costs: { default: { cpu: 0.25 } },
    });
    sampler.cpuBusy(0);
    const reservations = burst(supplier, 5);
    await flush();
    expect(grantedOf(reservations)).toHaveLength(3);
    sampler.cpuBusy(0);
    await flush();
    expect(supplier.snapshot()).toMatchObject({ issued: 3, waiting: 2, capacity: 3 });
  });

  it('reserveSlot() spaces grants above minSlots by rampThrottleMs, and the timer wakes the waiter', async () => {
    const { supplier, sampler } = cpuSupplier({
      minSlots: 1,
      rampThrottleMs: 100,
      costs: { default: { cpu: 0.25 } },
    });
    sampler.cpuBusy(0);
    const reservations = burst(supplier, 5);
    await flush();
    const counts: number[] = [grantedOf(reservations).length];
    for (const step of [99, 1, 99, 1, 100, 100, 100]) {
      await vi.advanceTimersByTimeAsync(step); // no new sample: only the ramp timer wakes waiters
      counts.push(grantedOf(reservations).length);
    }
    expect(counts).toEqual([1, 1, 2, 2, 3, 4, 5, 5]);
    expect(sampler.latest().seq).toBe(1);
  });

  it('reserveSlot() counts a running task once, never in the smoothed reading and at its cost both, and refills at once on a release', async () => {
    // 4 cores, target 0.75 = 3 cores, an idle 0.5 core, 0.75 declared per task: 0.5 + 3 x 0.75 = 2.75;
    // a fourth (3.5) is more than half a task above the target.
    const { supplier, sampler, reservations } = await tenReservations({ default: { cpu: 0.75 } });
    const permits = grantedOf(reservations);
    expect(permits).toHaveLength(3);
    for (const permit of permits) supplier.markSlotUsed({ permit, slotInfo: activityInfo() });
    // The smoothed reading shows each running task as the monitor smooths it (tau 500 ms, 100 ms ticks).
    const alpha = 1 - Math.exp(-100 / 500);
    const shares = [0, 0, 0, 0];
    const running = [true, true, true, false];
    const capacities: number[] = [];
    const tick = async () => {
      await vi.advanceTimersByTimeAsync(100);
      for (let i = 0; i < shares.length; i++) shares[i]! += alpha * ((running[i] ? 1 : 0) - shares[i]!);
      sampler.cpuBusy(0.5 + 0.75 * shares.reduce((sum, share) => sum + share, 0));
      await flush();
      capacities.push(supplier.snapshot().capacity!);
    };
    for (let t = 0; t < 1500; t += 100) await tick();
    // Counting a task in the reading and at its cost would have shrunk capacity as the reading rose.
    expect(capacities).toEqual(Array(15).fill(3));
    expect(grantedOf(reservations)).toHaveLength(3);
    // A task ends: its 0.75 core is free at once, though the reading still shows most of it.
    supplier.releaseSlot({ permit: permits[0]!, slotInfo: activityInfo() });
    running[0] = false;
    await flush();
    expect(grantedOf(reservations)).toHaveLength(4);
    supplier.markSlotUsed({ permit: grantedOf(reservations)[3]!, slotInfo: activityInfo() });
    running[3] = true;
    capacities.length = 0;
    for (let t = 0; t < 1500; t += 100) await tick();
    expect(capacities).toEqual(Array(15).fill(3));
    expect(grantedOf(reservations)).toHaveLength(4);
    expect(supplier.snapshot()).toMatchObject({ issued: 3, used: 3, waiting: 6 });
  });

  it('reserveSlot() keeps counting permits that wait for a task, however long they wait (idle pollers)', async () => {
    // Core reserves a slot before each poll: on an idle queue, permits sit reserved for minutes and
    // then all receive tasks at once. Each must count until its task shows in the readings.
    const { supplier, sampler, reservations } = await tenReservations({ default: { cpu: 0.75 } });
    expect(grantedOf(reservations)).toHaveLength(3);
    for (let t = 0; t < 60_000; t += 100) {
      await vi.advanceTimersByTimeAsync(100);
      sampler.cpuBusy(0.5);
    }
    const permits = grantedOf(reservations);
    expect(permits).toHaveLength(3);
    for (const permit of permits) supplier.markSlotUsed({ permit, slotInfo: activityInfo() });
    sampler.cpuBusy(0.5);
    await flush();
    expect(grantedOf(reservations)).toHaveLength(3); // 0.5 + 3 x 0.75 (charged) + 0.75 > 3
  });

  it('reserveSlot() without a cost probes one permit at a time, then admits by the cost learned through the smoothing', async () => {
    // 4 cores, target 0.75 = 3 cores, an idle 0.5 core; the probe uses 0.5 core, and the smoothed
    // reading shows it as the monitor smooths it (tau 500 ms, 100 ms ticks).
    const { supplier, sampler, reservations } = await tenReservations(); // no cost declared
    const [probe] = grantedOf(reservations);
    expect(grantedOf(reservations)).toHaveLength(1);
    supplier.markSlotUsed({ permit: probe!, slotInfo: activityInfo() });
    let shown = 0;
    const counts: number[] = [];
    for (let t = 100; t <= 500; t += 100) {
      await vi.advanceTimersByTimeAsync(100);
      shown += (1 - Math.exp(-100 / 500)) * (1 - shown);
      sampler.cpuBusy(0.5 + 0.5 * shown);
      await flush();
      counts.push(grantedOf(reservations).length);
    }
    // It shows 18 %, 33 %, 45 %, then 55 % of itself: enough to learn 0.5 core exactly at 400 ms.
    // Then 0.5 + 5 x 0.5 = 3 <= 3; a sixth (3.5) is more than half a task above the target.
    expect(counts).toEqual([1, 1, 1, 5, 5]);
    expect(Object.keys(supplier.snapshot().learned.activities)).toEqual(['work']);
    expect(supplier.snapshot().learned.activities.work?.cpu).toBeCloseTo(0.5, 12);
    expect(supplier.snapshot().capacity).toBe(5);
  });

  it('tryReserveSlot() keeps the gate closed until use falls hysteresis below the target, or a task leaves (no flapping)', () => {
    // 4 cores, target 0.75 = 3 cores, tasks of 0.5 core: admitted while the projection is at most
    // half a task above the target (busy <= 2.75); after a refusal, only once it is at most half a
    // task above the hysteresis band (0.125 x 4 = 0.5 core: busy <= 2.25), or a task's worth
    // (0.5 core) lower than when it closed.
    const options = {
      minSlots: 0,
      rampThrottleMs: 0,
      targetUtilization: 0.75,
      costs: { default: { cpu: 0.5 } },
    };
    const damped = cpuSupplier({ ...options, hysteresis: 0.125 });
    const flapping = cpuSupplier({ ...options, hysteresis: 0 });
    /** One reading, then one eager reservation (handed straight back): was it granted? */
    const decide = ({ supplier, sampler }: typeof damped, busy: number) => {
      sampler.cpuBusy(busy);
      const permit = supplier.tryReserveSlot(reserveCtx());
      if (permit) supplier.releaseSlot({ permit });
      return permit !== null;
    };
    const readings = [2.875, 2.625, 2.875, 2.625, 2.875, 2.625, 2.875, 2.625];
    // With hysteresis nothing is granted while readings swing around the target by less than a task...
    expect(readings.map((busy) => decide(damped, busy))).toEqual(readings.map(() => false));
    // ...without it, every dip under the target lets one through.
    expect(readings.map((busy) => decide(flapping, busy))).toEqual(readings.map((busy) => busy < 2.75));
    expect(decide(damped, 2.375)).toBe(true); // a task's worth (0.5) below the refusal at 2.875
    expect(decide(damped, 3)).toBe(false); // closed again at 3
    expect(decide(damped, 2.625)).toBe(false); // 0.375 lower: less than a task
    expect(decide(damped, 2.25)).toBe(true); // in the band: 2.25 + 0.5 - 0.25 <= 2.5
    expect(decide(damped, 2.625)).toBe(true); // open: back to the target itself
  });

  it('markSlotUsed() charges the declared cost of the task type; releaseSlot() refunds it', async () => {
    const { supplier, sampler } = cpuSupplier({
      minSlots: 3,
      costs: { default: { cpu: 0.25 }, activities: { render: { cpu: 2 } }, workflows: { wf: { cpu: 0.5 } } },
    });
    sampler.cpuBusy(0);
    const charged = () => supplier.snapshot().charged;
    const reservations = burst(supplier, 3);
    await flush();
    const [render, other, idle] = grantedOf(reservations);
    expect(charged()).toEqual({ cpu: 0, memoryBytes: 0, gpus: 0, gpuMemoryBytes: 0, heapBytes: 0 });
    supplier.markSlotUsed({ permit: render!, slotInfo: activityInfo('render') });
    expect(charged()).toEqual({ cpu: 2, memoryBytes: 0, gpus: 0, gpuMemoryBytes: 0, heapBytes: 0 });
    supplier.markSlotUsed({ permit: other!, slotInfo: activityInfo('resize') });
    expect(charged().cpu).toBe(2.25);
    supplier.releaseSlot({ permit: idle! }); // never used: nothing was charged for it
    expect(charged().cpu).toBe(2.25);
    supplier.releaseSlot({ permit: render!, slotInfo: activityInfo('render') });
    supplier.releaseSlot({ permit: render!, slotInfo: activityInfo('render') }); // no-op
    expect(charged().cpu).toBe(0.25);
    supplier.releaseSlot({ permit: other!, slotInfo: activityInfo('resize') });
    expect(charged()).toEqual({ cpu: 0, memoryBytes: 0, gpus: 0, gpuMemoryBytes: 0, heapBytes: 0 });
    expect(supplier.snapshot()).toMatchObject({ issued: 0, used: 0, errors: 0 });
  });

  it('snapshot() reports the latest CPU reading, null before the first', () => {
    const { supplier, sampler } = cpuSupplier();
    expect(supplier.snapshot().readings).toEqual({ cpu: null });
    sampler.cpuBusy(1.5, 2);
    expect(supplier.snapshot().readings).toEqual({
      cpu: { utilization: 0.75, usableCores: 2, ageMs: 0, stale: false, staleSince: null, reason: null },
    });
  });

  it('reads a real ResourceSampler over a fake /proc: a busy host holds a reservation until it idles', async () => {
    let clock = 0;
    const root = fakeRoot({ 'proc/stat': procStat(1000, 3000, 4) });
    const sampler = new ResourceSampler({ root: root.root, memory: false, now: () => clock });
    const supplier = new CpuSlotSupplier({
      sampler,
      now: () => clock,
      minSlots: 0,
      rampThrottleMs: 0,
      costs: { default: { cpu: 1 } },
    });
    closeAfterTest(supplier);
    const tick = (busy: number, idle: number) => {
      clock += 100;
      root.write('proc/stat', procStat(busy, idle, 4));
      return sampler.sampleNow();
    };
    sampler.sampleNow(); // the CPU monitor's baseline: no reading yet
    const waiter = track(supplier.reserveSlot(reserveCtx(), signal()));
    // Admitted while the projection is at most half a task (0.5 core) above 0.8 x 4 = 3.2 cores.
    expect(tick(1090, 3010).cpu).toMatchObject({ utilization: 0.9, usableCores: 4 }); // 3.6 + 1 > 3.7
    await flush();
    expect(waiter.settled()).toBe(false);
    // Idle ticks: utilization decays by exp(-100/500) per tick: 0.737 (2.95 + 1 > 3.7, and closed the
    // band is 3.5), then 0.603 (2.41 + 1 <= 3.5).
    tick(1090, 3110);
    await flush();
    expect(waiter.settled()).toBe(false);
    tick(1090, 3210);
    await flush();
    expect(waiter.settled()).toBe(true);
    expect(supplier.snapshot().readings.cpu?.utilization).toBeCloseTo(0.9 * Math.exp(-0.4), 12);
  });
});
