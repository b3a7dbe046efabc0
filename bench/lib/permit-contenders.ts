// The suppliers scenario 1 (permit cost) measures in one process, behind one small interface, and
// the inline semaphore they are compared with.

import { setMaxListeners } from 'node:events';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SlotInfo, SlotReserveContext } from '@temporalio/worker';
import { GpuMonitor, type GpuReading } from '../../src/resources/gpu-monitor.js';
import { ResourceSampler } from '../../src/resources/sampler.js';
import { CompositeSlotSupplier } from '../../src/suppliers/composite-slot-supplier.js';
import { CpuSlotSupplier } from '../../src/suppliers/cpu-slot-supplier.js';
import { FixedSlotSupplier } from '../../src/suppliers/fixed-slot-supplier.js';
import { GpuSlotSupplier } from '../../src/suppliers/gpu-slot-supplier.js';
import { MemorySlotSupplier } from '../../src/suppliers/memory-slot-supplier.js';
import type { SupplierSnapshot } from '../../src/suppliers/types.js';

/** What every contender offers: the calls core makes, as closures. */
export interface PermitContender {
  id: string;
  label: string;
  reserve(signal?: AbortSignal): Promise<unknown>;
  tryReserve(): unknown;
  markUsed(permit: unknown): void;
  release(permit: unknown): void;
  /** Counts, for checking that a measurement held what it meant to hold (`null` for the floor). */
  snapshot(): Pick<SupplierSnapshot, 'issued' | 'used' | 'waiting'> | null;
  /**
   * Takes fresh readings, as a running sampler would between decisions (frozen contenders only;
   * every frozen contender takes the same ones, so the cold caches a refresh leaves cost them alike).
   * A resource supplier follows a released task until a reading taken after the release: without
   * new readings that list only grows, and every decision would walk all of it.
   */
  refresh?(): Promise<void>;
  close(): void;
}

export const RESERVE_CTX: SlotReserveContext = {
  slotType: 'activity',
  taskQueue: 'bench',
  workerIdentity: 'bench',
  workerBuildId: '',
  isSticky: false,
};
const SLOT_INFO: SlotInfo = { type: 'activity', activityType: 'bench' };

/** The floor: a counting semaphore with nothing but a count and a FIFO of waiters. */
export class InlineSemaphore {
  #free: number;
  readonly #waiters: Array<(permit: object) => void> = [];
  constructor(slots: number) {
    this.#free = slots;
  }
  acquire(): Promise<object> {
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve({});
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
  tryAcquire(): object | null {
    if (this.#free > 0) {
      this.#free--;
      return {};
    }
    return null;
  }
  release(): void {
    const next = this.#waiters.shift();
    if (next) next({});
    else this.#free++;
  }
}

export function floorContender(slots: number): PermitContender {
  const semaphore = new InlineSemaphore(slots);
  return {
    id: 'floor',
    label: 'inline semaphore (floor)',
    reserve: () => semaphore.acquire(),
    tryReserve: () => semaphore.tryAcquire(),
    markUsed() {},
    release: () => semaphore.release(),
    snapshot: () => null,
    close() {},
  };
}

/** A slotwise supplier as a {@link PermitContender}. */
export function supplierContender(
  id: string,
  label: string,
  supplier: {
    reserveSlot(ctx: SlotReserveContext, signal: AbortSignal): Promise<unknown>;
    tryReserveSlot(ctx: SlotReserveContext): unknown;
    markSlotUsed(ctx: { permit: unknown; slotInfo: SlotInfo }): void;
    releaseSlot(ctx: { permit: unknown; slotInfo?: SlotInfo }): void;
    snapshot(): SupplierSnapshot;
  },
  close: () => void = () => {},
  refresh?: () => Promise<void>,
): PermitContender {
  const never = new AbortController().signal;
  // Every pending reservation of the contender listens on this one signal (core passes a fresh one
  // each time; here one stands for all, so no allocation is timed): more than 10 listeners is
  // expected, not a leak (a grant removes its listener).
  setMaxListeners(Number.POSITIVE_INFINITY, never);
  return {
    id,
    label,
    reserve: (signal = never) => supplier.reserveSlot(RESERVE_CTX, signal),
    tryReserve: () => supplier.tryReserveSlot(RESERVE_CTX),
    markUsed: (permit) => supplier.markSlotUsed({ permit, slotInfo: SLOT_INFO }),
    release: (permit) => supplier.releaseSlot({ permit, slotInfo: SLOT_INFO }),
    snapshot: () => supplier.snapshot(),
    ...(refresh ? { refresh } : {}),
    close,
  };
}

/**
 * A directory standing for `/` with a frozen /proc/stat (10% busy between the two samples taken)
 * and /proc/meminfo (25% used), and a fake `nvidia-smi` with one 80 GiB GPU at 10% memory. Readings
 * stay the same for the whole run, so every contender admits every time and the numbers are the
 * cost of the decision itself, not of the machine's mood.
 */
export function frozenHost(dir: string): { root: string; nvidiaSmi: string; advanceCpu(): void } {
  const root = join(dir, 'root');
  mkdirSync(join(root, 'proc'), { recursive: true });
  const stat = (busy: number, idle: number) =>
    `cpu  ${busy} 0 0 ${idle} 0 0 0 0 0 0\ncpu0 ${busy / 2} 0 0 ${idle / 2} 0 0 0 0 0 0\ncpu1 ${busy / 2} 0 0 ${idle / 2} 0 0 0 0 0 0\n`;
  writeFileSync(join(root, 'proc/stat'), stat(1000, 9000));
  writeFileSync(
    join(root, 'proc/meminfo'),
    'MemTotal:       16000000 kB\nMemFree:        12000000 kB\nMemAvailable:   12000000 kB\n',
  );
  const nvidiaSmi = join(dir, 'nvidia-smi');
  writeFileSync(
    nvidiaSmi,
    // Like the real tool: with `-lms N` the same line again every N ms until killed.
    [
      '#!/bin/sh',
      'line="0, GPU-00000000-bench-0000-0000-000000000000, 10, 8192, 81920"',
      'echo "$line"',
      'prev=""; for a in "$@"; do [ "$prev" = "-lms" ] && ms="$a"; prev="$a"; done',
      'if [ -n "$ms" ]; then while sleep "$(awk "BEGIN{print $ms/1000}")"; do echo "$line"; done; fi',
      '',
    ].join('\n'),
  );
  chmodSync(nvidiaSmi, 0o755);
  // Each advance adds the same 10 % busy interval, so every new CPU reading says the same.
  let advances = 0;
  const advanceCpu = () => {
    advances++;
    writeFileSync(join(root, 'proc/stat'), stat(1000 + 100 * advances, 9000 + 900 * advances));
  };
  return { root, nvidiaSmi, advanceCpu };
}

/**
 * Runs the fake `nvidia-smi` once, then hands out that reading again, stamped now, without a process.
 * Starting a process forks this one (libuv on Linux): the first writes after it take copy-on-write
 * page faults, which cost the next decision 150-250 us, whichever supplier decides (FixedSlotSupplier
 * included), so a decision timed after a real call measures the fork, not the decision.
 */
class FrozenGpuMonitor extends GpuMonitor {
  #first: GpuReading | null = null;
  constructor(command: string) {
    super({ command, now: () => performance.now() });
  }
  override async sample(): Promise<GpuReading | null> {
    this.#first ??= await super.sample();
    return this.#first === null ? null : { ...this.#first, at: performance.now() };
  }
}

/**
 * The most permits GpuSlotSupplier is weighed over: it picks a device for every permit by walking
 * (and copying) every live permit, even within minSlots, so holding 100k would take O(n^2).
 */
export const GPU_WEIGH_MAX = 10_000;

/** How the frozen contenders gate: see {@link frozenContenders}. */
export interface FrozenOptions {
  /** Permits that may be outstanding at once (maxSlots). */
  maxSlots: number;
  /**
   * `'gate'`: minSlots 0 and a small declared cost, so every decision runs the whole projection.
   * `'count'`: minSlots = maxSlots and no cost, so admission is a count (for holding 100k permits
   * to weigh them: what a permit weighs does not depend on the gate).
   */
  mode: 'gate' | 'count';
}

/**
 * The floor, every slotwise supplier and a composite, resource suppliers reading frozen samples
 * (see {@link frozenHost}) with no ramp and `settleMs: 0` (a release leaves nothing behind), so the
 * numbers are the decision itself.
 */
export async function frozenContenders(dir: string, options: FrozenOptions): Promise<PermitContender[]> {
  const host = frozenHost(dir);
  const cpuSampler = new ResourceSampler({ root: host.root, memory: false });
  cpuSampler.sampleNow();
  host.advanceCpu();
  cpuSampler.sampleNow();
  const memSampler = new ResourceSampler({ root: host.root, cpu: false });
  memSampler.sampleNow();
  const gpuSampler = new ResourceSampler({
    cpu: false,
    memory: false,
    gpu: new FrozenGpuMonitor(host.nvidiaSmi),
  });
  await gpuSampler.sampleGpu();
  if (!cpuSampler.latest().cpu || !memSampler.latest().memory || !gpuSampler.latest().gpu?.devices.length) {
    throw new Error('permit-cost: the frozen readings did not load');
  }
  const gate = options.mode === 'gate';
  const common = {
    minSlots: gate ? 0 : options.maxSlots,
    maxSlots: options.maxSlots,
    rampThrottleMs: 0,
    targetUtilization: 0.95,
    settleMs: 0,
    // The frozen readings are refreshed only between timed decisions: they must not count as stale.
    staleAfterMs: 2 ** 31 - 1,
  };
  const cost = <T>(c: T) => (gate ? { costs: { default: c } } : {});
  const fixed = new FixedSlotSupplier({ slots: options.maxSlots, name: 'bench-fixed' });
  const cpu = new CpuSlotSupplier({ ...common, sampler: cpuSampler, ...cost({ cpu: 0.0001 }) });
  const memory = new MemorySlotSupplier({ ...common, sampler: memSampler, ...cost({ memoryBytes: 1024 }) });
  const gpu = new GpuSlotSupplier({
    ...common,
    minSlots: gate ? 0 : options.maxSlots,
    sampler: gpuSampler,
    slotsPerDevice: options.maxSlots,
    ...cost({ gpuMemoryBytes: 1024 }),
  });
  const compositeFixed = new FixedSlotSupplier({ slots: options.maxSlots, name: 'bench-composite-fixed' });
  const compositeMemory = new MemorySlotSupplier({
    ...common,
    sampler: memSampler,
    ...cost({ memoryBytes: 1024 }),
  });
  const composite = new CompositeSlotSupplier([compositeFixed, compositeMemory]);
  // Every contender, the floor and FixedSlotSupplier included, is timed after the same refresh: a
  // refresh's file I/O leaves caches cold, and the decision after it is slower whatever decides
  // (FixedSlotSupplier's after the CPU refresh: median 23 us against 4 us; see bench/README
  // finding 9). Refreshing only some contenders would charge that to them alone.
  const refresh = async () => {
    host.advanceCpu();
    cpuSampler.sampleNow();
    memSampler.sampleNow();
    await gpuSampler.sampleGpu();
  };
  return [
    { ...floorContender(options.maxSlots), refresh },
    supplierContender('fixed', 'FixedSlotSupplier', fixed, undefined, refresh),
    supplierContender('cpu', 'CpuSlotSupplier', cpu, () => cpu.close(), refresh),
    supplierContender('memory', 'MemorySlotSupplier', memory, () => memory.close(), refresh),
    supplierContender('gpu', 'GpuSlotSupplier', gpu, () => gpu.close(), refresh),
    supplierContender(
      'composite',
      'Composite(Fixed+Memory)',
      composite,
      () => {
        composite.close();
        compositeMemory.close();
      },
      refresh,
    ),
  ];
}

/** A contender created only when measured, so that its sampler runs alone. */
export interface ContenderFactory {
  id: string;
  label: string;
  create(): PermitContender;
}

/**
 * Every slotwise supplier and a composite as a user would create them: each with the sampler it
 * creates by default (real /proc and cgroup files at its default interval; the GPU supplier runs
 * one `nvidiaSmi -lms 1000` loop) and its default settle time. `targetUtilization: 1`, `minSlots: 0` and a
 * zero declared cost let the gate run in full on every decision yet admit whatever this machine's
 * load, so that a paced loop measures the cost of deciding, not the machine's mood; `rampThrottleMs:
 * 0` because the default ramp (one permit per 50 ms above `minSlots`) caps admissions at 20/s, a
 * policy rather than a cost.
 */
export function defaultSamplerContenders(nvidiaSmi: string): ContenderFactory[] {
  const open = { targetUtilization: 1, maxSlots: 100_000, minSlots: 0, rampThrottleMs: 0 };
  return [
    {
      id: 'fixed',
      label: 'FixedSlotSupplier (no sampler)',
      create: () =>
        supplierContender(
          'fixed',
          'FixedSlotSupplier',
          new FixedSlotSupplier({ slots: 100_000, name: 'bench-eld-fixed' }),
        ),
    },
    {
      id: 'cpu',
      label: 'CpuSlotSupplier (own sampler, 100 ms)',
      create() {
        const cpu = new CpuSlotSupplier({ ...open, costs: { default: { cpu: 0 } } });
        return supplierContender('cpu', this.label, cpu, () => cpu.close());
      },
    },
    {
      id: 'memory',
      label: 'MemorySlotSupplier (own sampler, 100 ms)',
      create() {
        const memory = new MemorySlotSupplier({ ...open, costs: { default: { memoryBytes: 0 } } });
        return supplierContender('memory', this.label, memory, () => memory.close());
      },
    },
    {
      id: 'gpu',
      label: 'GpuSlotSupplier (own sampler, nvidia-smi -lms 1000)',
      create() {
        const gpu = new GpuSlotSupplier({
          ...open,
          nvidiaSmi,
          slotsPerDevice: 100_000,
          costs: { default: { gpuMemoryBytes: 0 } },
        });
        return supplierContender('gpu', this.label, gpu, () => gpu.close());
      },
    },
    {
      id: 'composite',
      label: 'Composite(Fixed+Memory, own sampler)',
      create() {
        const memory = new MemorySlotSupplier({ ...open, costs: { default: { memoryBytes: 0 } } });
        const composite = new CompositeSlotSupplier([
          new FixedSlotSupplier({ slots: 100_000, name: 'bench-eld-composite-fixed' }),
          memory,
        ]);
        return supplierContender('composite', this.label, composite, () => {
          composite.close();
          memory.close();
        });
      },
    },
  ];
}
