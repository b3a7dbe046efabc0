// Runs scenarios (bench/lib/scenario.ts): one dev server for the run, a noise probe around each
// scenario, preconditions that turn a scenario INVALID, printing, JSON and SVG files, a summary.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type BenchArgs, parseBenchArgs } from './args.js';
import { hostCpuBusy, type MachineInfo, machineInfo, NoiseProbe, RESULTS_DIR } from './results.js';
import {
  type Figure,
  type Precondition,
  type Scenario,
  type ScenarioReport,
  ScenarioUnavailableError,
  type Verdict,
} from './scenario.js';
import { renderSvgChart } from './svg-chart.js';
import { markdownTable, printTable, type Table } from './table.js';
import { type BenchEnv, startBenchEnv } from './temporal.js';

/**
 * How a scenario ended: `ok` (measured, every precondition held), `INVALID` (measured, but a
 * precondition did not hold: its targets are neither met nor missed), `SKIPPED` (cannot run on this
 * machine), `FAILED` (threw).
 */
export type ScenarioStatus = 'ok' | 'INVALID' | 'SKIPPED' | 'FAILED';

/** A verdict as reported: MET or MISSED only when the scenario is valid. */
export type VerdictResult = 'MET' | 'MISSED' | 'n/a' | 'INVALID';

/** A whole run: `VALID` only when no scenario failed or was INVALID (skips are listed, not fatal). */
export type RunStatus = 'VALID' | 'INVALID' | 'FAILED';

/** The JSON document written for each scenario (`<out>/<scenario>.json`). */
export interface ScenarioResult {
  scenario: string;
  title: string;
  status: ScenarioStatus;
  /** Why it is not `ok`: the preconditions that did not hold, the skip reason or the error. */
  reason: string | null;
  quick: boolean;
  rounds: number;
  machine: MachineInfo;
  noise: ReturnType<NoiseProbe['stop']> & { idleHostCpuBusyBefore: number };
  seconds: number;
  settings: Record<string, unknown>;
  preconditions: Precondition[];
  verdicts: Array<Verdict & { result: VerdictResult }>;
  figures: Figure[];
  tables: Table[];
  /** SVG charts written, file names relative to the JSON. */
  charts: string[];
  data: unknown;
}

/** The scenario's status from its preconditions: INVALID with the reason when one did not hold. */
export function classify(report: Pick<ScenarioReport, 'preconditions'>): {
  status: 'ok' | 'INVALID';
  reason: string | null;
} {
  const failed = report.preconditions.filter((p) => !p.held);
  if (failed.length === 0) return { status: 'ok', reason: null };
  return { status: 'INVALID', reason: failed.map((p) => `${p.what}: ${p.detail}`).join('; ') };
}

/** What a verdict reports in a scenario of `status`: never MET or MISSED unless the scenario is `ok`. */
export function verdictResult(verdict: Verdict, status: ScenarioStatus): VerdictResult {
  if (status !== 'ok') return 'INVALID';
  if (verdict.met === null) return 'n/a';
  return verdict.met ? 'MET' : 'MISSED';
}

/** The status of a run of `results`: FAILED before INVALID before VALID. */
export function runStatus(results: ReadonlyArray<Pick<ScenarioResult, 'status'>>): RunStatus {
  if (results.some((r) => r.status === 'FAILED')) return 'FAILED';
  if (results.some((r) => r.status === 'INVALID')) return 'INVALID';
  return 'VALID';
}

/** Process exit code of a run: 0 valid, 1 a scenario failed, 3 a scenario was INVALID. */
export function exitCodeOf(status: RunStatus): number {
  return status === 'VALID' ? 0 : status === 'FAILED' ? 1 : 3;
}

/** Where a run writes: `--out`, else bench/results (full) or bench/results/tmp/quick (quick). */
export function outDir(args: BenchArgs): string {
  if (args.out) return resolve(args.out);
  return args.quick ? join(RESULTS_DIR, 'tmp', 'quick') : RESULTS_DIR;
}

/**
 * Runs `scenarios` one after another against one dev server (started only if a scenario asks for
 * it), prints and writes each result, and with `summary` prints and writes the run's summary.
 */
export async function runScenarios(
  scenarios: readonly Scenario[],
  args: BenchArgs,
  options: { summary: boolean },
): Promise<{ status: RunStatus; results: ScenarioResult[] }> {
  const started = Date.now();
  const dir = outDir(args);
  if (args.write) mkdirSync(dir, { recursive: true });
  let env: Promise<BenchEnv> | undefined;
  const stop = () => {
    void (env ? env.then((e) => e.close()) : Promise.resolve()).finally(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  const results: ScenarioResult[] = [];
  try {
    for (const scenario of scenarios) {
      console.log(`\n=== ${scenario.name} ===`);
      const { result, charts } = await runOne(scenario, args, () => {
        env ??= startBenchEnv(args.address);
        return env;
      });
      results.push(result);
      report(result);
      if (args.write) writeResult(dir, result, charts);
    }
  } finally {
    process.removeListener('SIGINT', stop);
    if (env) await (await env.catch(() => null))?.close();
  }
  const status = runStatus(results);
  if (options.summary) {
    const summary = summaryOf(results, args, status, (Date.now() - started) / 60000);
    printTable(summary.table);
    for (const line of summary.lines) console.log(line);
    if (args.write) {
      writeFileSync(
        join(dir, 'summary.json'),
        `${JSON.stringify({ status, quick: args.quick, rounds: args.rounds, minutes: (Date.now() - started) / 60000, machine: machineInfo(), scenarios: results.map(({ scenario, status: s, reason }) => ({ scenario, status: s, reason })), summary: summary.table }, jsonReplacer, 2)}\n`,
      );
      writeFileSync(join(dir, 'summary.md'), summaryMarkdown(results, summary, args));
      console.log(`  wrote ${join(dir, 'summary.md')} and .json`);
    }
  }
  return { status, results };
}

/** Runs `scenario` as its own script: parses argv, runs it alone, exits with the run's code. */
export function runAsScript(scenario: Scenario): void {
  let args: BenchArgs;
  try {
    args = parseBenchArgs();
  } catch (error) {
    console.error(String((error as Error).message));
    process.exit(2);
  }
  runScenarios([scenario], args, { summary: false }).then(
    ({ status }) => process.exit(exitCodeOf(status)),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}

async function runOne(
  scenario: Scenario,
  args: BenchArgs,
  env: () => Promise<BenchEnv>,
): Promise<{ result: ScenarioResult; charts: NonNullable<ScenarioReport['charts']> }> {
  const t0 = Date.now();
  const machine = machineInfo();
  const idle = await hostCpuBusy(args.quick ? 250 : 1000);
  const probe = new NoiseProbe().start(1000);
  const base = {
    scenario: scenario.name,
    title: scenario.title,
    quick: args.quick,
    rounds: args.rounds,
    machine,
  };
  const noise = () => ({ ...probe.stop(), idleHostCpuBusyBefore: idle });
  const empty = {
    settings: {},
    preconditions: [],
    verdicts: [],
    figures: [],
    tables: [],
    charts: [],
    data: null,
  };
  let report: ScenarioReport;
  try {
    report = await scenario.run({
      args,
      env,
      log: (line) => console.log(`  ${scenario.name}: ${line}`),
    });
  } catch (error) {
    const skipped = error instanceof ScenarioUnavailableError;
    if (!skipped) console.error(`  ${scenario.name} FAILED: ${(error as Error)?.stack ?? String(error)}`);
    const result: ScenarioResult = {
      ...base,
      ...empty,
      status: skipped ? 'SKIPPED' : 'FAILED',
      reason: (error as Error)?.message ?? String(error),
      noise: noise(),
      seconds: (Date.now() - t0) / 1000,
    };
    return { result, charts: [] };
  }
  const { status, reason } = classify(report);
  const charts = report.charts ?? [];
  const result: ScenarioResult = {
    ...base,
    status,
    reason,
    noise: noise(),
    seconds: (Date.now() - t0) / 1000,
    settings: report.settings,
    preconditions: report.preconditions,
    verdicts: report.verdicts.map((v) => ({ ...v, result: verdictResult(v, status) })),
    figures: report.figures,
    tables: report.tables,
    charts: charts.map((c) => `${c.name}.svg`),
    data: report.data,
  };
  return { result, charts };
}

function report(result: ScenarioResult): void {
  for (const table of result.tables) printTable(table);
  for (const p of result.preconditions) {
    console.log(
      `  [${p.held ? 'holds' : 'DOES NOT HOLD'}] ${p.kind === 'environment' ? '(machine) ' : ''}${p.what}: ${p.detail}`,
    );
  }
  for (const v of result.verdicts) console.log(`  [${v.result}] ${v.target}: ${v.note}`);
  if (result.status !== 'ok') console.log(`  ${result.scenario} ${result.status}: ${result.reason}`);
  const n = result.noise;
  console.log(
    `  noise: host CPU busy ${pct(n.idleHostCpuBusyBefore)} before (idle probe), ${pct(n.hostCpuBusyMean)} mean / ${pct(n.hostCpuBusyMax)} max during; loadavg ${result.machine.loadavgAtStart.join(' ')} -> ${n.loadavgAtEnd.join(' ')}; ${result.seconds.toFixed(0)} s`,
  );
}

function writeResult(
  dir: string,
  result: ScenarioResult,
  charts: NonNullable<ScenarioReport['charts']>,
): void {
  for (const chart of charts) writeFileSync(join(dir, `${chart.name}.svg`), renderSvgChart(chart.spec));
  const file = join(dir, `${result.scenario}.json`);
  writeFileSync(file, `${JSON.stringify(result, jsonReplacer, 2)}\n`);
  console.log(
    `  wrote ${file}${charts.length ? ` and ${charts.map((c) => `${c.name}.svg`).join(', ')}` : ''}`,
  );
}

function summaryOf(
  results: readonly ScenarioResult[],
  args: BenchArgs,
  status: RunStatus,
  minutes: number,
): { table: Table; lines: string[] } {
  const table: Table = {
    title: `Summary - slotwise against Temporal's built-in suppliers (${args.quick ? 'QUICK smoke run: figures not for quoting' : `${args.rounds} rounds`}), ${minutes.toFixed(1)} min: run ${status}`,
    headers: ['scenario', 'target', 'result', 'numbers'],
    rows: results.flatMap((r) => {
      if (r.status === 'SKIPPED' || r.status === 'FAILED')
        return [[r.scenario, '-', r.status, r.reason ?? '']];
      const rows = r.verdicts.map((v) => [r.scenario, v.target, v.result, v.note]);
      if (r.status === 'INVALID') rows.unshift([r.scenario, 'preconditions', 'INVALID', r.reason ?? '']);
      return rows;
    }),
  };
  const lines =
    status === 'VALID'
      ? [
          `RUN VALID${results.some((r) => r.status === 'SKIPPED') ? ' (with skipped scenarios, listed above)' : ''}`,
        ]
      : [
          `RUN ${status}: its figures must not be recorded.`,
          ...results
            .filter((r) => r.status === 'INVALID' || r.status === 'FAILED')
            .map((r) => `  ${r.scenario} ${r.status}: ${r.reason}`),
        ];
  return { table, lines };
}

function summaryMarkdown(
  results: readonly ScenarioResult[],
  summary: { table: Table; lines: string[] },
  args: BenchArgs,
): string {
  const m = machineInfo();
  return [
    `# slotwise benchmark results${args.quick ? ' (quick smoke run: not for quoting)' : ''}`,
    '',
    `${m.date}, ${m.cpuModel} x${m.cores}, ${(m.memoryBytes / 1024 ** 3).toFixed(0)} GiB, kernel ${m.kernel}, cgroup ${m.cgroup}, Node ${m.node}, Temporal SDK ${m.temporalSdk}, CLI ${m.temporalCli}, slotwise ${m.source.commit}${m.source.uncommittedSrcFiles.length ? ` + uncommitted ${m.source.uncommittedSrcFiles.join(', ')}` : ''}`,
    '',
    `**${summary.lines[0]}**`,
    ...summary.lines.slice(1).map((l) => `- ${l.trim()}`),
    '',
    markdownTable(summary.table),
    '',
    ...results.flatMap((r) => [
      ...r.tables.flatMap((t) => [
        `## ${t.title}`,
        '',
        markdownTable(t),
        '',
        ...(t.notes ?? []).map((n) => `- ${n}`),
        '',
      ]),
      ...(r.preconditions.length
        ? [
            `Preconditions of ${r.scenario}:`,
            '',
            ...r.preconditions.map(
              (p) => `- ${p.held ? 'holds' : '**does not hold**'}: ${p.what} (${p.detail})`,
            ),
            '',
          ]
        : []),
      ...r.charts.map((c) => `![${r.scenario}](${c})\n`),
      `Noise during ${r.scenario}: host CPU ${pct(r.noise.hostCpuBusyMean)} busy on average (max ${pct(r.noise.hostCpuBusyMax)}), ${pct(r.noise.idleHostCpuBusyBefore)} in the idle probe before; load average ${r.machine.loadavgAtStart.join(' ')} -> ${r.noise.loadavgAtEnd.join(' ')}.`,
      '',
    ]),
  ].join('\n');
}

function pct(v: number): string {
  return Number.isFinite(v) ? `${(v * 100).toFixed(0)}%` : '-';
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) return null;
  return value;
}
