// Runs every benchmark scenario against one shared dev server, then prints and writes a summary
// (summary.json and summary.md next to the scenario results). `npm run bench`, or
// `npm run bench -- --quick` for the smoke run CI does.
import { concurrencyOverhead } from './concurrency-overhead.js';
import { cpuTracking } from './cpu-tracking.js';
import { fleet, fleetOverhead } from './fleet.js';
import { parseBenchArgs } from './lib/args.js';
import { exitCodeOf, runScenarios } from './lib/runner.js';
import type { Scenario } from './lib/scenario.js';
import { memoryGuard } from './memory-guard.js';
import { permitCost } from './permit-cost.js';
import { reaction } from './reaction.js';
import { throughput } from './throughput.js';

/** Every scenario, in the order a full run measures them. */
const SCENARIOS: readonly Scenario[] = [
  permitCost,
  throughput,
  memoryGuard,
  cpuTracking,
  reaction,
  fleet,
  fleetOverhead,
  concurrencyOverhead,
];

async function main(): Promise<number> {
  const args = parseBenchArgs();
  const unknown = (args.only ?? []).filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length) {
    throw new Error(
      `unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`,
    );
  }
  const chosen = SCENARIOS.filter((s) => !args.only || args.only.includes(s.name));
  console.log(
    `slotwise benchmarks${args.quick ? ' (--quick: smoke settings, figures not for quoting)' : ''}: ${chosen.map((s) => s.name).join(', ')}, ${args.rounds} rounds`,
  );
  const { status } = await runScenarios(chosen, args, { summary: true });
  return exitCodeOf(status);
}

// A scenario awaiting something that can never happen (a reservation no reading will grant) leaves
// Node with nothing to do: it would exit 0 with no summary. Say so and fail instead.
process.once('beforeExit', () => {
  console.error(
    'slotwise benchmarks: stopped before finishing: a scenario is waiting on something that will never happen (see the last scenario above)',
  );
  process.exit(2);
});

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(2);
  },
);
