// Runs every benchmark scenario against one shared dev server, then prints and writes a summary
// (bench/results/summary.json and summary.md). `npm run bench`, or `npm run bench -- --quick`.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCpuTracking } from './cpu-tracking.js';
import { runHotPath } from './hot-path.js';
import { parseBenchArgs } from './lib/args.js';
import { machineInfo, RESULTS_DIR, type ScenarioResult } from './lib/results.js';
import type { ScenarioContext } from './lib/scenario.js';
import { markdownTable, printTable, type Table } from './lib/table.js';
import { startBenchEnv } from './lib/temporal.js';
import { runMemoryGuard } from './memory-guard.js';
import { runReaction } from './reaction.js';
import { runThroughput } from './throughput.js';

const SCENARIOS: Array<{ name: string; run: (ctx: ScenarioContext) => Promise<ScenarioResult> }> = [
  { name: 'hot-path', run: runHotPath },
  { name: 'throughput', run: runThroughput },
  { name: 'memory-guard', run: runMemoryGuard },
  { name: 'cpu-tracking', run: runCpuTracking },
  { name: 'reaction', run: runReaction },
];

async function main(): Promise<void> {
  const args = parseBenchArgs();
  const chosen = SCENARIOS.filter((s) => !args.only || args.only.includes(s.name));
  const unknown = (args.only ?? []).filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length)
    throw new Error(
      `unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`,
    );
  const started = Date.now();
  console.log(
    `slotwise benchmarks${args.quick ? ' (--quick: smoke settings, not for recording)' : ''}: ${chosen.map((s) => s.name).join(', ')}, ${args.rounds} rounds`,
  );
  const env = await startBenchEnv();
  const stop = () => void env.close().finally(() => process.exit(130));
  process.once('SIGINT', stop);
  const results: ScenarioResult[] = [];
  const failures: Array<{ scenario: string; error: string }> = [];
  try {
    for (const s of chosen) {
      const t = Date.now();
      console.log(`\n=== ${s.name} ===`);
      try {
        results.push(await s.run({ args, env }));
      } catch (error) {
        console.error(`  ${s.name} FAILED: ${(error as Error)?.stack ?? String(error)}`);
        failures.push({ scenario: s.name, error: String(error) });
      }
      console.log(`  (${s.name} took ${((Date.now() - t) / 1000).toFixed(0)} s)`);
    }
  } finally {
    process.removeListener('SIGINT', stop);
    await env.close();
  }

  const summary: Table = {
    title: `Summary - slotwise against Temporal's built-in suppliers (${args.quick ? 'QUICK smoke run' : `${args.rounds} rounds`}), ${((Date.now() - started) / 60000).toFixed(1)} min`,
    headers: ['scenario', 'target', 'result', 'numbers'],
    rows: [
      ...results.flatMap((r) =>
        r.verdict.map((v) => [
          r.scenario,
          v.target,
          v.met === null ? 'n/a' : v.met ? 'MET' : 'MISSED',
          v.note,
        ]),
      ),
      ...results.flatMap((r) => r.skipped.map((s) => [r.scenario, s.what, 'SKIPPED', s.reason])),
      ...failures.map((f) => [f.scenario, '-', 'FAILED', f.error]),
    ],
  };
  printTable(summary);
  if (args.write) {
    const suffix = args.quick ? '.quick' : '';
    const machine = machineInfo();
    writeFileSync(
      join(RESULTS_DIR, `summary${suffix}.json`),
      `${JSON.stringify({ machine, quick: args.quick, rounds: args.rounds, minutes: (Date.now() - started) / 60000, summary, failures }, null, 2)}\n`,
    );
    const md = [
      `# slotwise benchmark results${args.quick ? ' (quick smoke run)' : ''}`,
      '',
      `${machine.date}, ${machine.cpuModel} x${machine.cores}, ${(machine.memoryBytes / 1024 ** 3).toFixed(0)} GiB, kernel ${machine.kernel}, cgroup ${machine.cgroup}, Node ${machine.node}, Temporal SDK ${machine.temporalSdk}, CLI ${machine.temporalCli}, slotwise ${machine.source.commit}${machine.source.uncommittedSrcFiles.length ? ` + uncommitted ${machine.source.uncommittedSrcFiles.join(', ')}` : ''}`,
      '',
      markdownTable(summary),
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
        `Noise during ${r.scenario}: host CPU ${pct(r.noise.hostCpuBusyMean)} busy on average (max ${pct(r.noise.hostCpuBusyMax)}), ${pct(r.noise.idleHostCpuBusyBefore)} in the idle probe before; load average ${r.machine.loadavgAtStart.join(' ')} -> ${r.noise.loadavgAtEnd.join(' ')}.`,
        '',
      ]),
    ].join('\n');
    writeFileSync(join(RESULTS_DIR, `summary${suffix}.md`), md);
    console.log(`  wrote ${join(RESULTS_DIR, `summary${suffix}.md`)} and .json`);
  }
  if (failures.length) process.exitCode = 1;
}

function pct(v: number): string {
  return Number.isFinite(v) ? `${(v * 100).toFixed(0)}%` : '-';
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
