import { afterEach, describe, expect, it, vi } from 'vitest';
import { CpuMonitor } from '../../src/resources/cpu-monitor.js';
import { itRejectsOptions } from '../helpers/option-errors.js';
import {
  cleanupTempDirs,
  type FakeRoot,
  fakeRoot,
  firstCpuReading,
  procStat,
  V1_CPU,
  V2,
} from './fixtures/fake-root.js';

const fakeCpus = vi.hoisted(() => ({ times: null as null | { busy: number; idle: number }[] }));
vi.mock('node:os', async (importOriginal) => {
  const os = await importOriginal<typeof import('node:os')>();
  const cpus = () =>
    fakeCpus.times === null
      ? os.cpus()
      : fakeCpus.times.map(({ busy, idle }) => ({
          model: 'fake',
          speed: 1,
          times: { user: busy, nice: 0, sys: 0, idle, irq: 0 },
        }));
  return { ...os, default: { ...os, cpus }, cpus };
});

afterEach(() => {
  cleanupTempDirs();
  fakeCpus.times = null;
});

/** A clock the test moves by hand. */
function clock(start = 0) {
  let now = start;
  return { now: () => now, set: (t: number) => (now = t) };
}

function v2Root(cpuMax: string, usageUsec: number) {
  return fakeRoot({
    [`${V2}/cgroup.controllers`]: 'cpu memory\n',
    [`${V2}/cpu.max`]: cpuMax,
    [`${V2}/cpu.stat`]: `usage_usec ${usageUsec}\nuser_usec 1\nsystem_usec 1\n`,
    'proc/stat': procStat(1000, 3000, 4),
  });
}

/**
 * A monitor over `fake` on a clock the test moves (from `start`), after its first read (the
 * baseline). `readAt(at, files)` writes `files` into the fake root, moves the clock to `at` and reads.
 */
function baselined(fake: FakeRoot, { start = 0, tauMs }: { start?: number; tauMs?: number } = {}) {
  const time = clock(start);
  const monitor = new CpuMonitor({
    root: fake.root,
    now: time.now,
    ...(tauMs === undefined ? {} : { tauMs }),
  });
  monitor.read();
  const readAt = (at: number, files: Record<string, string> = {}) => {
    for (const [path, content] of Object.entries(files)) fake.write(path, content);
    time.set(at);
    return monitor.read();
  };
  return { readAt };
}

const CPU_STAT = `${V2}/cpu.stat`;

describe('CpuMonitor', () => {
  itRejectsOptions(
    (options) => new CpuMonitor(options),
    [
      [{ tauMs: -1 }, 'CpuMonitor: expected `tauMs` to be a number > 0, got `-1` (number).'],
      [{ tauMs: '500' }, 'CpuMonitor: expected `tauMs` to be a number > 0, got `"500"` (string).'],
      [{ root: '' }, 'CpuMonitor: expected `root` to be a non-empty directory path, got `""` (string).'],
      [{ now: 5 }, 'CpuMonitor: expected `now` to be a function returning milliseconds, got `5` (number).'],
      [
        { tau: 5 },
        'CpuMonitor: unknown option `tau`. Did you mean `tauMs`? Known options: root, tauMs, now.',
      ],
      [null, 'CpuMonitor: expected an options object, got `null`.'],
    ],
  );

  it('read() returns null on the first call (no baseline yet)', () => {
    const fake = v2Root('50000 100000\n', 1_000_000);
    const monitor = new CpuMonitor({ root: fake.root, now: clock().now });
    expect(monitor.read()).toBeNull();
    expect(monitor.latest()).toBeNull();
  });

  it('read() honours a cgroup v2 cpu.max quota', () => {
    const { readAt } = baselined(v2Root('50000 100000\n', 1_000_000));
    // 100 ms of CPU in 250 ms on 0.5 cores = 0.8.
    expect(readAt(250, { [CPU_STAT]: 'usage_usec 1100000\n' })).toEqual(
      firstCpuReading({ raw: 0.8, usableCores: 0.5, source: 'cgroup-v2', quotaCores: 0.5, at: 250 }),
    );
  });

  it('read() honours a cgroup v1 cfs quota (cpuacct.usage in ns)', () => {
    const fake = fakeRoot({
      [`${V1_CPU}/cpu.cfs_quota_us`]: '200000\n',
      [`${V1_CPU}/cpu.cfs_period_us`]: '100000\n',
      [`${V1_CPU}/cpuacct.usage`]: '5000000000\n',
      'proc/stat': procStat(1000, 3000, 4),
    });
    const { readAt } = baselined(fake, { start: 1000 });
    // 250 ms of CPU in 250 ms on 2 cores = 0.5.
    expect(readAt(1250, { [`${V1_CPU}/cpuacct.usage`]: '5250000000\n' })).toMatchObject({
      utilization: 0.5,
      raw: 0.5,
      usableCores: 2,
      source: 'cgroup-v1',
      quotaCores: 2,
    });
  });

  it('read() caps usable cores at the host cores when the quota is larger', () => {
    const { readAt } = baselined(v2Root('800000 100000\n', 0));
    // 500 ms of CPU in 250 ms over min(8, 4) cores = 0.5.
    expect(readAt(250, { [CPU_STAT]: 'usage_usec 500000\n' })).toMatchObject({
      raw: 0.5,
      usableCores: 4,
      quotaCores: 8,
      source: 'cgroup-v2',
    });
  });

  it.each([
    ['cgroup v2 `max`', { [`${V2}/cgroup.controllers`]: '', [`${V2}/cpu.max`]: 'max 100000\n' }],
    [
      'cgroup v1 quota -1',
      { [`${V1_CPU}/cpu.cfs_quota_us`]: '-1\n', [`${V1_CPU}/cpu.cfs_period_us`]: '100000\n' },
    ],
    ['no cgroup', {}],
  ])('read() uses /proc/stat over all cores without a quota (%s)', (_name, files) => {
    const { readAt } = baselined(fakeRoot({ ...files, 'proc/stat': procStat(1000, 3000, 4) }));
    // 150 busy of 200 jiffies = 0.75.
    expect(readAt(250, { 'proc/stat': procStat(1150, 3050, 4) })).toEqual(
      firstCpuReading({ raw: 0.75, usableCores: 4, source: 'proc', quotaCores: null, at: 250 }),
    );
  });

  it('read() smooths with alpha = 1 - exp(-dt / tauMs) and keeps the raw value', () => {
    const { readAt } = baselined(v2Root('50000 100000\n', 0));
    // The first value is not smoothed.
    expect(readAt(250, { [CPU_STAT]: 'usage_usec 100000\n' })).toMatchObject({ utilization: 0.8, raw: 0.8 });

    const second = readAt(500, { [CPU_STAT]: 'usage_usec 125000\n' })!; // 25 ms in 250 ms on 0.5 cores = 0.2
    expect(second.raw).toBe(0.2);
    expect(second.utilization).toBe(0.8 + (1 - Math.exp(-250 / 500)) * (0.2 - 0.8));
    expect(second.utilization).toBe(0.5639183958275801);
    expect([second.intervalStart, second.smoothedFrom]).toEqual([250, 250]);

    const third = readAt(1500, { [CPU_STAT]: 'usage_usec 325000\n' })!; // 200 ms in 1000 ms on 0.5 cores = 0.4
    expect(third.raw).toBe(0.4);
    expect(third.utilization).toBe(0.42218394252701674);
    expect([third.intervalStart, third.smoothedFrom]).toEqual([500, 500]);
  });

  it('read() uses tauMs for the smoothing constant', () => {
    const { readAt } = baselined(v2Root('100000 100000\n', 0), { tauMs: 250 });
    readAt(250, { [CPU_STAT]: 'usage_usec 250000\n' }); // raw 1
    // No CPU used: raw 0.
    expect(readAt(500)!.utilization).toBe(1 + (1 - Math.exp(-1)) * (0 - 1));
  });

  it('read() returns the previous reading when no time passed', () => {
    const { readAt } = baselined(v2Root('50000 100000\n', 0));
    const reading = readAt(250, { [CPU_STAT]: 'usage_usec 100000\n' });
    expect(readAt(250, { [CPU_STAT]: 'usage_usec 900000\n' })).toBe(reading);
  });

  it('read() takes a new baseline when a quota appears at run time', () => {
    const { readAt } = baselined(v2Root('max 100000\n', 0));
    expect(readAt(250, { 'proc/stat': procStat(1100, 3100, 4) })).toMatchObject({ raw: 0.5, source: 'proc' });

    // The quota files are read again a second after the last read (at 0).
    const quota = { [`${V2}/cpu.max`]: '100000 100000\n', [CPU_STAT]: 'usage_usec 100000\n' };
    expect(readAt(1000, quota)).toMatchObject({ raw: 0.5, source: 'proc', at: 250 }); // baseline only

    expect(readAt(1250, { [CPU_STAT]: 'usage_usec 350000\n' })).toMatchObject({
      raw: 1,
      source: 'cgroup-v2',
      usableCores: 1,
      quotaCores: 1,
    });
  });

  it('read() falls back to os.cpus() without /proc/stat', () => {
    fakeCpus.times = [
      { busy: 100, idle: 900 },
      { busy: 100, idle: 900 },
    ];
    const { readAt } = baselined(fakeRoot({}));
    fakeCpus.times = [
      { busy: 200, idle: 1000 },
      { busy: 400, idle: 1000 },
    ];
    // 400 busy of 600 ms = 2/3.
    expect(readAt(250)).toMatchObject({ raw: 400 / 600, usableCores: 2, source: 'os', quotaCores: null });
  });

  it('read() throws on an unreadable cgroup file', () => {
    const fake = v2Root('lots\n', 0);
    const monitor = new CpuMonitor({ root: fake.root, now: clock().now });
    expect(() => monitor.read()).toThrow('cannot parse cgroup cpu.max: "lots"');
  });

  it('read() fails when the cgroup quota files it read were removed, but follows a quota lifted in place', () => {
    const fake = v2Root('50000 100000\n', 0);
    const { readAt } = baselined(fake);
    expect(readAt(250, { [CPU_STAT]: 'usage_usec 100000\n' })).toMatchObject({
      source: 'cgroup-v2',
      quotaCores: 0.5,
    });
    // Lifted: the host is measured, no error (once the quota is read again, a second after 0).
    const lifted = { [`${V2}/cpu.max`]: 'max 100000\n', 'proc/stat': procStat(1100, 3100, 4) };
    expect(readAt(1000, lifted)).toMatchObject({ quotaCores: null });
    fake.remove(`${V2}/cpu.max`);
    expect(() => readAt(2000)).toThrow(`the cgroup CPU files in ${fake.root}/${V2} were removed`);
  });

  it('read() reads the quota files once a second, not at every reading: a changed quota shows within 1 s', () => {
    const { readAt } = baselined(v2Root('50000 100000\n', 0));
    expect(readAt(250, { [CPU_STAT]: 'usage_usec 100000\n' })).toMatchObject({ quotaCores: 0.5 });
    // Doubled at 250: readings keep the quota read at 0 until 1 s has passed.
    expect(
      readAt(500, { [`${V2}/cpu.max`]: '100000 100000\n', [CPU_STAT]: 'usage_usec 200000\n' }),
    ).toMatchObject({
      quotaCores: 0.5,
      raw: 0.8, // 100 ms in 250 ms of 0.5 cores
    });
    expect(readAt(1000, { [CPU_STAT]: 'usage_usec 700000\n' })).toMatchObject({ quotaCores: 1, raw: 1 });
  });

  it('read() looks at the cgroup again at once when its usage file goes away between quota reads', () => {
    const fake = v2Root('50000 100000\n', 0);
    const { readAt } = baselined(fake);
    expect(readAt(250, { [CPU_STAT]: 'usage_usec 100000\n' })).toMatchObject({ source: 'cgroup-v2' });
    fake.remove(`${V2}/cpu.max`);
    fake.remove(CPU_STAT);
    expect(() => readAt(500)).toThrow(`the cgroup CPU files in ${fake.root}/${V2} were removed`);
  });
});
