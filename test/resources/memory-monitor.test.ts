import { afterEach, describe, expect, it } from 'vitest';
import { MemoryMonitor } from '../../src/resources/memory-monitor.js';
import { itRejectsOptions } from '../helpers/option-errors.js';
import { cleanupTempDirs, fakeRoot, meminfo, V1_MEMORY, V2 } from './fixtures/fake-root.js';

afterEach(cleanupTempDirs);

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
/** 8 000 000 kB total, 6 000 000 kB available: 2 048 000 000 bytes used of 8 192 000 000. */
const HOST = meminfo(8_000_000, 6_000_000);

function v2Root(current: number, inactiveFile: number, max: string) {
  return fakeRoot({
    [`${V2}/cgroup.controllers`]: 'cpu memory\n',
    [`${V2}/memory.current`]: `${current}\n`,
    [`${V2}/memory.max`]: max,
    [`${V2}/memory.stat`]: `anon 1\nfile 2\nactive_file 3\ninactive_file ${inactiveFile}\n`,
    'proc/meminfo': HOST,
    'proc/self/status': 'Name:\tnode\nVmPeak:\t 999 kB\nVmRSS:\t  204800 kB\nVmData:\t 1 kB\n',
  });
}

function v1Root(usage: number, limit: string) {
  return fakeRoot({
    [`${V1_MEMORY}/memory.usage_in_bytes`]: `${usage}\n`,
    [`${V1_MEMORY}/memory.limit_in_bytes`]: limit,
    [`${V1_MEMORY}/memory.stat`]: `cache 9\ninactive_file ${1 * MiB}\ntotal_inactive_file ${44 * MiB}\n`,
    'proc/meminfo': HOST,
  });
}

describe('MemoryMonitor', () => {
  itRejectsOptions(
    (options) => new MemoryMonitor(options),
    [
      [
        { scope: 'container' },
        "MemoryMonitor: expected `scope` to be one of 'cgroup', 'host', 'process', got",
      ],
      [{ limitBytes: 0 }, 'MemoryMonitor: expected `limitBytes` to be an integer >= 1, got `0` (number).'],
      [
        { limitBytes: 1.5 },
        'MemoryMonitor: expected `limitBytes` to be an integer >= 1, got `1.5` (number).',
      ],
      [{ windowMs: -1 }, 'MemoryMonitor: expected `windowMs` to be a number >= 0, got `-1` (number).'],
      [{ limit: 5 }, 'MemoryMonitor: unknown option `limit`. Did you mean `limitBytes`?'],
    ],
  );

  it('read() measures a cgroup v2 working set (inactive_file page cache subtracted) against memory.max', () => {
    const fake = v2Root(600 * MiB, 100 * MiB, `${GiB}\n`);
    const monitor = new MemoryMonitor({ root: fake.root, now: () => 7 });
    expect(monitor.read()).toEqual({
      usedBytes: 500 * MiB,
      limitBytes: GiB,
      ratio: 0.48828125,
      scope: 'cgroup',
      source: 'cgroup-v2',
      limitSource: 'cgroup-v2',
      worstRecentRatio: 0.48828125,
      at: 7,
      stale: false,
    });
  });

  it('read() measures a cgroup v1 working set with total_inactive_file against memory.limit_in_bytes', () => {
    const fake = v1Root(300 * MiB, `${512 * MiB}\n`);
    expect(new MemoryMonitor({ root: fake.root }).read()).toMatchObject({
      usedBytes: 256 * MiB,
      limitBytes: 512 * MiB,
      ratio: 0.5,
      scope: 'cgroup',
      source: 'cgroup-v1',
    });
  });

  it('read() follows a changed file through the same handle', () => {
    const fake = v1Root(300 * MiB, `${512 * MiB}\n`);
    const monitor = new MemoryMonitor({ root: fake.root });
    monitor.read();
    fake.write(`${V1_MEMORY}/memory.usage_in_bytes`, `${428 * MiB}\n`);
    expect(monitor.read().usedBytes).toBe(384 * MiB);
  });

  it('read() leaves memory.stat unread where no limit makes the working set the reading (issue 16)', () => {
    // memory.stat as a directory: reading it fails, so a read() that reads it throws.
    const unlimited = v2Root(600 * MiB, 0, 'max\n');
    unlimited.remove(`${V2}/memory.stat`);
    unlimited.write(`${V2}/memory.stat/x`, '');
    expect(new MemoryMonitor({ root: unlimited.root }).read()).toMatchObject({
      scope: 'host',
      usedBytes: 2_048_000_000,
    });
    expect(new MemoryMonitor({ root: unlimited.root, scope: 'process' }).read()).toMatchObject({
      scope: 'process',
      limitBytes: 8_192_000_000,
    });
    // With a limit (the cgroup's or the option's) the working set needs the page cache: it is read.
    const limited = v2Root(600 * MiB, 0, `${GiB}\n`);
    limited.remove(`${V2}/memory.stat`);
    limited.write(`${V2}/memory.stat/x`, '');
    expect(() => new MemoryMonitor({ root: limited.root }).read()).toThrow(/EISDIR/);
    expect(() => new MemoryMonitor({ root: unlimited.root, limitBytes: GiB }).read()).toThrow(/EISDIR/);
    // Read as before where it is a file: the page cache comes off the usage.
    expect(
      new MemoryMonitor({ root: v2Root(600 * MiB, 100 * MiB, 'max\n').root, limitBytes: GiB }).read(),
    ).toMatchObject({
      usedBytes: 500 * MiB,
      limitSource: 'option',
    });
  });

  it.each([
    ['cgroup v2 memory.max `max`', () => v2Root(600 * MiB, 0, 'max\n')],
    ['cgroup v1 limit 9223372036854771712', () => v1Root(300 * MiB, '9223372036854771712\n')],
    ['no cgroup', () => fakeRoot({ 'proc/meminfo': HOST })],
  ])('read() measures the host from /proc/meminfo without a cgroup limit (%s)', (_name, make) => {
    expect(new MemoryMonitor({ root: make().root }).read()).toMatchObject({
      usedBytes: 2_048_000_000,
      limitBytes: 8_192_000_000,
      ratio: 0.25,
      scope: 'host',
      source: 'proc',
      limitSource: 'proc',
    });
  });

  it('read() with scope `host` ignores the cgroup limit', () => {
    const fake = v2Root(600 * MiB, 100 * MiB, `${GiB}\n`);
    expect(new MemoryMonitor({ root: fake.root, scope: 'host' }).read()).toMatchObject({
      usedBytes: 2_048_000_000,
      limitBytes: 8_192_000_000,
      scope: 'host',
    });
  });

  it('read() with scope `process` measures VmRSS against the cgroup limit', () => {
    const fake = v2Root(600 * MiB, 100 * MiB, `${GiB}\n`);
    expect(new MemoryMonitor({ root: fake.root, scope: 'process' }).read()).toMatchObject({
      usedBytes: 200 * MiB,
      limitBytes: GiB,
      ratio: 0.1953125,
      scope: 'process',
      source: 'proc',
      limitSource: 'cgroup-v2',
    });
  });

  it('read() with scope `process` measures against the host total without a cgroup limit', () => {
    const fake = v2Root(600 * MiB, 100 * MiB, 'max\n');
    expect(new MemoryMonitor({ root: fake.root, scope: 'process' }).read()).toMatchObject({
      usedBytes: 200 * MiB,
      limitBytes: 8_192_000_000,
      limitSource: 'proc',
    });
  });

  it('read() with scope `process` uses process.memoryUsage.rss() without /proc/self/status', () => {
    const fake = fakeRoot({ 'proc/meminfo': HOST });
    const reading = new MemoryMonitor({ root: fake.root, scope: 'process' }).read();
    expect(reading).toMatchObject({ scope: 'process', source: 'os', limitBytes: 8_192_000_000 });
    expect(reading.usedBytes).toBeGreaterThan(0);
  });

  it('read() uses a limitBytes override against the cgroup working set', () => {
    const fake = v1Root(300 * MiB, '9223372036854771712\n');
    expect(new MemoryMonitor({ root: fake.root, limitBytes: GiB }).read()).toMatchObject({
      usedBytes: 256 * MiB,
      limitBytes: GiB,
      ratio: 0.25,
      scope: 'cgroup',
      source: 'cgroup-v1',
      limitSource: 'option',
    });
  });

  it('read() uses a limitBytes override for the host and process scopes', () => {
    const fake = v2Root(600 * MiB, 100 * MiB, `${GiB}\n`);
    expect(
      new MemoryMonitor({ root: fake.root, scope: 'host', limitBytes: 4_096_000_000 }).read(),
    ).toMatchObject({ ratio: 0.5, limitSource: 'option' });
    expect(
      new MemoryMonitor({ root: fake.root, scope: 'process', limitBytes: 400 * MiB }).read(),
    ).toMatchObject({
      ratio: 0.5,
      limitSource: 'option',
    });
  });

  it('read() reports the worst ratio of the last windowMs, never smoothed', () => {
    const fake = v2Root(0, 0, `${1000}\n`);
    let now = 0;
    const monitor = new MemoryMonitor({ root: fake.root, now: () => now });
    const at = (t: number, current: number) => {
      now = t;
      fake.write(`${V2}/memory.current`, `${current}\n`);
      return monitor.read();
    };
    expect(at(0, 500)).toMatchObject({ ratio: 0.5, worstRecentRatio: 0.5 });
    expect(at(400, 900)).toMatchObject({ ratio: 0.9, worstRecentRatio: 0.9 });
    expect(at(800, 300)).toMatchObject({ ratio: 0.3, worstRecentRatio: 0.9 });
    expect(at(1400, 300)).toMatchObject({ ratio: 0.3, worstRecentRatio: 0.9 }); // 400 is 1000 ms ago
    expect(at(1401, 300)).toMatchObject({ ratio: 0.3, worstRecentRatio: 0.3 });
  });

  it('read() with windowMs 0 reports the current ratio as the worst', () => {
    const fake = v2Root(900, 0, '1000\n');
    let now = 0;
    const monitor = new MemoryMonitor({ root: fake.root, windowMs: 0, now: () => now });
    monitor.read();
    now = 1;
    fake.write(`${V2}/memory.current`, '100\n');
    expect(monitor.read().worstRecentRatio).toBe(0.1);
  });

  it('read() throws on an unparsable cgroup file', () => {
    const fake = v2Root(0, 0, 'lots\n');
    expect(() => new MemoryMonitor({ root: fake.root }).read()).toThrow(
      'cannot parse cgroup memory limit: "lots"',
    );
  });

  it('read() fails when the cgroup files it read were removed, instead of measuring the host silently', () => {
    const fake = v1Root(512 * MiB, `${GiB}\n`);
    const monitor = new MemoryMonitor({ root: fake.root });
    expect(monitor.read()).toMatchObject({ scope: 'cgroup', usedBytes: 468 * MiB });
    fake.remove(`${V1_MEMORY}/memory.usage_in_bytes`);
    expect(() => monitor.read()).toThrow(`the cgroup memory files in ${fake.root}/${V1_MEMORY} were removed`);
    fake.write(`${V1_MEMORY}/memory.usage_in_bytes`, `${600 * MiB}\n`);
    expect(monitor.read()).toMatchObject({ scope: 'cgroup', usedBytes: 556 * MiB });
  });

  it('read() follows this process into another cgroup when its old one is removed', () => {
    const fake = v1Root(512 * MiB, `${GiB}\n`);
    fake.write('proc/self/cgroup', '4:memory:/old\n');
    fake.write(`${V1_MEMORY}/old/memory.usage_in_bytes`, `${100 * MiB}\n`);
    fake.write(`${V1_MEMORY}/old/memory.limit_in_bytes`, `${GiB}\n`);
    fake.write(`${V1_MEMORY}/old/memory.stat`, 'total_inactive_file 0\n');
    const monitor = new MemoryMonitor({ root: fake.root });
    expect(monitor.read()).toMatchObject({ usedBytes: 100 * MiB, limitBytes: GiB });
    fake.remove(`${V1_MEMORY}/old`);
    fake.write('proc/self/cgroup', '4:memory:/new\n');
    fake.write(`${V1_MEMORY}/new/memory.usage_in_bytes`, `${300 * MiB}\n`);
    fake.write(`${V1_MEMORY}/new/memory.limit_in_bytes`, `${2 * GiB}\n`);
    fake.write(`${V1_MEMORY}/new/memory.stat`, 'total_inactive_file 0\n');
    expect(monitor.read()).toMatchObject({ usedBytes: 300 * MiB, limitBytes: 2 * GiB, scope: 'cgroup' });
  });
});
