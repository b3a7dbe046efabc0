import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '@temporalio/common';
import { checkKnownKeys, checkOptionsObject, optionError } from '../option-checks.js';
import { type CgroupVersion, detectCgroup, readCgroupMemory, readCpuQuotaCores } from './cgroup.js';
import { type GpuDevice, GpuMonitor } from './gpu-monitor.js';
import { parseMeminfo, parseProcStat } from './proc.js';
import { checkRoot } from './resource-options.js';
import { SyncFiles } from './sync-file.js';

/** What {@link describeHost} found about GPUs. */
export interface GpuInventory {
  /**
   * - `ok`: `nvidia-smi` answered ({@link devices} may still be empty, e.g. `CUDA_VISIBLE_DEVICES=''`).
   * - `absent`: `nvidia-smi` is not on `PATH`.
   * - `error`: it failed or timed out ({@link error} says how).
   * - `skipped`: not asked for (`gpu: false`).
   */
  status: 'ok' | 'absent' | 'error' | 'skipped';
  /** The visible devices, in `CUDA_VISIBLE_DEVICES` order when it is set. */
  devices: readonly GpuDevice[];
  /** Why `status` is `absent` or `error`, else `null`. */
  error: string | null;
}

/** The resources of this host as slotwise sees them. */
export interface HostInventory {
  /** The cgroup hierarchy in use (`none` off Linux). */
  cgroupVersion: CgroupVersion;
  /** The cgroup CPU quota in cores, `null` for none. */
  cpuQuotaCores: number | null;
  /** Online cores: `cpuN` lines of `/proc/stat`, else `os.cpus().length`. */
  hostCores: number;
  /** Cores CPU utilization is relative to: the quota capped at {@link hostCores}, else all cores. */
  usableCores: number;
  /** The cgroup memory limit in bytes, `null` for none. */
  memoryLimitBytes: number | null;
  /** `MemTotal` from `/proc/meminfo` in bytes, else `os.totalmem()`. */
  hostMemoryBytes: number;
  /** GPUs from one `nvidia-smi` call. */
  gpus: GpuInventory;
}

/** Options of {@link describeHost}. */
export interface DescribeHostOptions {
  /**
   * Directory standing for `/`, for tests over a fake tree.
   * @default '/'
   */
  root?: string;
  /**
   * Environment for `nvidia-smi` (`PATH`, `CUDA_VISIBLE_DEVICES`).
   * @default process.env
   */
  env?: NodeJS.ProcessEnv;
  /**
   * Whether to run `nvidia-smi`.
   * @default true
   */
  gpu?: boolean;
  /**
   * The `nvidia-smi` program.
   * @default 'nvidia-smi'
   */
  command?: string;
  /**
   * How long `nvidia-smi` may take, in milliseconds.
   * @default 2000
   */
  timeoutMs?: number;
}

const OWNER = 'describeHost';
const OPTION_KEYS = ['root', 'env', 'gpu', 'command', 'timeoutMs'];
const SILENT: Logger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

/**
 * Summarizes the host's resources for `slotwise doctor`: cgroup version, CPU quota and cores, memory
 * limit and total, and GPUs (one `nvidia-smi` call, hence async). Logs nothing: problems are in the
 * result. Holds no state and leaves no file handle open.
 *
 * @example
 * ```ts
 * import { describeHost } from 'slotwise/internal/resources/host-inventory.js';
 *
 * await describeHost();
 * // => { cgroupVersion: 'v1', cpuQuotaCores: null, hostCores: 2, usableCores: 2, memoryLimitBytes: null,
 * //      hostMemoryBytes: 25276510208, gpus: { status: 'absent', devices: [], error: 'nvidia-smi not found' } }
 * ```
 */
export async function describeHost(options: DescribeHostOptions = {}): Promise<HostInventory> {
  checkOptionsObject(OWNER, options);
  checkKnownKeys(OWNER, options, OPTION_KEYS);
  const root = checkRoot(OWNER, options.root);
  if (options.gpu !== undefined && typeof options.gpu !== 'boolean') {
    optionError(OWNER, 'gpu', 'a boolean', options.gpu);
  }
  const gpuMonitor =
    options.gpu === false
      ? null
      : new GpuMonitor({
          logger: SILENT,
          ...(options.env === undefined ? {} : { env: options.env }),
          ...(options.command === undefined ? {} : { command: options.command }),
          ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
        });
  const gpuReading = gpuMonitor?.sample();

  const layout = detectCgroup(root);
  const files = new SyncFiles();
  let cpuQuotaCores: number | null;
  let memoryLimitBytes: number | null;
  try {
    cpuQuotaCores = orNull(() => readCpuQuotaCores(files, layout));
    memoryLimitBytes = orNull(() => readCgroupMemory(files, layout, 'never')?.limitBytes ?? null);
  } finally {
    files.closeAll();
  }
  const hostCores =
    orNull(() => parseProcStat(readFileSync(join(root, 'proc/stat'), 'utf8')).cores) ?? cpus().length;
  const hostMemoryBytes =
    orNull(() => parseMeminfo(readFileSync(join(root, 'proc/meminfo'), 'utf8')).totalBytes) ?? totalmem();

  let gpus: GpuInventory = { status: 'skipped', devices: [], error: null };
  const reading = await gpuReading;
  if (reading) {
    const status = reading.disabled ? 'absent' : reading.error !== null ? 'error' : 'ok';
    gpus = { status, devices: reading.devices, error: reading.error };
  }
  return {
    cgroupVersion: layout.version,
    cpuQuotaCores,
    hostCores,
    usableCores: cpuQuotaCores === null ? hostCores : Math.min(cpuQuotaCores, hostCores),
    memoryLimitBytes,
    hostMemoryBytes,
    gpus,
  };
}

function orNull<T>(read: () => T): T | null {
  try {
    return read();
  } catch {
    return null;
  }
}
