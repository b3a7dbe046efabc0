// Puts pairs of full benchmark runs into bench/README.md, figure by figure with their spread:
//
//   npm run bench -- --out bench/results/run-1
//   npm run bench -- --out bench/results/run-2
//   npx tsx bench/record.ts bench/results/run-1 bench/results/run-2 [more pairs...]
//
// Each pair is two runs of the same scenarios at one commit; scenarios measured on different days
// (and commits) are recorded as separate pairs, each with its own commit line. It refuses runs
// that are quick, INVALID, FAILED, of different commits or with uncommitted src/ changes, a
// scenario recorded by two pairs, and marks every target whose verdict the second run did not
// reproduce.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { BENCH_DIR } from './lib/results.js';
import type { ScenarioResult } from './lib/runner.js';
import { isMain } from './lib/scenario.js';
import { markdownTable } from './lib/table.js';

/** One run as bench/lib/runner.ts wrote it: its summary and every scenario's JSON. */
export interface RecordedRun {
  dir: string;
  summary: { status: string; quick: boolean; rounds: number; minutes: number };
  results: ScenarioResult[];
}

export const BEGIN = '<!-- recorded-results:begin -->';
export const END = '<!-- recorded-results:end -->';

/** Reads the run written to `dir` (summary.json and the scenario JSON files it lists). */
export function readRun(dir: string): RecordedRun {
  const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as RecordedRun['summary'] & {
    scenarios: Array<{ scenario: string }>;
  };
  return {
    dir,
    summary,
    results: summary.scenarios.map(
      (s) => JSON.parse(readFileSync(join(dir, `${s.scenario}.json`), 'utf8')) as ScenarioResult,
    ),
  };
}

/** Why two runs cannot be recorded together; empty when they can. */
export function problemsOf(a: RecordedRun, b: RecordedRun): string[] {
  const problems: string[] = [];
  for (const [name, run] of [
    ['run 1', a],
    ['run 2', b],
  ] as const) {
    if (run.summary.quick) problems.push(`${name} (${run.dir}) is a --quick smoke run`);
    if (run.summary.status !== 'VALID') {
      const bad = run.results.filter((r) => r.status === 'INVALID' || r.status === 'FAILED');
      problems.push(
        `${name} (${run.dir}) is ${run.summary.status}: ${bad.map((r) => `${r.scenario} ${r.status}: ${r.reason}`).join('; ')}`,
      );
    }
    const dirty = [...new Set(run.results.flatMap((r) => r.machine.source.uncommittedSrcFiles))];
    if (dirty.length) problems.push(`${name} measured uncommitted src/ changes: ${dirty.join(', ')}`);
  }
  const commits = new Set([...a.results, ...b.results].map((r) => r.machine.source.commit));
  if (commits.size !== 1) problems.push(`the runs measured different commits: ${[...commits].join(', ')}`);
  const names = (run: RecordedRun) => run.results.map((r) => r.scenario).join(',');
  if (names(a) !== names(b)) problems.push(`the runs have different scenarios: ${names(a)} vs ${names(b)}`);
  return problems;
}

/** `|a - b|` relative to the larger of the two, as a percentage string; `-` when undefined. */
export function spread(a: number, b: number): string {
  if (!Number.isFinite(a) || !Number.isFinite(b)) return '-';
  const scale = Math.max(Math.abs(a), Math.abs(b));
  if (scale === 0) return '0%';
  return `${((Math.abs(a - b) / scale) * 100).toFixed(0)}%`;
}

function value(v: number | null | undefined, digits: number, unit: string): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '-';
  return `${v.toFixed(digits)}${unit === 'ratio' || unit === 'runs' || unit === 'tasks' ? '' : ` ${unit}`}`;
}

/** A pair of runs of the same scenarios at one commit. */
export type RunPair = readonly [RecordedRun, RecordedRun];

/** Why these pairs cannot be recorded side by side: problems of each pair, and scenarios recorded twice. */
export function pairsProblemsOf(pairs: readonly RunPair[]): string[] {
  const problems = pairs.flatMap(([a, b], i) =>
    problemsOf(a, b).map((p) => (pairs.length > 1 ? `pair ${i + 1}: ${p}` : p)),
  );
  const seen = new Map<string, number>();
  pairs.forEach(([a], i) => {
    for (const r of a.results) {
      const first = seen.get(r.scenario);
      if (first !== undefined) problems.push(`${r.scenario} is in pair ${first + 1} and pair ${i + 1}`);
      else seen.set(r.scenario, i);
    }
  });
  return problems;
}

/** The Markdown that goes between {@link BEGIN} and {@link END} in bench/README.md: one section per pair. */
export function recordedMarkdown(...pairs: RunPair[]): string {
  return [BEGIN, pairs.map(([a, b]) => pairSection(a, b)).join('\n\n'), END].join('\n');
}

function pairSection(a: RecordedRun, b: RecordedRun): string {
  const m = a.results[0]!.machine;
  const lines = [
    `### ${a.results.map((r) => r.title).join(', ')}`,
    '',
    `Recorded at commit \`${m.source.commit}\` (no uncommitted \`src/\` changes) from two full runs of ${a.summary.rounds} rounds each: [run 1](${link(a.dir)}) (${m.date.slice(0, 16).replace('T', ' ')} UTC, ${a.summary.minutes.toFixed(1)} min) and [run 2](${link(b.dir)}) (${b.results[0]!.machine.date.slice(0, 16).replace('T', ' ')} UTC, ${b.summary.minutes.toFixed(1)} min). Machine: ${m.cpuModel} x${m.cores}, ${(m.memoryBytes / 1024 ** 3).toFixed(0)} GiB, kernel ${m.kernel}, cgroup ${m.cgroup}, Node ${m.node}, Temporal SDK ${m.temporalSdk}, CLI ${m.temporalCli}.`,
    '',
    'Each figure is the median over the rounds of one run; spread = |run 1 - run 2| / the larger of the two.',
    '',
  ];
  const verdictRows: string[][] = [];
  const figureRows: string[][] = [];
  for (const ra of a.results) {
    const rb = b.results.find((r) => r.scenario === ra.scenario)!;
    if (ra.status === 'SKIPPED' || rb.status === 'SKIPPED') {
      verdictRows.push([ra.title, '(skipped)', ra.reason ?? '-', rb.reason ?? '-', '-']);
      continue;
    }
    for (const v of ra.verdicts) {
      const w = rb.verdicts.find((x) => x.target === v.target);
      const agree = w?.result === v.result;
      verdictRows.push([
        ra.title,
        v.target,
        `${v.result}: ${v.note}`,
        w ? `${w.result}: ${w.note}` : '(missing)',
        agree ? v.result : `**not reproduced** (${v.result} / ${w?.result ?? '-'})`,
      ]);
    }
    for (const f of ra.figures) {
      const g = rb.figures.find((x) => x.id === f.id);
      const digits = f.digits ?? 2;
      figureRows.push([
        ra.title,
        f.label,
        value(f.value, digits, f.unit),
        value(g?.value, digits, f.unit),
        spread(f.value, g?.value ?? Number.NaN),
      ]);
    }
  }
  lines.push(
    markdownTable({
      title: 'targets',
      headers: ['scenario', 'target', 'run 1', 'run 2', 'recorded'],
      rows: verdictRows,
    }),
    '',
    markdownTable({
      title: 'figures',
      headers: ['scenario', 'figure', 'run 1', 'run 2', 'spread'],
      rows: figureRows,
    }),
    '',
    `Noise (host CPU busy, mean over each scenario): ${a.results.map((r, i) => `${r.scenario} ${pct(r.noise.hostCpuBusyMean)} / ${pct(b.results[i]!.noise.hostCpuBusyMean)}`).join(', ')} (run 1 / run 2).`,
    '',
    `${chartsOf(a)}Full tables: [run 1 summary](${link(join(a.dir, 'summary.md'))}), [run 2 summary](${link(join(b.dir, 'summary.md'))}).`,
  );
  return lines.join('\n');
}

/** `readme` with the text between the markers replaced by `block` (which includes the markers). */
export function replaceBetweenMarkers(readme: string, block: string): string {
  const from = readme.indexOf(BEGIN);
  const to = readme.indexOf(END);
  if (from < 0 || to < from) throw new Error(`bench/README.md has no ${BEGIN} ... ${END} section to fill`);
  return readme.slice(0, from) + block + readme.slice(to + END.length);
}

/** "Charts (last round of run 1): [a](...), [b](...). ", or nothing when the scenarios draw none. */
function chartsOf(run: RecordedRun): string {
  const charts = run.results.flatMap((r) =>
    r.charts.map((c) => `[${c.replace(/\.svg$/, '')}](${link(join(run.dir, c))})`),
  );
  return charts.length ? `Charts (last round of run 1): ${charts.join(', ')}. ` : '';
}

function link(path: string): string {
  return relative(BENCH_DIR, path).split('\\').join('/');
}

function pct(v: number | null): string {
  return v !== null && Number.isFinite(v) ? `${(v * 100).toFixed(0)}%` : '-';
}

function main(): number {
  const dirs = process.argv.slice(2);
  if (dirs.length === 0 || dirs.length % 2 !== 0) {
    console.error(
      'usage: npx tsx bench/record.ts <run-1 dir> <run-2 dir> [<run-1 dir> <run-2 dir> ...] (pairs of runs; every pair that should stay recorded)',
    );
    return 2;
  }
  const pairs: RunPair[] = [];
  for (let i = 0; i < dirs.length; i += 2) pairs.push([readRun(dirs[i]!), readRun(dirs[i + 1]!)]);
  const problems = pairsProblemsOf(pairs);
  if (problems.length) {
    console.error(
      `bench/record.ts: these runs cannot be recorded:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    return 1;
  }
  const block = recordedMarkdown(...pairs);
  const readmePath = join(BENCH_DIR, 'README.md');
  writeFileSync(readmePath, replaceBetweenMarkers(readFileSync(readmePath, 'utf8'), block));
  console.log(block);
  console.log(`\nwrote the section above into ${readmePath}`);
  return 0;
}

if (isMain(import.meta.url)) process.exit(main());
