import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  detectCgroup,
  parseCfsQuota,
  parseCpuMax,
  parseKeyedNumber,
  parseMemoryLimit,
} from '../../src/resources/cgroup.js';
import { cleanupTempDirs, fakeRoot, V1_CPU, V1_MEMORY, V2 } from './fixtures/fake-root.js';

afterEach(cleanupTempDirs);

describe('detectCgroup', () => {
  it('detectCgroup() reports v2 when cgroup.controllers exists', () => {
    const { root } = fakeRoot({ [`${V2}/cgroup.controllers`]: 'cpu memory\n' });
    const dir = join(root, V2);
    expect(detectCgroup(root)).toEqual({ version: 'v2', cpuDir: dir, cpuacctDir: dir, memoryDir: dir });
  });

  it('detectCgroup() finds the v1 cpu,cpuacct and memory controllers', () => {
    const { root } = fakeRoot({
      [`${V1_CPU}/cpuacct.usage`]: '0\n',
      [`${V1_MEMORY}/memory.usage_in_bytes`]: '0\n',
    });
    expect(detectCgroup(root)).toEqual({
      version: 'v1',
      cpuDir: join(root, V1_CPU),
      cpuacctDir: join(root, V1_CPU),
      memoryDir: join(root, V1_MEMORY),
    });
  });

  it('detectCgroup() finds separately mounted v1 cpu and cpuacct controllers', () => {
    const { root } = fakeRoot({
      'sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1\n',
      'sys/fs/cgroup/cpuacct/cpuacct.usage': '0\n',
    });
    expect(detectCgroup(root)).toEqual({
      version: 'v1',
      cpuDir: join(root, 'sys/fs/cgroup/cpu'),
      cpuacctDir: join(root, 'sys/fs/cgroup/cpuacct'),
      memoryDir: null,
    });
  });

  it('detectCgroup() reports none without a cgroup fs', () => {
    const { root } = fakeRoot({ 'proc/stat': 'cpu  1 0 1 1 0 0 0 0 0 0\n' });
    expect(detectCgroup(root)).toEqual({ version: 'none', cpuDir: null, cpuacctDir: null, memoryDir: null });
  });

  it('detectCgroup() uses the /proc/self/cgroup sub-directory when it exists under the mount', () => {
    const { root } = fakeRoot({
      'proc/self/cgroup': '4:memory:/jobs/a\n3:cpu,cpuacct:/not/mounted/here\n',
      [`${V1_CPU}/cpuacct.usage`]: '0\n',
      [`${V1_MEMORY}/jobs/a/memory.usage_in_bytes`]: '0\n',
    });
    const layout = detectCgroup(root);
    expect(layout.memoryDir).toBe(join(root, V1_MEMORY, 'jobs/a'));
    expect(layout.cpuDir).toBe(join(root, V1_CPU));
  });

  it('detectCgroup() uses the v2 unified line of /proc/self/cgroup', () => {
    const { root } = fakeRoot({
      'proc/self/cgroup': '0::/system.slice/app.service\n',
      [`${V2}/cgroup.controllers`]: 'cpu memory\n',
      [`${V2}/system.slice/app.service/memory.max`]: 'max\n',
    });
    expect(detectCgroup(root).memoryDir).toBe(join(root, V2, 'system.slice/app.service'));
  });
});

describe('cgroup parsers', () => {
  it('parseCpuMax() reads a quota in cores and `max` as none', () => {
    expect(parseCpuMax('max 100000\n')).toBeNull();
    expect(parseCpuMax('50000 100000\n')).toBe(0.5);
    expect(parseCpuMax('250000 100000\n')).toBe(2.5);
    expect(() => parseCpuMax('lots 100000')).toThrow('cannot parse cgroup cpu.max: "lots 100000"');
  });

  it('parseCfsQuota() reads quota/period in cores and -1 as none', () => {
    expect(parseCfsQuota('-1\n', '100000\n')).toBeNull();
    expect(parseCfsQuota('200000\n', '100000\n')).toBe(2);
    expect(parseCfsQuota('25000\n', '50000\n')).toBe(0.5);
  });

  it('parseMemoryLimit() reads bytes, with `max` and the huge v1 value as none', () => {
    expect(parseMemoryLimit('max\n')).toBeNull();
    expect(parseMemoryLimit('9223372036854771712\n')).toBeNull();
    expect(parseMemoryLimit('1073741824\n')).toBe(1073741824);
    expect(() => parseMemoryLimit('\n')).toThrow('cannot parse cgroup memory limit: ""');
  });

  it('parseKeyedNumber() finds one key of a stat file', () => {
    const stat = 'inactive_file 10\ntotal_inactive_file 20\nactive_file 30\n';
    expect(parseKeyedNumber(stat, 'inactive_file')).toBe(10);
    expect(parseKeyedNumber(stat, 'total_inactive_file')).toBe(20);
    expect(parseKeyedNumber(stat, 'usage_usec')).toBeNull();
  });
});
