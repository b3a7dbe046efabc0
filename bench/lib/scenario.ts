import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type BenchArgs, parseBenchArgs } from './args.js';
import { hostCpuBusy, machineInfo, NoiseProbe, type ScenarioResult, writeResult } from './results.js';
import { printTable } from './table.js';
import type { BenchEnv } from './temporal.js';

/** What a scenario gets from its caller (its own script or bench/run-all.ts). */
export interface ScenarioContext {
  args: BenchArgs;
  /** A shared dev server; scenarios that need one start their own when absent. */
  env?: BenchEnv;
}

/** `true` when the module at `metaUrl` is the script node was started with. */
export function isMain(metaUrl: string): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(fileURLToPath(metaUrl)) === realpathSync(script);
  } catch {
    return false;
  }
}

/** `items` rotated left by `round`: each round starts with a different contender. */
export function rotate<T>(items: readonly T[], round: number): T[] {
  const k = items.length === 0 ? 0 : round % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** Measures the noise before a scenario and keeps sampling host CPU while it runs. */
export async function startNoise(): Promise<{ idle: number; probe: NoiseProbe }> {
  const idle = await hostCpuBusy(1000);
  return { idle, probe: new NoiseProbe().start(1000) };
}

/** Builds the result skeleton of a scenario. */
export function newResult(
  scenario: string,
  args: BenchArgs,
  settings: Record<string, unknown>,
): Omit<ScenarioResult, 'noise'> {
  return {
    scenario,
    quick: args.quick,
    rounds: args.rounds,
    machine: machineInfo(),
    settings,
    tables: [],
    verdict: [],
    rounds_data: [],
    charts: [],
    skipped: [],
  };
}

/** Prints the tables, verdicts and skips of `result`, and writes its JSON unless `--no-write`. */
export function finish(result: ScenarioResult, args: BenchArgs): ScenarioResult {
  for (const table of result.tables) printTable(table);
  for (const v of result.verdict) {
    const mark = v.met === null ? 'n/a ' : v.met ? 'MET ' : 'MISS';
    console.log(`  [${mark}] ${v.target}: ${v.note}`);
  }
  for (const s of result.skipped) console.log(`  [SKIPPED] ${s.what}: ${s.reason}`);
  const n = result.noise;
  console.log(
    `  noise: host CPU busy ${pct(result.noise.idleHostCpuBusyBefore)} before (idle probe), ` +
      `${pct(n.hostCpuBusyMean)} mean / ${pct(n.hostCpuBusyMax)} max during; loadavg ${result.machine.loadavgAtStart.join(' ')} -> ${n.loadavgAtEnd.join(' ')}`,
  );
  if (args.write) {
    const file = writeResult(result);
    console.log(`  wrote ${file}`);
  }
  return result;
}

function pct(v: number): string {
  return Number.isFinite(v) ? `${(v * 100).toFixed(0)}%` : '-';
}

/** Runs a scenario as a script: parses argv, runs, exits 1 on error. */
export function runAsScript(fn: (ctx: ScenarioContext) => Promise<unknown>): void {
  let args: BenchArgs;
  try {
    args = parseBenchArgs();
  } catch (error) {
    console.error(String((error as Error).message));
    process.exit(2);
  }
  fn({ args }).then(
    () => process.exit(0),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}

/**
 * Finishes a scenario that cannot run here (no cgroup of the kind it needs): prints why and writes
 * a result whose only content is the skip and the noise measured.
 */
export function finishSkipped(
  base: Omit<ScenarioResult, 'noise'>,
  noise: { idle: number; probe: NoiseProbe },
  args: BenchArgs,
  scenario: { label: string; what: string; cgroup: string },
  error: Error,
): ScenarioResult {
  const reason = `cannot create a ${scenario.cgroup} cgroup: ${error.message}`;
  console.log(`  ${scenario.label}: SKIPPED - ${reason}`);
  return finish(
    {
      ...base,
      noise: { ...noise.probe.stop(), idleHostCpuBusyBefore: noise.idle },
      skipped: [{ what: scenario.what, reason }],
    },
    args,
  );
}
