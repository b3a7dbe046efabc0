import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { digitsValue, isBlank } from './proc.js';
import type { SyncFiles } from './sync-file.js';

/** Which cgroup hierarchy a Linux host uses; `none` off Linux or without a mounted cgroup fs. */
export type CgroupVersion = 'v1' | 'v2' | 'none';

/** Where this process's cgroup files are, as found by {@link detectCgroup}. */
export interface CgroupLayout {
  /** `v2` when `<root>/sys/fs/cgroup/cgroup.controllers` exists, `v1` when a v1 controller is mounted. */
  version: CgroupVersion;
  /** Directory of the CPU quota files (v2 `cpu.max`; v1 `cpu.cfs_quota_us`, `cpu.cfs_period_us`). */
  cpuDir: string | null;
  /** Directory of the CPU usage counter (v2 `cpu.stat`; v1 `cpuacct.usage`). */
  cpuacctDir: string | null;
  /** Directory of the memory files (v2 `memory.current`, `memory.max`; v1 `memory.usage_in_bytes`, ...). */
  memoryDir: string | null;
}

/** v1 memory limits at or above this many bytes mean "no limit" (the kernel shows 9223372036854771712). */
export const CGROUP_V1_UNLIMITED_BYTES = 2 ** 60;

const V1_MOUNTS = {
  cpu: ['cpu,cpuacct', 'cpuacct,cpu', 'cpu'],
  cpuacct: ['cpu,cpuacct', 'cpuacct,cpu', 'cpuacct'],
  memory: ['memory'],
} as const;

/**
 * Finds this process's cgroup directories under `root` (default `/`): cgroup v2 when
 * `sys/fs/cgroup/cgroup.controllers` exists, else the v1 controllers `cpu,cpuacct` (or `cpuacct` and
 * `cpu`) and `memory`. When `proc/self/cgroup` names a sub-directory that exists under the mount, that
 * directory is used (a host process in a nested cgroup); otherwise the mount itself (a container with
 * its own cgroup namespace). Reads a few small files; call it once, not per sample.
 *
 * @param root - directory standing for `/`, so tests can use a fake tree
 */
export function detectCgroup(root = '/'): CgroupLayout {
  const base = join(root, 'sys/fs/cgroup');
  const membership = readMembership(root);
  if (existsSync(join(base, 'cgroup.controllers'))) {
    const dir = leafDir(base, membership.get('') ?? '/');
    return { version: 'v2', cpuDir: dir, cpuacctDir: dir, memoryDir: dir };
  }
  const find = (controller: keyof typeof V1_MOUNTS): string | null => {
    for (const name of V1_MOUNTS[controller]) {
      const mount = join(base, name);
      if (isDirectory(mount)) return leafDir(mount, membership.get(controller) ?? '/');
    }
    return null;
  };
  const layout = { cpuDir: find('cpu'), cpuacctDir: find('cpuacct'), memoryDir: find('memory') };
  const any = layout.cpuDir !== null || layout.cpuacctDir !== null || layout.memoryDir !== null;
  return { version: any ? 'v1' : 'none', ...layout };
}

/** Controller name (`''` for the v2 unified line) -> path, from `<root>/proc/self/cgroup`. */
function readMembership(root: string): Map<string, string> {
  const membership = new Map<string, string>();
  let text: string;
  try {
    text = readFileSync(join(root, 'proc/self/cgroup'), 'utf8');
  } catch {
    return membership;
  }
  for (const line of text.split('\n')) {
    const match = /^\d+:([^:]*):(.*)$/.exec(line.trim());
    if (!match) continue;
    const [, controllers = '', path = '/'] = match;
    if (controllers === '') membership.set('', path);
    for (const controller of controllers.split(',')) if (controller) membership.set(controller, path);
  }
  return membership;
}

function leafDir(mount: string, path: string): string {
  if (path === '/' || path === '') return mount;
  const candidate = join(mount, path);
  return isDirectory(candidate) ? candidate : mount;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Parses v2 `cpu.max` (`"max 100000"` or `"50000 100000"`) into cores, `null` for no quota. */
export function parseCpuMax(text: string): number | null {
  const [quota, period] = text.trim().split(/\s+/);
  if (quota === 'max') return null;
  return quotaCores(Number(quota), Number(period ?? 100_000), 'cpu.max', text);
}

/** Parses v1 `cpu.cfs_quota_us` and `cpu.cfs_period_us` into cores, `null` for no quota (`-1`). */
export function parseCfsQuota(quotaText: string, periodText: string): number | null {
  const quota = Number(quotaText.trim());
  if (quota < 0) return null;
  return quotaCores(quota, Number(periodText.trim()), 'cpu.cfs_quota_us', quotaText);
}

function quotaCores(quota: number, period: number, file: string, text: string): number {
  if (!Number.isFinite(quota) || !Number.isFinite(period) || quota <= 0 || period <= 0) {
    throw new Error(`cannot parse cgroup ${file}: ${JSON.stringify(text.trim())}`);
  }
  return quota / period;
}

/** Parses a memory limit file (v2 `memory.max`, v1 `memory.limit_in_bytes`), `null` for no limit. */
export function parseMemoryLimit(text: string): number | null {
  const value = text.trim();
  if (value === 'max') return null;
  const bytes = parseByteCount(value, 'memory limit');
  return bytes >= CGROUP_V1_UNLIMITED_BYTES ? null : bytes;
}

/**
 * Reads the value of `key` in a `key value` per line file (`cpu.stat`, `memory.stat`), or `null`:
 * the first line that is `key`, blanks, digits and nothing but blanks after. Found with `indexOf`,
 * not a regular expression built per call (a sampler reads these every tick).
 */
export function parseKeyedNumber(text: string, key: string): number | null {
  for (let at = text.indexOf(key); at !== -1; at = text.indexOf(key, at + 1)) {
    if (at > 0 && text.charCodeAt(at - 1) !== 10) continue; // not at the start of a line
    let end = text.indexOf('\n', at);
    if (end === -1) end = text.length;
    let i = at + key.length;
    const blanks = i;
    while (i < end && isBlank(text.charCodeAt(i))) i++;
    if (i === blanks) continue;
    const digits = i;
    while (i < end && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
    if (i === digits) continue;
    const value = digitsValue(text, digits, i);
    while (i < end && isBlank(text.charCodeAt(i))) i++;
    if (i === end) return value;
  }
  return null;
}

function parseByteCount(text: string, what: string): number {
  const value = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(value) || value < 0) {
    throw new Error(`cannot parse cgroup ${what}: ${JSON.stringify(text.trim())}`);
  }
  return value;
}

/** A cgroup's memory readings, in bytes. */
export interface CgroupMemory {
  /** v2 `memory.current` or v1 `memory.usage_in_bytes`. */
  usageBytes: number;
  /**
   * v2 `inactive_file` or v1 `total_inactive_file` from `memory.stat` (reclaimable page cache);
   * `null` when `memory.stat` was not read (see {@link readCgroupMemory}'s `pageCache`).
   */
  inactiveFileBytes: number | null;
  /** The limit, or `null` for none. */
  limitBytes: number | null;
}

/** CPU quota of the cgroup in cores, `null` when there is none or no quota file. */
export function readCpuQuotaCores(files: SyncFiles, layout: CgroupLayout): number | null {
  if (layout.cpuDir === null) return null;
  if (layout.version === 'v2') {
    const text = files.get(join(layout.cpuDir, 'cpu.max')).readIfExists();
    return text === null ? null : parseCpuMax(text);
  }
  const quota = files.get(join(layout.cpuDir, 'cpu.cfs_quota_us')).readIfExists();
  if (quota === null) return null;
  return parseCfsQuota(quota, files.get(join(layout.cpuDir, 'cpu.cfs_period_us')).read());
}

/** CPU time used by the cgroup in milliseconds, `null` without a usage file. */
export function readCpuUsageMs(files: SyncFiles, layout: CgroupLayout): number | null {
  if (layout.cpuacctDir === null) return null;
  if (layout.version === 'v2') {
    const text = files.get(join(layout.cpuacctDir, 'cpu.stat')).readIfExists();
    if (text === null) return null;
    const usec = parseKeyedNumber(text, 'usage_usec');
    if (usec === null) throw new Error('cgroup cpu.stat has no usage_usec line');
    return usec / 1000;
  }
  const text = files.get(join(layout.cpuacctDir, 'cpuacct.usage')).readIfExists();
  return text === null ? null : parseByteCount(text, 'cpuacct.usage') / 1e6;
}

/**
 * When {@link readCgroupMemory} reads `memory.stat` for the page cache: `always`, `never`, or only
 * when the cgroup has a memory limit (`withLimit`: the working set is measured against it only then).
 */
export type PageCacheRead = 'always' | 'withLimit' | 'never';

/**
 * The cgroup's memory usage, page cache and limit, `null` without a usage file (e.g. the v2 root).
 * `memory.stat`, the largest of the files, is read only as `pageCache` says (a sampler reads these
 * every tick, and a host without a cgroup memory limit never uses the page cache).
 */
export function readCgroupMemory(
  files: SyncFiles,
  layout: CgroupLayout,
  pageCache: PageCacheRead = 'always',
): CgroupMemory | null {
  if (layout.memoryDir === null) return null;
  const v2 = layout.version === 'v2';
  const usage = files
    .get(join(layout.memoryDir, v2 ? 'memory.current' : 'memory.usage_in_bytes'))
    .readIfExists();
  if (usage === null) return null;
  const limitText = files
    .get(join(layout.memoryDir, v2 ? 'memory.max' : 'memory.limit_in_bytes'))
    .readIfExists();
  const limitBytes = limitText === null ? null : parseMemoryLimit(limitText);
  let inactiveFileBytes: number | null = null;
  if (pageCache === 'always' || (pageCache === 'withLimit' && limitBytes !== null)) {
    const stat = files.get(join(layout.memoryDir, 'memory.stat')).readIfExists() ?? '';
    const inactive = v2
      ? parseKeyedNumber(stat, 'inactive_file')
      : (parseKeyedNumber(stat, 'total_inactive_file') ?? parseKeyedNumber(stat, 'inactive_file'));
    inactiveFileBytes = inactive ?? 0;
  }
  return {
    usageBytes: parseByteCount(usage, v2 ? 'memory.current' : 'memory.usage_in_bytes'),
    inactiveFileBytes,
    limitBytes,
  };
}
