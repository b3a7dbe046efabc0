import { afterEach, describe, expect, it, vi } from 'vitest';
import { ResourceSampler } from '../../src/resources/sampler.js';
import { CpuSlotSupplier } from '../../src/suppliers/cpu-slot-supplier.js';
import { MemorySlotSupplier } from '../../src/suppliers/memory-slot-supplier.js';
import type { ResourceSlotSupplier } from '../../src/suppliers/resource-slot-supplier.js';
import type { SlotwisePermit } from '../../src/suppliers/types.js';
import { activityInfo, flush, recordingLogger, reserveCtx } from '../helpers/fakes.js';
import { cleanupTempDirs, fakeRoot, V1_MEMORY } from '../resources/fixtures/fake-root.js';
import { FakeSampler, GiB, MiB } from './fixtures/fake-sampler.js';
import { burst, fakeClockPerTest, grantedOf } from './fixtures/resource-supplier-setup.js';

// Registered first, so that it runs last: after the suppliers are closed (after-hooks run in reverse).
afterEach(() => cleanupTempDirs());
const closeAfterTest = fakeClockPerTest();

/** Marks every newly granted permit used, as core does when a task arrives for it. */
function runTasks(
  supplier: ResourceSlotSupplier,
  reservations: ReturnType<typeof burst<SlotwisePermit>>,
  running: Set<SlotwisePermit>,
) {
  for (const permit of grantedOf(reservations)) {
    if (running.has(permit)) continue;
    running.add(permit);
    supplier.markSlotUsed({ permit, slotInfo: activityInfo('holdMemory') });
  }
}

/**
 * A CpuSlotSupplier on 1 usable core at target 0.8, 12 tasks of 0.25 core asked at once, an idle
 * 0.02 core. The Worker's own start-up has the whole core when the first task starts and fades out
 * as the monitor smooths (tau 500 ms), as the tasks' shares of the reading rise. Returns the permits
 * granted after each 100 ms reading.
 */
async function grantsAfterBusyStart(cost: { cpu: number } | undefined, ms: number): Promise<number[]> {
  const sampler = new FakeSampler({ cpu: true });
  const running = new Set<SlotwisePermit>();
  const shares = new Map<SlotwisePermit, number>();
  const alpha = 1 - Math.exp(-100 / 500);
  let startup = 1;
  const supplier = new CpuSlotSupplier({
    sampler: sampler.asSampler,
    rampThrottleMs: 0,
    targetUtilization: 0.8,
    ...(cost ? { costs: { default: cost } } : {}),
  });
  closeAfterTest(supplier);
  sampler.cpuBusy(startup, 1); // idle, but starting up
  const reservations = burst(supplier, 12);
  await flush();
  runTasks(supplier, reservations, running);
  const granted: number[] = [];
  for (let t = 0; t < ms; t += 100) {
    await vi.advanceTimersByTimeAsync(100);
    let busy = 0;
    for (const permit of running) {
      const share = (shares.get(permit) ?? 0) + alpha * (1 - (shares.get(permit) ?? 0));
      shares.set(permit, share);
      busy += 0.25 * share;
    }
    startup += alpha * (0.02 - startup);
    sampler.cpuBusy(startup + busy, 1);
    await flush();
    runTasks(supplier, reservations, running);
    granted.push(grantedOf(reservations).length);
  }
  return granted;
}

type Order = 'sampler, supplier, task' | 'supplier, sampler, task' | 'supplier, task, sampler';
const ORDERS: Order[] = ['sampler, supplier, task', 'supplier, sampler, task', 'supplier, task, sampler'];

/**
 * The first reading (`read`), the supplier (`make`) and 12 reservations, in `order` (with the
 * reservations before the first reading, that reading comes 100 ms later); then a reading every 100 ms
 * for 4 s, and a task started on each permit as soon as it is granted (into `running`).
 */
async function startInOrder<S extends ResourceSlotSupplier>(
  order: Order,
  read: () => void,
  make: () => S,
  running: Set<SlotwisePermit>,
) {
  if (order === 'sampler, supplier, task') read();
  const supplier = closeAfterTest(make());
  if (order === 'supplier, sampler, task') read();
  const reservations = burst(supplier, 12);
  await flush();
  runTasks(supplier, reservations, running);
  for (let t = 0; t < 4000; t += 100) {
    await vi.advanceTimersByTimeAsync(100);
    read();
    await flush();
    runTasks(supplier, reservations, running);
  }
  return { supplier, reservations };
}

describe('resource admission: learning', () => {
  it.each(ORDERS)(
    'MemorySlotSupplier learns the same size and baseline, and fills the same, whatever starts first (%s)',
    async (order) => {
      // 2 GiB limit, target 0.9, an idle 144 MiB, tasks that allocate 256 MiB as they start.
      const idle = 144 * MiB;
      const sampler = new FakeSampler({ memory: true });
      const running = new Set<SlotwisePermit>();
      const read = () => sampler.memoryUsed(idle + running.size * 256 * MiB, 2 * GiB);
      const make = () =>
        new MemorySlotSupplier({ sampler: sampler.asSampler, rampThrottleMs: 0, targetUtilization: 0.9 });
      const { supplier, reservations } = await startInOrder(order, read, make, running);
      // floor((0.9 x 2048 - 144) / 256) = 6.
      expect(grantedOf(reservations)).toHaveLength(6);
      expect(supplier.snapshot().learned.activities).toEqual({ holdMemory: { memoryBytes: 256 * MiB } });
    },
  );

  it.each(ORDERS)(
    'CpuSlotSupplier learns the same cost and fills the same, whatever starts first (%s)',
    async (order) => {
      // 4 cores, target 0.75 = 3 cores, an idle 0.5 core, tasks of 1 core; readings smoothed as the
      // monitor smooths them (the first one raw).
      const sampler = new FakeSampler({ cpu: true });
      const running = new Set<SlotwisePermit>();
      const shares = new Map<SlotwisePermit, number>();
      let first = true;
      const read = () => {
        const alpha = first ? 1 : 1 - Math.exp(-100 / 500);
        first = false;
        let busy = 0.5;
        for (const permit of running) {
          const share = (shares.get(permit) ?? 0) + alpha * (1 - (shares.get(permit) ?? 0));
          shares.set(permit, share);
          busy += share;
        }
        sampler.cpuBusy(busy);
      };
      const make = () =>
        new CpuSlotSupplier({ sampler: sampler.asSampler, rampThrottleMs: 0, targetUtilization: 0.75 });
      const { supplier, reservations } = await startInOrder(order, read, make, running);
      // 0.5 + 3 x 1 = 3.5 is half a task above 3 (admitted), 4.5 is not.
      expect(grantedOf(reservations)).toHaveLength(3);
      const learned = supplier.snapshot().learned.activities;
      expect(Object.keys(learned)).toEqual(['holdMemory']);
      expect(learned.holdMemory?.cpu).toBeCloseTo(1, 9);
    },
  );

  it('CpuSlotSupplier learns a task that started while the Worker was still busy starting up, and never admits past the target on a low estimate', async () => {
    // The reading falls while the first task's share of it rises: the idle baseline, lowered to the
    // reading, took the first task in, and the cost learned against it was far below the truth:
    // 10 tasks admitted, 2.5 cores asked of 1.
    const granted = await grantsAfterBusyStart(undefined, 10_000);
    // 0.02 + 3 x 0.25 = 0.77 fits; a fourth (1.02) does not, even half of it (nearest rounding).
    expect(Math.max(...granted)).toBe(3);
    expect(granted.at(-1)).toBe(3);
  });

  it('a task already running at the first reading is never learned as free (the estimate never locks at 0)', async () => {
    // The supplier's first reading already shows its first task: it must not take that reading as
    // idle. Every later estimate stays above 0 while tasks run.
    const sampler = new FakeSampler({ memory: true });
    const supplier = new MemorySlotSupplier({
      sampler: sampler.asSampler,
      rampThrottleMs: 0,
      targetUtilization: 0.9,
    });
    closeAfterTest(supplier);
    const running = new Set<SlotwisePermit>();
    const reservations = burst(supplier, 20);
    await flush();
    runTasks(supplier, reservations, running);
    const granted: number[] = [];
    for (let t = 0; t < 3000; t += 100) {
      await vi.advanceTimersByTimeAsync(100);
      sampler.memoryUsed(144 * MiB + running.size * 256 * MiB, 2 * GiB);
      await flush();
      runTasks(supplier, reservations, running);
      granted.push(grantedOf(reservations).length);
      const learned = supplier.snapshot().learned.activities.holdMemory?.memoryBytes;
      if (learned !== undefined) expect(learned).toBeGreaterThan(0);
    }
    expect(Math.max(...granted)).toBe(6); // never more than fit
    expect(granted.at(-1)).toBe(6);
  });
});

describe('resource admission: declared costs', () => {
  it('CpuSlotSupplier with a declared cost fills its target after a busy start (a reading taken while the Worker started up is not the idle baseline for good)', async () => {
    // The bench's CPU scenario ran 2 tasks (0.52 of the core) for good: the idle baseline was taken
    // during start-up, fell only to the lowest reading with a task running, and outside usage was
    // never assumed below it. floor((0.8 - 0.02) / 0.25) = 3 fit; 0.02 + 4 x 0.25 - 0.125 > 0.8.
    const granted = await grantsAfterBusyStart({ cpu: 0.25 }, 6000);
    expect(Math.max(...granted)).toBe(3);
    expect(granted.at(-1)).toBe(3);
  });

  it('MemorySlotSupplier refills a finished wave at the first reading that shows its memory freed, and not before', async () => {
    // The memory guard: 2 GiB, 256 MiB tasks declared, an idle 144 MiB, target 0.9: 6 at a time.
    const sampler = new FakeSampler({ memory: true });
    const supplier = new MemorySlotSupplier({
      sampler: sampler.asSampler,
      minSlots: 0, // (a minSlots permit is issued whatever the readings)
      rampThrottleMs: 0,
      targetUtilization: 0.9,
      costs: { default: { memoryBytes: 256 * MiB } },
    });
    closeAfterTest(supplier);
    sampler.memoryUsed(144 * MiB, 2 * GiB);
    const reservations = burst(supplier, 30);
    await flush();
    const runWave = async () => {
      const wave = grantedOf(reservations).slice(-6);
      for (const permit of wave) supplier.markSlotUsed({ permit, slotInfo: activityInfo() });
      for (let t = 0; t < 2000; t += 100) {
        await vi.advanceTimersByTimeAsync(100);
        sampler.memoryUsed(144 * MiB + 6 * 256 * MiB, 2 * GiB);
      }
      await flush();
      for (const permit of wave) supplier.releaseSlot({ permit, slotInfo: activityInfo() });
      await flush();
    };
    expect(grantedOf(reservations)).toHaveLength(6);
    await runWave();
    expect(grantedOf(reservations)).toHaveLength(6); // no reading since: the memory may still be held
    await vi.advanceTimersByTimeAsync(100);
    sampler.memoryUsed(144 * MiB, 2 * GiB); // freed (worker threads exited): the next wave at once
    await flush();
    expect(grantedOf(reservations)).toHaveLength(12);

    // This wave's memory is freed late (garbage not yet collected): nothing is given out twice,
    // neither while the released tasks are followed nor after, when what is left counts as outside.
    await runWave();
    for (let t = 0; t < 2000; t += 100) {
      await vi.advanceTimersByTimeAsync(100);
      sampler.memoryUsed(144 * MiB + 4 * 256 * MiB, 2 * GiB);
      await flush();
      expect(grantedOf(reservations)).toHaveLength(12 + 2); // the 2 the reading shows free
    }
    sampler.memoryUsed(144 * MiB, 2 * GiB); // collected at last; the 2 new permits wait for tasks
    await flush();
    expect(grantedOf(reservations)).toHaveLength(18);
    expect(supplier.snapshot()).toMatchObject({ issued: 6, capacity: 6 });
  });

  it('MemorySlotSupplier admits nothing after a reading shows memory outside its tasks crossing the target', async () => {
    const sampler = new FakeSampler({ memory: true });
    const supplier = new MemorySlotSupplier({
      sampler: sampler.asSampler,
      minSlots: 0,
      rampThrottleMs: 0,
      targetUtilization: 0.8,
      costs: { default: { memoryBytes: 64 * MiB } },
    });
    closeAfterTest(supplier);
    sampler.memoryUsed(150 * MiB, 4 * GiB);
    let admitted = 0;
    const release: SlotwisePermit[] = [];
    // A steady stream: every 100 ms one task of 64 MiB starts and one ends.
    for (let t = 0; t < 1000; t += 100) {
      const permit = supplier.tryReserveSlot(reserveCtx());
      if (permit) admitted++;
      if (permit) release.push(permit);
      if (release.length > 2) supplier.releaseSlot({ permit: release.shift()! });
      await vi.advanceTimersByTimeAsync(100);
      sampler.memoryUsed(150 * MiB + release.length * 64 * MiB, 4 * GiB);
    }
    expect(admitted).toBe(10);
    // A sidecar takes 3.3 GiB: the next reading is above the 0.8 target with nothing of ours added.
    sampler.memoryUsed(150 * MiB + release.length * 64 * MiB + 3392 * MiB, 4 * GiB);
    let after = 0;
    for (let t = 0; t < 1000; t += 100) {
      if (supplier.tryReserveSlot(reserveCtx())) after++;
      if (release.length > 0) supplier.releaseSlot({ permit: release.shift()! });
      await vi.advanceTimersByTimeAsync(100);
      sampler.memoryUsed(150 * MiB + release.length * 64 * MiB + 3392 * MiB, 4 * GiB);
    }
    expect(after).toBe(0);
  });
});

describe('resource admission: stale readings', () => {
  it('reserveSlot() stops above minSlots when the reading is older than staleAfterMs, says so once, and resumes on a fresh one', async () => {
    const logger = recordingLogger();
    const sampler = new FakeSampler({ memory: true });
    const supplier = new MemorySlotSupplier({
      sampler: sampler.asSampler,
      logger,
      minSlots: 1,
      rampThrottleMs: 0,
      staleAfterMs: 500,
      costs: { default: { memoryBytes: 256 * MiB } },
      name: 'mem',
    });
    closeAfterTest(supplier);
    sampler.memoryUsed(GiB, 8 * GiB);
    await vi.advanceTimersByTimeAsync(500);
    expect(supplier.snapshot().readings.memory).toMatchObject({ ageMs: 500, stale: false, staleSince: null });
    await vi.advanceTimersByTimeAsync(1);
    expect(supplier.snapshot().readings.memory).toMatchObject({ ageMs: 501, stale: true, staleSince: 500 });
    const reservations = burst(supplier, 4);
    await flush();
    expect(grantedOf(reservations)).toHaveLength(1); // minSlots only
    burst(supplier, 2);
    await vi.advanceTimersByTimeAsync(1000);
    expect(logger.messages('warn')).toEqual([
      "slotwise supplier 'mem': the memory reading is stale (taken 0.5 s ago, bound 0.5 s); issuing no permit above minSlots (1) until a fresh reading arrives",
    ]);
    sampler.memoryUsed(GiB, 8 * GiB);
    await flush();
    expect(grantedOf(reservations)).toHaveLength(4);
    expect(logger.messages('warn').at(-1)).toBe("slotwise supplier 'mem': the memory reading is fresh again");
    expect(supplier.snapshot().readings.memory).toMatchObject({ ageMs: 0, stale: false });
  });

  it('logs a reading going stale when it happens, once, even when no reservation comes', async () => {
    const logger = recordingLogger();
    const sampler = new FakeSampler({ cpu: true });
    const supplier = new CpuSlotSupplier({
      sampler: sampler.asSampler,
      logger,
      now: () => Date.now(),
      staleAfterMs: 1000,
      name: 'quiet',
    });
    closeAfterTest(supplier);
    for (let t = 0; t < 500; t += 100) {
      sampler.cpuBusy(0.5);
      await vi.advanceTimersByTimeAsync(100);
    }
    expect(logger.messages('warn')).toEqual([]);
    await vi.advanceTimersByTimeAsync(1000); // the last reading, at 400 ms, is stale from 1401 ms
    await vi.advanceTimersByTimeAsync(10_000);
    expect(logger.messages('warn')).toEqual([
      "slotwise supplier 'quiet': the cpu reading is stale (taken 1.0 s ago, bound 1.0 s); issuing no permit above minSlots (1) until a fresh reading arrives",
    ]);
  });

  it('says why readings are stale: a stopped sampler, or the error of a failing read', async () => {
    let clock = 0;
    const root = fakeRoot({
      [`${V1_MEMORY}/memory.usage_in_bytes`]: String(GiB),
      [`${V1_MEMORY}/memory.limit_in_bytes`]: String(8 * GiB),
      [`${V1_MEMORY}/memory.stat`]: 'total_inactive_file 0\n',
    });
    for (const cause of ['stopped', 'failing'] as const) {
      const logger = recordingLogger();
      const sampler = new ResourceSampler({
        root: root.root,
        cpu: false,
        intervalMs: 100,
        logger,
        now: () => clock,
      });
      const supplier = new MemorySlotSupplier({
        sampler,
        logger,
        now: () => clock,
        minSlots: 0,
        rampThrottleMs: 0,
        costs: { default: { memoryBytes: 256 * MiB } },
        name: `mem-${cause}`,
      });
      closeAfterTest(supplier);
      sampler.sampleNow();
      expect(supplier.tryReserveSlot(reserveCtx())).not.toBeNull();
      if (cause === 'stopped') {
        sampler.stop();
      } else {
        root.write(`${V1_MEMORY}/memory.usage_in_bytes`, 'garbage');
        sampler.sampleNow();
      }
      clock += 1001; // the default bound: 5 intervals of 100 ms, at least 1 s
      expect(supplier.tryReserveSlot(reserveCtx())).toBeNull();
      const why =
        cause === 'stopped'
          ? 'the sampler is stopped'
          : 'cannot parse cgroup memory.usage_in_bytes: "garbage"';
      expect(logger.messages('warn').filter((m) => m.startsWith('slotwise supplier'))).toEqual([
        `slotwise supplier 'mem-${cause}': the memory reading is stale (taken 1.0 s ago, bound 1.0 s: ${why}); issuing no permit above minSlots (0) until a fresh reading arrives`,
      ]);
      expect(supplier.snapshot().readings.memory).toMatchObject({ stale: true, reason: why });
      sampler.stop();
      root.write(`${V1_MEMORY}/memory.usage_in_bytes`, String(GiB));
    }
  });
});

describe('resource admission: cost of a decision', () => {
  it.each(['memory', 'cpu'] as const)(
    'a %s decision with 300 tasks running reads the clock a few times, not once per permit',
    async (resource) => {
      let reads = 0;
      const now = () => {
        reads++;
        return Date.now();
      };
      const sampler = new FakeSampler({ [resource]: true });
      const options = {
        sampler: sampler.asSampler,
        now,
        rampThrottleMs: 0,
        maxSlots: 2000,
      };
      const supplier =
        resource === 'memory'
          ? new MemorySlotSupplier({ ...options, costs: { default: { memoryBytes: MiB } } })
          : new CpuSlotSupplier({ ...options, costs: { default: { cpu: 0.001 } } });
      closeAfterTest(supplier);
      if (resource === 'memory') sampler.memoryUsed(GiB, 8 * GiB);
      else sampler.cpuBusy(0.1);
      for (let i = 0; i < 300; i++) {
        const permit = supplier.tryReserveSlot(reserveCtx());
        expect(permit).not.toBeNull();
        supplier.markSlotUsed({ permit: permit!, slotInfo: activityInfo('small') });
      }
      reads = 0;
      expect(supplier.tryReserveSlot(reserveCtx())).not.toBeNull();
      expect(reads).toBeLessThan(10);
    },
  );
});

describe('resource admission: the stale-reading timer', () => {
  it('waits at most what a Node timer can wait, however long the default bound is (5 sample intervals)', async () => {
    const delays: number[] = [];
    const real = globalThis.setTimeout;
    const spy = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms?: number) => {
      delays.push(ms ?? 0);
      return real(fn, ms);
    }) as typeof setTimeout);
    try {
      const sampler = new FakeSampler({ cpu: true });
      // A sampler sampling as rarely as a timer allows: 5 intervals are more than a timer can wait.
      // (`staleAfterMs` itself is refused above 2^31 - 1 ms, see below.)
      Object.assign(sampler, { intervalMs: 2_147_483_647 });
      const supplier = new CpuSlotSupplier({ sampler: sampler.asSampler, now: () => Date.now() });
      closeAfterTest(supplier);
      sampler.cpuBusy(0.5);
      expect(delays.length).toBeGreaterThan(0);
      expect(Math.max(...delays)).toBe(2_147_483_647);
    } finally {
      spy.mockRestore();
    }
  });

  it('constructor() refuses a staleAfterMs longer than a Node timer can wait, as the config file does', () => {
    const sampler = new FakeSampler({ cpu: true });
    expect(() => new CpuSlotSupplier({ sampler: sampler.asSampler, staleAfterMs: 1e12 })).toThrow(
      'CpuSlotSupplier: expected `staleAfterMs` to be a whole number of milliseconds in [1, 2147483647], got `1000000000000` (number).',
    );
  });
});
