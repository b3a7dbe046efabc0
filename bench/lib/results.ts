import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, hostname, loadavg, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEMPORAL_CLI_VERSION } from '../../src/dev-server/temporal-cli.js';
import { detectCgroup } from '../../src/resources/cgroup.js';

/** Directory of bench/ (this file is bench/lib/results.ts). */
export const BENCH_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Where full runs write results JSON and charts by default. */
export const RESULTS_DIR = join(BENCH_DIR, 'results');

/** The machine and software a result was measured on. */
export interface MachineInfo {
  date: string;
  hostname: string;
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  kernel: string;
  node: string;
  temporalSdk: string;
  temporalCli: string;
  cgroup: string;
  loadavgAtStart: number[];
  /** The slotwise source measured: commit, and files under src/ that differed from it. */
  source: { commit: string; uncommittedSrcFiles: string[] };
}

/** Describes this machine now. */
export function machineInfo(): MachineInfo {
  let sdk = 'unknown';
  try {
    const pkg = JSON.parse(
      readFileSync(join(BENCH_DIR, '..', 'node_modules/@temporalio/worker/package.json'), 'utf8'),
    ) as { version: string };
    sdk = pkg.version;
  } catch {
    // keep 'unknown'
  }
  return {
    date: new Date().toISOString(),
    hostname: hostname(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    memoryBytes: totalmem(),
    kernel: release(),
    node: process.version,
    temporalSdk: sdk,
    temporalCli: TEMPORAL_CLI_VERSION,
    cgroup: detectCgroup().version,
    loadavgAtStart: loadavg().map((v) => Math.round(v * 100) / 100),
    source: sourceState(),
  };
}

function sourceState(): MachineInfo['source'] {
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: join(BENCH_DIR, '..'), encoding: 'utf8' });
  try {
    return {
      commit: git('rev-parse', '--short', 'HEAD').trim(),
      // Not trimmed: each line is "XY path", and X is a space for a change not yet staged.
      uncommittedSrcFiles: git('status', '--porcelain', '--', 'src')
        .split('\n')
        .filter(Boolean)
        .map((line) => line.slice(3)),
    };
  } catch {
    return { commit: 'unknown', uncommittedSrcFiles: [] };
  }
}

/** Host CPU busy ratio (all cores) between two `/proc/stat` reads `ms` apart; `NaN` off Linux. */
export async function hostCpuBusy(ms: number): Promise<number> {
  const read = () => {
    try {
      const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
      const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
      const total = f.reduce((s, v) => s + v, 0);
      return { busy: total - f[3]! - f[4]!, total };
    } catch {
      return null;
    }
  };
  const a = read();
  await new Promise((r) => setTimeout(r, ms));
  const b = read();
  if (!a || !b || b.total === a.total) return Number.NaN;
  return (b.busy - a.busy) / (b.total - a.total);
}

/**
 * Samples host CPU (busy ratio of all cores) every `intervalMs` in the background: what else ran on
 * the machine during a benchmark, its noise.
 */
export class NoiseProbe {
  readonly #samples: number[] = [];
  #timer: NodeJS.Timeout | undefined;
  #prev: { busy: number; total: number } | null = null;

  start(intervalMs = 1000): this {
    this.#prev = readStat();
    this.#timer = setInterval(() => {
      const next = readStat();
      if (this.#prev && next && next.total > this.#prev.total) {
        this.#samples.push((next.busy - this.#prev.busy) / (next.total - this.#prev.total));
      }
      this.#prev = next;
    }, intervalMs);
    this.#timer.unref();
    return this;
  }

  stop(): { hostCpuBusyMean: number; hostCpuBusyMax: number; samples: number; loadavgAtEnd: number[] } {
    if (this.#timer) clearInterval(this.#timer);
    const s = this.#samples;
    return {
      hostCpuBusyMean: s.length ? round(s.reduce((a, b) => a + b, 0) / s.length) : Number.NaN,
      hostCpuBusyMax: s.length ? round(Math.max(...s)) : Number.NaN,
      samples: s.length,
      loadavgAtEnd: loadavg().map((v) => round(v)),
    };
  }
}

function readStat(): { busy: number; total: number } | null {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = f.reduce((s, v) => s + v, 0);
    return { busy: total - f[3]! - f[4]!, total };
  } catch {
    return null;
  }
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}
