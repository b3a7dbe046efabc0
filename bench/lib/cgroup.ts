import { existsSync, mkdirSync, readFileSync, realpathSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseKeyedNumber } from '../../src/resources/cgroup.js';
import { ScenarioUnavailableError } from './scenario.js';

const ROOT = '/sys/fs/cgroup';

/** Why a benchmark cgroup could not be created (the scenario is skipped with this reason). */
export class CgroupUnavailableError extends ScenarioUnavailableError {
  override name = 'CgroupUnavailableError';
}

/** What to limit in a {@link BenchCgroup}. */
export interface BenchCgroupOptions {
  /** Directory name under each hierarchy, e.g. `slotwise-bench-mem-1234`. */
  name: string;
  /** Hard memory limit (v1 `memory.limit_in_bytes`, v2 `memory.max`). */
  memoryLimitBytes?: number;
  /** CPU quota in cores (v1 `cpu.cfs_quota_us`/`cpu.cfs_period_us`, v2 `cpu.max`). */
  cpuQuotaCores?: number;
}

/** A point-in-time memory reading of the cgroup, in bytes. */
export interface CgroupMemoryReading {
  usageBytes: number;
  /** usage - inactive_file: what the OOM killer cannot reclaim. */
  workingSetBytes: number;
  limitBytes: number | null;
}

const live = new Set<BenchCgroup>();
let exitHookInstalled = false;

/**
 * A cgroup created (as root) for one benchmark run, on cgroup v2 when `/sys/fs/cgroup` is unified,
 * else on the v1 `memory`, `cpu` and `cpuacct` hierarchies it needs. Processes join it through
 * {@link wrap} (a shell that writes its own PID into `cgroup.procs`, then `exec`s the command), so
 * everything they allocate is charged to it from the start. {@link remove} kills what is left in it
 * and deletes the directories.
 */
export class BenchCgroup {
  readonly version: 'v1' | 'v2';
  /** Directories created, one per hierarchy (one on v2). */
  readonly dirs: string[];
  readonly #memoryDir: string | null;
  readonly #cpuacctDir: string | null;
  #removed = false;

  private constructor(
    version: 'v1' | 'v2',
    dirs: string[],
    memoryDir: string | null,
    cpuacctDir: string | null,
  ) {
    this.version = version;
    this.dirs = dirs;
    this.#memoryDir = memoryDir;
    this.#cpuacctDir = cpuacctDir;
  }

  /** Creates the cgroup and applies the limits; throws {@link CgroupUnavailableError} saying why it cannot. */
  static create(options: BenchCgroupOptions): BenchCgroup {
    if (process.platform !== 'linux')
      throw new CgroupUnavailableError(`cgroups need Linux (this is ${process.platform})`);
    if (typeof process.getuid === 'function' && process.getuid() !== 0) {
      throw new CgroupUnavailableError(
        'creating a cgroup needs root (run the benchmark as root, e.g. in a container)',
      );
    }
    const created: string[] = [];
    const make = (dir: string) => {
      try {
        if (!existsSync(dir)) mkdirSync(dir);
        created.push(dir);
      } catch (error) {
        throw new CgroupUnavailableError(`cannot create ${dir}: ${(error as Error).message}`);
      }
    };
    const write = (file: string, value: string) => {
      try {
        writeFileSync(file, value);
      } catch (error) {
        throw new CgroupUnavailableError(
          `cannot write ${JSON.stringify(value)} to ${file}: ${(error as Error).message}`,
        );
      }
    };
    try {
      if (existsSync(join(ROOT, 'cgroup.controllers'))) {
        const needed = [
          ...(options.memoryLimitBytes !== undefined ? ['memory'] : []),
          ...(options.cpuQuotaCores !== undefined ? ['cpu'] : []),
        ];
        const available = readFileSync(join(ROOT, 'cgroup.controllers'), 'utf8').split(/\s+/);
        for (const c of needed) {
          if (!available.includes(c))
            throw new CgroupUnavailableError(`the cgroup v2 root has no ${c} controller`);
        }
        const enabled = readFileSync(join(ROOT, 'cgroup.subtree_control'), 'utf8').split(/\s+/);
        for (const c of needed)
          if (!enabled.includes(c)) write(join(ROOT, 'cgroup.subtree_control'), `+${c}`);
        const dir = join(ROOT, options.name);
        make(dir);
        if (options.memoryLimitBytes !== undefined) {
          write(join(dir, 'memory.max'), String(options.memoryLimitBytes));
          if (existsSync(join(dir, 'memory.swap.max'))) write(join(dir, 'memory.swap.max'), '0');
        }
        if (options.cpuQuotaCores !== undefined) {
          write(join(dir, 'cpu.max'), `${Math.round(options.cpuQuotaCores * 100_000)} 100000`);
        }
        return BenchCgroup.#track(new BenchCgroup('v2', created, dir, dir));
      }
      const memoryMount = firstDir(['memory']);
      const cpuMount = firstDir(['cpu,cpuacct', 'cpuacct,cpu', 'cpu']);
      const cpuacctMount = firstDir(['cpu,cpuacct', 'cpuacct,cpu', 'cpuacct']);
      let memoryDir: string | null = null;
      let cpuacctDir: string | null = null;
      if (options.memoryLimitBytes !== undefined) {
        if (!memoryMount) throw new CgroupUnavailableError(`no cgroup v1 memory hierarchy under ${ROOT}`);
        memoryDir = join(memoryMount, options.name);
        make(memoryDir);
        write(join(memoryDir, 'memory.limit_in_bytes'), String(options.memoryLimitBytes));
        // No swap here; if there is, keep the cgroup from swapping instead of hitting its limit.
        if (existsSync(join(memoryDir, 'memory.memsw.limit_in_bytes'))) {
          try {
            writeFileSync(join(memoryDir, 'memory.memsw.limit_in_bytes'), String(options.memoryLimitBytes));
          } catch {
            // memsw accounting off: fine without swap
          }
        }
      }
      if (options.cpuQuotaCores !== undefined) {
        if (!cpuMount || !cpuacctMount)
          throw new CgroupUnavailableError(`no cgroup v1 cpu/cpuacct hierarchy under ${ROOT}`);
        const cpuDir = join(cpuMount, options.name);
        make(cpuDir);
        write(join(cpuDir, 'cpu.cfs_period_us'), '100000');
        write(join(cpuDir, 'cpu.cfs_quota_us'), String(Math.round(options.cpuQuotaCores * 100_000)));
        cpuacctDir = join(cpuacctMount, options.name);
        if (realpathSync(cpuacctMount) !== realpathSync(cpuMount)) make(cpuacctDir);
      }
      return BenchCgroup.#track(new BenchCgroup('v1', [...new Set(created)], memoryDir, cpuacctDir));
    } catch (error) {
      for (const dir of created.reverse()) {
        try {
          rmdirSync(dir);
        } catch {
          // best effort
        }
      }
      throw error instanceof CgroupUnavailableError ? error : new CgroupUnavailableError(String(error));
    }
  }

  static #track(group: BenchCgroup): BenchCgroup {
    live.add(group);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', () => {
        for (const g of live) g.removeSync();
      });
    }
    return group;
  }

  /** The `cgroup.procs` files a process writes its PID into to join. */
  get procsFiles(): string[] {
    return this.dirs.map((dir) => join(dir, 'cgroup.procs'));
  }

  /**
   * `[command, args]` that run `command args` inside this cgroup: a shell joins it, then `exec`s.
   * The shell exits with 97 if it cannot join.
   */
  wrap(command: string, args: readonly string[]): [string, string[]] {
    const joins = this.procsFiles.map((f) => `echo $$ > '${f}' || exit 97`).join('; ');
    return ['sh', ['-c', `${joins}; exec "$@"`, 'bench-cgroup', command, ...args]];
  }

  /** Memory usage, working set and limit; `null` without a memory controller. */
  memory(): CgroupMemoryReading | null {
    const dir = this.#memoryDir;
    if (!dir) return null;
    const v2 = this.version === 'v2';
    const usage = Number(read(join(dir, v2 ? 'memory.current' : 'memory.usage_in_bytes')));
    const stat = read(join(dir, 'memory.stat')) ?? '';
    const inactive =
      (v2 ? parseKeyedNumber(stat, 'inactive_file') : parseKeyedNumber(stat, 'total_inactive_file')) ?? 0;
    const limitText = read(join(dir, v2 ? 'memory.max' : 'memory.limit_in_bytes'));
    const limit = limitText === null || limitText === 'max' ? null : Number(limitText);
    return { usageBytes: usage, workingSetBytes: Math.max(0, usage - inactive), limitBytes: limit };
  }

  /** Peak usage the kernel recorded (v1 `memory.max_usage_in_bytes`, v2 `memory.peak`), or `null`. */
  peakUsageBytes(): number | null {
    if (!this.#memoryDir) return null;
    const text = read(
      join(this.#memoryDir, this.version === 'v2' ? 'memory.peak' : 'memory.max_usage_in_bytes'),
    );
    return text === null ? null : Number(text);
  }

  /** OOM kills in this cgroup (v1 `memory.oom_control` oom_kill, v2 `memory.events` oom_kill), or `null`. */
  oomKills(): number | null {
    if (!this.#memoryDir) return null;
    const text = read(join(this.#memoryDir, this.version === 'v2' ? 'memory.events' : 'memory.oom_control'));
    return text === null ? null : parseKeyedNumber(text, 'oom_kill');
  }

  /** v1 `memory.failcnt` (times usage hit the limit); `null` on v2 or without memory. */
  failcnt(): number | null {
    if (!this.#memoryDir || this.version === 'v2') return null;
    const text = read(join(this.#memoryDir, 'memory.failcnt'));
    return text === null ? null : Number(text);
  }

  /** CPU time used by the cgroup so far, in milliseconds; `null` without a CPU controller. */
  cpuUsageMs(): number | null {
    const dir = this.#cpuacctDir;
    if (!dir) return null;
    if (this.version === 'v2') {
      const usec = parseKeyedNumber(read(join(dir, 'cpu.stat')) ?? '', 'usage_usec');
      return usec === null ? null : usec / 1000;
    }
    const ns = read(join(dir, 'cpuacct.usage'));
    return ns === null ? null : Number(ns) / 1e6;
  }

  /** PIDs still in the cgroup. */
  pids(): number[] {
    const out = new Set<number>();
    for (const file of this.procsFiles) {
      for (const line of (read(file) ?? '').split('\n')) if (line.trim()) out.add(Number(line));
    }
    return [...out];
  }

  /** Kills whatever still runs in the cgroup, waits for it to go, and deletes the directories. */
  async remove(): Promise<void> {
    if (this.#removed) return;
    for (let attempt = 0; attempt < 50; attempt++) {
      const pids = this.pids();
      if (pids.length === 0) break;
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    this.removeSync();
  }

  /** Deletes the directories now (fails quietly while processes remain). */
  removeSync(): void {
    if (this.#removed) return;
    let ok = true;
    for (const dir of [...this.dirs].reverse()) {
      try {
        if (existsSync(dir)) rmdirSync(dir);
      } catch (error) {
        ok = false;
        console.error(`bench: could not remove cgroup ${dir}: ${(error as Error).message}`);
      }
    }
    if (ok) {
      this.#removed = true;
      live.delete(this);
    }
  }
}

function firstDir(names: string[]): string | null {
  for (const name of names) {
    const dir = join(ROOT, name);
    if (existsSync(join(dir, 'cgroup.procs'))) return dir;
  }
  return null;
}

function read(file: string): string | null {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}
