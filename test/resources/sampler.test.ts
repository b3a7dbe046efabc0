import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CpuMonitor } from '../../src/resources/cpu-monitor.js';
import { MemoryMonitor } from '../../src/resources/memory-monitor.js';
import { type ResourceSample, ResourceSampler } from '../../src/resources/sampler.js';
import { itRejectsOptions } from '../helpers/option-errors.js';
import {
  cleanupTempDirs,
  type FakeRoot,
  fakeRoot,
  firstCpuReading,
  gpuEnv,
  meminfo,
  procStat,
  recordingLogger,
  tempDir,
  V2,
} from './fixtures/fake-root.js';

const MiB = 1024 * 1024;

/** A cgroup v2 container with a 0.5-core quota and a 1 GiB memory limit. */
function container() {
  return fakeRoot({
    [`${V2}/cgroup.controllers`]: 'cpu memory\n',
    [`${V2}/cpu.max`]: '50000 100000\n',
    [`${V2}/cpu.stat`]: 'usage_usec 0\n',
    [`${V2}/memory.current`]: `${512 * MiB}\n`,
    [`${V2}/memory.max`]: `${1024 * MiB}\n`,
    [`${V2}/memory.stat`]: 'inactive_file 0\n',
    'proc/stat': procStat(1000, 3000, 4),
    'proc/meminfo': meminfo(8_000_000, 6_000_000),
  });
}

afterEach(() => {
  vi.useRealTimers();
  cleanupTempDirs();
});

describe('ResourceSampler', () => {
  itRejectsOptions(
    (options) => new ResourceSampler(options),
    [
      [
        { intervalMs: 0 },
        'ResourceSampler: expected `intervalMs` to be a whole number of milliseconds in [1, 2147483647], got `0`',
      ],
      [
        { gpuIntervalMs: 2.5 },
        'ResourceSampler: expected `gpuIntervalMs` to be a whole number of milliseconds in [1, 2147483647]',
      ],
      [
        { gpu: true },
        'ResourceSampler: expected `gpu` to be a GpuMonitor, GpuMonitor options or `false`, got `true` (boolean).',
      ],
      [{ cpu: 'yes' }, 'ResourceSampler: expected `cpu` to be a CpuMonitor, CpuMonitor options or `false`'],
      [
        { memory: { scope: 'pod' } },
        "MemoryMonitor: expected `scope` to be one of 'cgroup', 'host', 'process'",
      ],
      [{ interval: 100 }, 'ResourceSampler: unknown option `interval`. Did you mean `intervalMs`?'],
    ],
  );

  it('constructor() uses given monitors, skips disabled ones and starts with an empty sample', () => {
    const fake = container();
    const memory = new MemoryMonitor({ root: fake.root });
    const sampler = new ResourceSampler({ root: fake.root, cpu: false, memory, now: () => 3 });
    expect(sampler.cpu).toBeNull();
    expect(sampler.memory).toBe(memory);
    expect(sampler.gpu).toBeNull();
    expect(sampler.latest()).toEqual({
      seq: 0,
      at: 3,
      cpu: null,
      memory: null,
      gpu: null,
      heap: null,
      errors: 0,
    });
    expect(sampler.sampleNow()).toMatchObject({ seq: 1, cpu: null, memory: { usedBytes: 512 * MiB } });
  });

  describe('with fake timers', () => {
    beforeEach(() => {
      vi.useFakeTimers();
      vi.setSystemTime(0);
    });

    /** A sampler of `fake` every 250 ms on the fake clock, logging to a recording logger. */
    function loggingSampler(fake: FakeRoot) {
      const logger = recordingLogger();
      const sampler = new ResourceSampler({
        root: fake.root,
        intervalMs: 250,
        logger,
        now: () => Date.now(),
      });
      return { sampler, logger };
    }

    it('latest() returns the cached sample and does no I/O until the next tick', () => {
      const fake = container();
      const sampler = new ResourceSampler({ root: fake.root, intervalMs: 250, now: () => Date.now() });
      sampler.start();
      const first = sampler.latest();
      expect(first.memory).toMatchObject({ usedBytes: 512 * MiB, ratio: 0.5 });

      fake.write(`${V2}/memory.current`, `${768 * MiB}\n`);
      fake.write(`${V2}/cpu.stat`, 'usage_usec 100000\n');
      vi.advanceTimersByTime(249);
      expect(sampler.latest()).toBe(first);
      expect(sampler.latest().memory!.usedBytes).toBe(512 * MiB);

      vi.advanceTimersByTime(1);
      const next = sampler.latest();
      expect(next.seq).toBe(2);
      expect(next.memory).toMatchObject({ usedBytes: 768 * MiB, ratio: 0.75, worstRecentRatio: 0.75 });
      expect(next.cpu).toEqual(
        firstCpuReading({ raw: 0.8, usableCores: 0.5, source: 'cgroup-v2', quotaCores: 0.5, at: 250 }),
      );
      sampler.stop();
    });

    it('start() samples at once and then every intervalMs', () => {
      const fake = container();
      const sampler = new ResourceSampler({ root: fake.root, intervalMs: 100, now: () => Date.now() });
      sampler.start();
      expect(sampler.latest()).toMatchObject({ seq: 1, at: 0 });
      expect(sampler.latest().cpu).toBeNull(); // CPU needs two readings
      vi.advanceTimersByTime(99);
      expect(sampler.latest().seq).toBe(1);
      vi.advanceTimersByTime(1);
      expect(sampler.latest()).toMatchObject({ seq: 2, at: 100 });
      vi.advanceTimersByTime(300);
      expect(sampler.latest()).toMatchObject({ seq: 5, at: 400 });
      sampler.stop();
    });

    it('start() and stop() are idempotent; stop() ends ticks and start() resumes them', () => {
      const fake = container();
      const sampler = new ResourceSampler({ root: fake.root, intervalMs: 250, now: () => Date.now() });
      sampler.start();
      sampler.start();
      expect(sampler.running).toBe(true);
      expect(vi.getTimerCount()).toBe(1);
      expect(sampler.latest().seq).toBe(1);

      sampler.stop();
      sampler.stop();
      expect(sampler.running).toBe(false);
      expect(vi.getTimerCount()).toBe(0);
      vi.advanceTimersByTime(1000);
      expect(sampler.latest().seq).toBe(1);

      sampler.start();
      vi.advanceTimersByTime(500);
      expect(sampler.latest().seq).toBe(4);
      sampler.stop();
    });

    it('subscribe() notifies every new sample until unsubscribed; unsubscribe is idempotent', () => {
      const fake = container();
      const sampler = new ResourceSampler({ root: fake.root, intervalMs: 250, now: () => Date.now() });
      const seen: number[] = [];
      const listener = (sample: ResourceSample) => seen.push(sample.seq);
      const unsubscribe = sampler.subscribe(listener);
      const other = sampler.subscribe(listener);
      sampler.start();
      vi.advanceTimersByTime(250);
      unsubscribe();
      unsubscribe();
      vi.advanceTimersByTime(250);
      other();
      vi.advanceTimersByTime(250);
      expect(seen).toEqual([1, 1, 2, 2, 3]);
      sampler.stop();
    });

    it('subscribe() logs a throwing listener once, counts it and still calls the others', () => {
      const { sampler, logger } = loggingSampler(container());
      sampler.subscribe(() => {
        throw new Error('boom');
      });
      const seen: number[] = [];
      sampler.subscribe((sample) => seen.push(sample.seq));
      sampler.sampleNow();
      sampler.sampleNow();
      expect(seen).toEqual([1, 2]);
      expect(logger.lines).toEqual([
        { level: 'warn', message: 'ResourceSampler: a sample listener threw: boom' },
      ]);
      expect(sampler.sampleNow().errors).toBe(2);
    });

    it('sampleNow() keeps the previous reading marked stale when a reader fails, logging each error once', () => {
      const fake = container();
      const { sampler, logger } = loggingSampler(fake);
      sampler.start();
      const good = sampler.latest().memory!;

      fake.write(`${V2}/memory.max`, 'garbage\n');
      vi.advanceTimersByTime(500);
      const sample = sampler.latest();
      expect(sample.seq).toBe(3);
      expect(sample.errors).toBe(2);
      expect(sample.memory).toEqual({ ...good, stale: true });
      expect(sample.cpu).toMatchObject({ stale: false });
      expect(logger.lines).toEqual([
        {
          level: 'warn',
          message: 'ResourceSampler: memory reading failed: cannot parse cgroup memory limit: "garbage"',
        },
      ]);

      fake.write(`${V2}/memory.max`, `${2048 * MiB}\n`);
      vi.advanceTimersByTime(250);
      expect(sampler.latest().memory).toMatchObject({ ratio: 0.25, stale: false });
      expect(sampler.latest().errors).toBe(2);
      sampler.stop();
    });

    it('sampleNow() keeps a reader that fails from the start at null', () => {
      const fake = container();
      fake.write('proc/stat', 'nothing here\n');
      fake.write(`${V2}/cpu.max`, 'max 100000\n');
      const sampler = new ResourceSampler({
        root: fake.root,
        logger: recordingLogger(),
        now: () => Date.now(),
      });
      expect(sampler.sampleNow()).toMatchObject({ cpu: null, errors: 1 });
    });
  });

  it("start() does not keep the process alive (its timers are unref'd)", () => {
    const fake = container();
    const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timeouts();
    const sampler = new ResourceSampler({
      root: fake.root,
      logger: recordingLogger(),
      gpu: { env: gpuEnv() },
    });
    sampler.start();
    expect(timeouts()).toBe(before + 1); // only the nvidia-smi timeout, which ends with the call
    sampler.stop();
  });

  it('sampleGpu() publishes one sample per nvidia-smi call', async () => {
    const sampler = new ResourceSampler({ cpu: false, memory: false, gpu: { env: gpuEnv() } });
    const seen: ResourceSample[] = [];
    sampler.subscribe((sample) => seen.push(sample));
    const [a, b] = await Promise.all([sampler.sampleGpu(), sampler.sampleGpu()]);
    expect(a).toBe(b);
    expect(seen).toHaveLength(1);
    expect(a.seq).toBe(1);
    expect(a.gpu?.devices.map((d) => d.index)).toEqual([0, 1]);
  });

  it('start() runs one plain nvidia-smi call, then one `-lms gpuIntervalMs` loop whose rounds are published; stop() kills it', async () => {
    const dir = tempDir();
    const log = join(dir, 'calls.log');
    const pids = join(dir, 'pids');
    const calls = () => readFileSync(log, 'utf8').trim().split('\n');
    const sampler = new ResourceSampler({
      cpu: false,
      memory: false,
      gpuIntervalMs: 40,
      gpu: { env: gpuEnv({ FAKE_NVSMI_LOG: log, FAKE_NVSMI_PIDS: pids }) },
    });
    const seen: ResourceSample[] = [];
    sampler.subscribe((sample) => seen.push(sample));
    const handles = () => process.getActiveResourcesInfo().filter((r) => /Process|Pipe/.test(r));
    const before = handles();
    sampler.start();
    // The plain call's reading, then rounds of the loop: each a new reading, published.
    const readings = () => new Set(seen.map((sample) => sample.gpu).filter((gpu) => gpu !== null)).size;
    await vi.waitFor(() => expect(readings()).toBeGreaterThanOrEqual(4), { timeout: 10_000, interval: 20 });
    expect(seen.at(-1)?.gpu).toMatchObject({ stale: false, devices: [{ index: 0 }, { index: 1 }] });
    const query =
      '--query-gpu=index,uuid,utilization.gpu,memory.used,memory.total --format=csv,noheader,nounits';
    expect(calls()).toEqual([query, `${query} -lms 40`]);
    // Neither the loop nor its pipes keep the process alive.
    // (At most as many as before: a previous test's process may finish meanwhile; the loop adds 3 when ref'd.)
    expect(handles().length).toBeLessThanOrEqual(before.length);
    sampler.stop();
    const loop = Number(readFileSync(pids, 'utf8').trim().split('\n')[1]);
    await vi.waitFor(
      () => {
        expect(() => process.kill(loop, 0)).toThrow();
      },
      { timeout: 5000, interval: 20 },
    );
    expect(sampler.gpu!.watching).toBe(false);
  });

  it('start() stops calling nvidia-smi once it is found missing', async () => {
    const logger = recordingLogger();
    const sampler = new ResourceSampler({
      cpu: false,
      memory: false,
      logger,
      gpu: { env: { PATH: tempDir() } },
    });
    sampler.start();
    await vi.waitFor(() => expect(sampler.latest().gpu).toMatchObject({ disabled: true, devices: [] }), {
      timeout: 10_000,
      interval: 20,
    });
    expect(sampler.gpu!.busy).toBe(false);
    expect(logger.lines).toEqual([
      { level: 'warn', message: 'no GPU: nvidia-smi not found on PATH, GPU readings disabled' },
    ]);
    sampler.stop();
  });

  it('sampleGpu() resolves with the current sample when GPUs are not sampled', async () => {
    const fake = container();
    const sampler = new ResourceSampler({ root: fake.root, cpu: new CpuMonitor({ root: fake.root }) });
    expect(await sampler.sampleGpu()).toBe(sampler.latest());
  });
});
