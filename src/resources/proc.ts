import { cpus } from 'node:os';

// Parsers for `/proc` files and their `os` fallbacks. Internal: not exported from the package.

/** CPU time counters summed over every core, in any one unit (jiffies for /proc/stat, ms for `os`). */
export interface CpuTimes {
  /** Time spent not idle (user, nice, system, irq, softirq, steal). */
  busy: number;
  /** All time (busy plus idle and iowait). */
  total: number;
  /** How many cores the counters cover. */
  cores: number;
}

/**
 * Parses `/proc/stat`: the aggregate `cpu` line (user nice system idle iowait irq softirq steal; guest
 * time is already part of user) and the number of `cpuN` lines (online cores).
 */
export function parseProcStat(text: string): CpuTimes {
  let aggregate: number[] | null = null;
  let cores = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('cpu')) continue;
    const [name, ...fields] = line.trim().split(/\s+/);
    if (name === 'cpu') aggregate = fields.slice(0, 8).map(Number);
    else if (name !== undefined && /^cpu\d+$/.test(name)) cores += 1;
  }
  if (!aggregate || aggregate.length < 4 || aggregate.some((n) => !Number.isFinite(n))) {
    throw new Error('/proc/stat has no readable aggregate `cpu` line');
  }
  const total = aggregate.reduce((sum, n) => sum + n, 0);
  const idle = (aggregate[3] ?? 0) + (aggregate[4] ?? 0);
  return { busy: total - idle, total, cores: Math.max(cores, 1) };
}

/** CPU times from `os.cpus()` (milliseconds), for platforms without /proc. */
export function osCpuTimes(): CpuTimes {
  let busy = 0;
  let total = 0;
  const list = cpus();
  for (const { times } of list) {
    const all = times.user + times.nice + times.sys + times.idle + times.irq;
    busy += all - times.idle;
    total += all;
  }
  return { busy, total, cores: Math.max(list.length, 1) };
}

/** Host memory from `/proc/meminfo`, in bytes. */
export interface HostMemory {
  /** `MemTotal`. */
  totalBytes: number;
  /** `MemTotal - MemAvailable` (or `- (MemFree + Buffers + Cached)` on kernels without MemAvailable). */
  usedBytes: number;
}

/** Parses `/proc/meminfo` (values in kB). */
export function parseMeminfo(text: string): HostMemory {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^(\w+):\s+(\d+)(?:\s+kB)?\s*$/.exec(line);
    if (match) values.set(match[1]!, Number(match[2]) * 1024);
  }
  const total = values.get('MemTotal');
  if (total === undefined) throw new Error('/proc/meminfo has no MemTotal line');
  const available =
    values.get('MemAvailable') ??
    (values.get('MemFree') ?? 0) + (values.get('Buffers') ?? 0) + (values.get('Cached') ?? 0);
  return { totalBytes: total, usedBytes: Math.max(0, total - available) };
}

/** Parses the `VmRSS` line of `/proc/<pid>/status`, in bytes. */
export function parseVmRssBytes(text: string): number {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(text);
  if (!match) throw new Error('/proc/self/status has no VmRSS line');
  return Number(match[1]) * 1024;
}
