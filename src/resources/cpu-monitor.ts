import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { brandClass } from '../class-brand.js';
import { checkKnownKeys, checkOptionsObject } from '../option-checks.js';
import { type CgroupLayout, detectCgroup, readCpuQuotaCores, readCpuUsageMs } from './cgroup.js';
import { type CpuTimes, osCpuTimes, parseProcStat } from './proc.js';
import { checkClock, checkPositiveNumber, checkRoot } from './resource-options.js';
import { SyncFiles } from './sync-file.js';

/** Where a CPU reading came from. */
export type CpuSource = 'cgroup-v2' | 'cgroup-v1' | 'proc' | 'os';

/** One CPU reading. */
export interface CpuReading {
  /** Smoothed utilization as a ratio of {@link usableCores}: 0 idle, 1 saturated, above 1 possible in bursts. */
  utilization: number;
  /** Utilization over the last interval alone, unsmoothed. */
  raw: number;
  /** Cores the ratio is relative to: the cgroup quota (capped at the host's cores), else all cores. */
  usableCores: number;
  /** `cgroup-v2`/`cgroup-v1` under a CPU quota, else `proc` (`/proc/stat`) or `os` (`os.cpus()`). */
  source: CpuSource;
  /** The cgroup CPU quota in cores (`cpu.max` 50000/100000 = 0.5), `null` for none. */
  quotaCores: number | null;
  /** When it was taken, in milliseconds of the monitor's clock. */
  at: number;
  /** Start of the interval {@link raw} covers (the previous read), in milliseconds of the monitor's clock. */
  intervalStart: number;
  /**
   * The {@link at} of the reading this one was smoothed from (`α = 1 - exp(-(at - smoothedFrom) / tauMs)`),
   * `null` for the first reading, which is not smoothed. Lets a consumer follow the smoothing exactly.
   */
  smoothedFrom: number | null;
  /** `true` when a later read failed and this is an older value kept by a {@link ResourceSampler}. */
  stale: boolean;
}

/** Options of a {@link CpuMonitor}. */
export interface CpuMonitorOptions {
  /**
   * Directory standing for `/`: cgroup files are read from `<root>/sys/fs/cgroup`, others from
   * `<root>/proc`. For tests over a fake tree.
   * @default '/'
   */
  root?: string;
  /**
   * Smoothing time constant in milliseconds: each reading moves the smoothed value by
   * `α = 1 - exp(-Δt / tauMs)` of the way to the raw value.
   * @default 500
   */
  tauMs?: number;
  /**
   * Monotonic clock in milliseconds.
   * @default performance.now
   */
  now?: () => number;
}

const OWNER = 'CpuMonitor';
const OPTION_KEYS = ['root', 'tauMs', 'now'];
/**
 * How often the quota files are read again (milliseconds): a quota set, changed or lifted while the
 * process runs shows within this. Read at every tick (100 ms), they were 3 of the tick's 4 file
 * operations (the quota, its period, and a check that the cgroup is still there).
 */
const QUOTA_REREAD_MS = 1_000;

interface Counters {
  at: number;
  /** Cgroup CPU time in ms, `null` without a cgroup usage file. */
  cgroupMs: number | null;
  /** Host CPU times. */
  host: CpuTimes;
}

/**
 * Measures CPU utilization synchronously from cheap file reads: under a cgroup CPU quota (v2
 * `cpu.max`, v1 `cpu.cfs_quota_us`/`cpu.cfs_period_us`) the cgroup's usage counter divided by
 * elapsed time × quota cores; otherwise `/proc/stat` busy time over all cores; off Linux `os.cpus()`
 * times. Files are opened once and re-read in place. The quota is re-read on every call, so a
 * resized container is followed.
 *
 * Each {@link read} compares counters with the previous call, so the first call returns `null`.
 * Readings are smoothed exponentially with time constant `tauMs`; the first one is not smoothed.
 * Errors are thrown; a {@link ResourceSampler} catches, logs and counts them.
 *
 * @example
 * ```ts
 * import { CpuMonitor } from 'slotwise';
 *
 * const cpu = new CpuMonitor({ tauMs: 500 });
 * cpu.read(); // => null (first call: baseline)
 * await new Promise((resolve) => setTimeout(resolve, 250));
 * cpu.read(); // => { utilization: 0.12, raw: 0.12, usableCores: 2, source: 'proc', quotaCores: null, ... }
 * ```
 */
export class CpuMonitor {
  readonly #root: string;
  readonly #tauMs: number;
  readonly #now: () => number;
  #layout: CgroupLayout;
  /** Whether a cgroup CPU reading worked: its files vanishing later is an error, not "no quota". */
  #cgroupSeen = false;
  readonly #files = new SyncFiles();
  #previous: Counters | null = null;
  #last: CpuReading | null = null;
  #hostSource: CpuSource = 'proc';
  /** The quota as last read from the cgroup files, and when (re-read every {@link QUOTA_REREAD_MS}). */
  #quota: { at: number; quotaCores: number | null } | undefined;

  constructor(options: CpuMonitorOptions = {}) {
    checkOptionsObject(OWNER, options);
    checkKnownKeys(OWNER, options, OPTION_KEYS);
    this.#root = checkRoot(OWNER, options.root);
    this.#tauMs = checkPositiveNumber(OWNER, 'tauMs', options.tauMs, 500);
    this.#now = checkClock(OWNER, options.now);
    this.#layout = detectCgroup(this.#root);
  }

  /** The cgroup layout found at construction. */
  get cgroup(): CgroupLayout {
    return this.#layout;
  }

  /** The smoothing time constant in milliseconds. */
  get tauMs(): number {
    return this.#tauMs;
  }

  /** The last reading returned by {@link read}, or `null`. Does no I/O. */
  latest(): CpuReading | null {
    return this.#last;
  }

  /**
   * Reads the counters and returns a new reading, or `null` on the first call (no baseline yet).
   * When no time or no CPU ticks passed since the previous call, returns the previous reading.
   * Synchronous; throws when a file cannot be read or parsed.
   */
  read(): CpuReading | null {
    const at = this.#now();
    const { quotaCores, cgroupMs } = this.#cgroup(at);
    const counters: Counters = { at, cgroupMs, host: this.#hostTimes() };
    const previous = this.#previous;
    if (previous === null) {
      this.#previous = counters;
      return null;
    }
    const elapsedMs = at - previous.at;
    if (elapsedMs <= 0) return this.#last;

    let raw: number;
    let usableCores: number;
    let source: CpuSource;
    if (quotaCores !== null && counters.cgroupMs !== null && previous.cgroupMs !== null) {
      const usedMs = counters.cgroupMs - previous.cgroupMs;
      if (usedMs < 0) return this.#rebase(counters);
      usableCores = Math.min(quotaCores, counters.host.cores);
      raw = usedMs / (elapsedMs * usableCores);
      source = this.#layout.version === 'v2' ? 'cgroup-v2' : 'cgroup-v1';
    } else if (quotaCores !== null && counters.cgroupMs !== null) {
      return this.#rebase(counters); // a quota appeared: its counter needs a baseline first
    } else {
      const busy = counters.host.busy - previous.host.busy;
      const total = counters.host.total - previous.host.total;
      if (busy < 0 || total < 0) return this.#rebase(counters);
      if (total === 0) return this.#last;
      usableCores = counters.host.cores;
      raw = busy / total;
      source = this.#hostSource;
    }

    const smoothed =
      this.#last === null
        ? raw
        : this.#last.utilization + (1 - Math.exp(-elapsedMs / this.#tauMs)) * (raw - this.#last.utilization);
    this.#previous = counters;
    this.#last = {
      utilization: smoothed,
      raw,
      usableCores,
      source,
      quotaCores,
      at,
      intervalStart: previous.at,
      smoothedFrom: this.#last?.at ?? null,
      stale: false,
    };
    return this.#last;
  }

  /** Closes the file handles; a later {@link read} re-opens them. Idempotent. */
  close(): void {
    this.#files.closeAll();
  }

  /**
   * The quota and the cgroup's CPU time. When the quota file of a cgroup read before has vanished
   * (the cgroup was removed, or this process moved), the cgroup is found again once; still missing
   * is an error. A quota lifted in place (`max`, `-1`) is no error: the host is measured then. The
   * quota is read again every {@link QUOTA_REREAD_MS}, and at once when the usage file went away.
   */
  #cgroup(at: number): { quotaCores: number | null; cgroupMs: number | null } {
    if (this.#quota !== undefined && at - this.#quota.at < QUOTA_REREAD_MS) {
      const { quotaCores } = this.#quota;
      if (quotaCores === null) return { quotaCores, cgroupMs: null };
      const cgroupMs = readCpuUsageMs(this.#files, this.#layout);
      if (cgroupMs !== null) return { quotaCores, cgroupMs };
      // The usage file went away with the quota still known: look at the cgroup again now.
    }
    const read = () => {
      const quotaCores = readCpuQuotaCores(this.#files, this.#layout);
      return { quotaCores, cgroupMs: quotaCores === null ? null : readCpuUsageMs(this.#files, this.#layout) };
    };
    if (this.#cgroupSeen && !cpuQuotaFileExists(this.#layout)) {
      const gone = this.#layout.cpuDir;
      this.#files.closeAll();
      this.#layout = detectCgroup(this.#root);
      if (!cpuQuotaFileExists(this.#layout)) throw new Error(`the cgroup CPU files in ${gone} were removed`);
    }
    const found = read();
    this.#quota = { at, quotaCores: found.quotaCores };
    if (found.quotaCores !== null && found.cgroupMs !== null) this.#cgroupSeen = true;
    return found;
  }

  #hostTimes(): CpuTimes {
    const text = this.#files.get(join(this.#root, 'proc/stat')).readIfExists();
    if (text === null) {
      this.#hostSource = 'os';
      return osCpuTimes();
    }
    this.#hostSource = 'proc';
    return parseProcStat(text);
  }

  #rebase(counters: Counters): CpuReading | null {
    this.#previous = counters;
    return this.#last;
  }
}
brandClass(CpuMonitor, 'CpuMonitor');

function cpuQuotaFileExists(layout: CgroupLayout): boolean {
  if (layout.cpuDir === null) return false;
  return existsSync(join(layout.cpuDir, layout.version === 'v2' ? 'cpu.max' : 'cpu.cfs_quota_us'));
}
