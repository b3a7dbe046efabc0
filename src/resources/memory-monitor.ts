import { freemem, totalmem } from 'node:os';
import { join } from 'node:path';
import { brandClass } from '../class-brand.js';
import { checkKnownKeys, checkOptionsObject } from '../option-checks.js';
import { checkOption, checkRule } from '../option-rules.js';
import {
  type CgroupLayout,
  type CgroupMemory,
  detectCgroup,
  type PageCacheRead,
  readCgroupMemory,
} from './cgroup.js';
import { type HostMemory, parseMeminfo, parseVmRssBytes } from './proc.js';
import { checkClock, checkNonNegativeNumber, checkRoot } from './resource-options.js';
import { MEMORY_OPTION_RULES, type MEMORY_SCOPES } from './sampler-options.js';
import { SyncFiles } from './sync-file.js';

/**
 * Whose memory a {@link MemoryMonitor} measures.
 * - `cgroup`: this process's cgroup (container) working set against its limit. Without a cgroup
 *   memory limit (and no `limitBytes`), the host is measured instead and readings say `scope: 'host'`.
 * - `host`: the whole machine, `MemTotal - MemAvailable` against `MemTotal`.
 * - `process`: this process's resident set size against `limitBytes`, else the cgroup limit, else
 *   the host total.
 */
export type MemoryScope = (typeof MEMORY_SCOPES)[number];

/** Where a memory number came from: cgroup files, `/proc` files, or Node's `os`/`process` APIs. */
export type MemorySource = 'cgroup-v2' | 'cgroup-v1' | 'proc' | 'os';

/** One memory reading. Sizes in bytes. */
export interface MemoryReading {
  /** Memory in use: cgroup working set (usage - inactive_file), host used, or process RSS. */
  usedBytes: number;
  /** The limit {@link usedBytes} is measured against. */
  limitBytes: number;
  /** `usedBytes / limitBytes` (may exceed 1). */
  ratio: number;
  /** The scope actually measured (`cgroup` falls back to `host` when no cgroup limit applies). */
  scope: MemoryScope;
  /** Where {@link usedBytes} came from: cgroup files, `/proc` files, or `os`/`process` APIs. */
  source: MemorySource;
  /** Where {@link limitBytes} came from: cgroup files, `/proc/meminfo`, `os.totalmem()` or the option. */
  limitSource: MemorySource | 'option';
  /** The highest {@link ratio} among the readings of the last `windowMs`, this one included. */
  worstRecentRatio: number;
  /** When it was taken, in milliseconds of the monitor's clock. */
  at: number;
  /** `true` when a later read failed and this is an older value kept by a {@link ResourceSampler}. */
  stale: boolean;
}

/** Options of a {@link MemoryMonitor}. */
export interface MemoryMonitorOptions {
  /**
   * Directory standing for `/`, for tests over a fake tree.
   * @default '/'
   */
  root?: string;
  /**
   * Whose memory to measure; see {@link MemoryScope}.
   * @default 'cgroup'
   */
  scope?: MemoryScope;
  /**
   * Measure against this many bytes instead of the cgroup limit or host total.
   * @default undefined (the cgroup limit, else the host's MemTotal)
   */
  limitBytes?: number;
  /**
   * How far back {@link MemoryReading.worstRecentRatio} looks, in milliseconds. `0` keeps only the
   * current reading.
   * @default 1000
   */
  windowMs?: number;
  /**
   * Monotonic clock in milliseconds.
   * @default performance.now
   */
  now?: () => number;
}

const OWNER = 'MemoryMonitor';
const OPTION_KEYS = ['root', 'scope', 'limitBytes', 'windowMs', 'now'];

/**
 * Measures memory synchronously from cheap file reads: a cgroup's working set (usage minus
 * reclaimable `inactive_file` page cache) against its limit (cgroup v2 `memory.current`,
 * `memory.stat`, `memory.max`; v1 `memory.usage_in_bytes`, `memory.stat` `total_inactive_file`,
 * `memory.limit_in_bytes`), the host's `/proc/meminfo`, or this process's RSS; off Linux
 * `os.totalmem()`/`os.freemem()` and `process.memoryUsage.rss()`. A hard limit is never smoothed:
 * each reading also carries the worst ratio of the last `windowMs`.
 *
 * @example
 * ```ts
 * import { MemoryMonitor } from 'slotwise';
 *
 * const memory = new MemoryMonitor({ scope: 'cgroup', windowMs: 1000 });
 * memory.read();
 * // => { usedBytes: 536870912, limitBytes: 2147483648, ratio: 0.25, scope: 'cgroup',
 * //      source: 'cgroup-v2', limitSource: 'cgroup-v2', worstRecentRatio: 0.25, ... }
 * ```
 */
export class MemoryMonitor {
  readonly #root: string;
  readonly #scope: MemoryScope;
  readonly #limitBytes: number | null;
  readonly #windowMs: number;
  readonly #now: () => number;
  #layout: CgroupLayout;
  /** Whether a cgroup memory reading worked: its files vanishing later is an error, not "no cgroup". */
  #cgroupSeen = false;
  readonly #files = new SyncFiles();
  readonly #recent: { at: number; ratio: number }[] = [];
  #last: MemoryReading | null = null;

  constructor(options: MemoryMonitorOptions = {}) {
    checkOptionsObject(OWNER, options);
    checkKnownKeys(OWNER, options, OPTION_KEYS);
    this.#root = checkRoot(OWNER, options.root);
    this.#scope = checkOption(OWNER, 'scope', MEMORY_OPTION_RULES.scope, options.scope) as MemoryScope;
    this.#limitBytes =
      options.limitBytes === undefined
        ? null
        : checkRule(OWNER, 'limitBytes', MEMORY_OPTION_RULES.limitBytes, options.limitBytes);
    this.#windowMs = checkNonNegativeNumber(OWNER, 'windowMs', options.windowMs, 1000);
    this.#now = checkClock(OWNER, options.now);
    this.#layout = detectCgroup(this.#root);
  }

  /** The cgroup layout found at construction. */
  get cgroup(): CgroupLayout {
    return this.#layout;
  }

  /** The last reading returned by {@link read}, or `null`. Does no I/O. */
  latest(): MemoryReading | null {
    return this.#last;
  }

  /** Reads the files and returns a new reading. Synchronous; throws when a file cannot be parsed. */
  read(): MemoryReading {
    const at = this.#now();
    const { usedBytes, limitBytes, scope, source, limitSource } = this.#measure();
    const ratio = limitBytes > 0 ? usedBytes / limitBytes : 0;
    this.#recent.push({ at, ratio });
    while (this.#recent.length > 1 && this.#recent[0]!.at < at - this.#windowMs) this.#recent.shift();
    let worstRecentRatio = ratio;
    for (const sample of this.#recent) worstRecentRatio = Math.max(worstRecentRatio, sample.ratio);
    this.#last = {
      usedBytes,
      limitBytes,
      ratio,
      scope,
      source,
      limitSource,
      worstRecentRatio,
      at,
      stale: false,
    };
    return this.#last;
  }

  /** Closes the file handles; a later {@link read} re-opens them. Idempotent. */
  close(): void {
    this.#files.closeAll();
  }

  #measure(): Pick<MemoryReading, 'usedBytes' | 'limitBytes' | 'scope' | 'source' | 'limitSource'> {
    const override = this.#limitBytes;
    const cgroupSource = this.#layout.version === 'v2' ? 'cgroup-v2' : 'cgroup-v1';
    if (this.#scope === 'process') {
      const rss = this.#processRss();
      if (override !== null) return { ...rss, limitBytes: override, scope: 'process', limitSource: 'option' };
      const cgroup = this.#cgroup('never');
      if (cgroup !== null && cgroup.limitBytes !== null) {
        return { ...rss, limitBytes: cgroup.limitBytes, scope: 'process', limitSource: cgroupSource };
      }
      const host = this.#host();
      return { ...rss, limitBytes: host.totalBytes, scope: 'process', limitSource: host.source };
    }
    if (this.#scope === 'cgroup') {
      // The page cache only when a limit makes the working set the reading (not for the host).
      const cgroup = this.#cgroup(override === null ? 'withLimit' : 'always');
      const limit = override ?? cgroup?.limitBytes ?? null;
      if (cgroup && limit !== null) {
        return {
          usedBytes: Math.max(0, cgroup.usageBytes - (cgroup.inactiveFileBytes ?? 0)),
          limitBytes: limit,
          scope: 'cgroup',
          source: cgroupSource,
          limitSource: override === null ? cgroupSource : 'option',
        };
      }
    }
    const host = this.#host();
    return {
      usedBytes: host.usedBytes,
      limitBytes: override ?? host.totalBytes,
      scope: 'host',
      source: host.source,
      limitSource: override === null ? host.source : 'option',
    };
  }

  #cgroup(pageCache: PageCacheRead): CgroupMemory | null {
    let memory = readCgroupMemory(this.#files, this.#layout, pageCache);
    if (memory === null && this.#cgroupSeen) {
      // The cgroup we read is gone (removed, or this process moved): find ours again.
      const gone = this.#layout.memoryDir;
      this.#files.closeAll();
      this.#layout = detectCgroup(this.#root);
      memory = readCgroupMemory(this.#files, this.#layout, pageCache);
      if (memory === null) throw new Error(`the cgroup memory files in ${gone} were removed`);
    }
    if (memory !== null) this.#cgroupSeen = true;
    return memory;
  }

  #host(): HostMemory & { source: MemorySource } {
    const text = this.#files.get(join(this.#root, 'proc/meminfo')).readIfExists();
    if (text !== null) return { ...parseMeminfo(text), source: 'proc' };
    const total = totalmem();
    return { totalBytes: total, usedBytes: total - freemem(), source: 'os' };
  }

  #processRss(): { usedBytes: number; source: MemorySource } {
    const text = this.#files.get(join(this.#root, 'proc/self/status')).readIfExists();
    if (text !== null) return { usedBytes: parseVmRssBytes(text), source: 'proc' };
    return { usedBytes: process.memoryUsage.rss(), source: 'os' };
  }
}
brandClass(MemoryMonitor, 'MemoryMonitor');
