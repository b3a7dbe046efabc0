// What a benchmark scenario is, as bench/lib/runner.ts runs it. A scenario file only measures and
// reports; the runner owns the dev server, the noise probe, skips, INVALID, printing and writing.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BenchArgs } from './args.js';
import type { ChartSpec } from './svg-chart.js';
import type { Table } from './table.js';
import type { BenchEnv } from './temporal.js';

/** One benchmark scenario. */
export interface Scenario {
  /** File-name id: `results/<name>.json`, `--only <name>`. */
  name: string;
  /** Short title for the summary ("3 memory guard"). */
  title: string;
  /** Measures and reports. Throw {@link ScenarioUnavailableError} when it cannot run here. */
  run(ctx: ScenarioContext): Promise<ScenarioReport>;
}

/** What the runner gives a scenario. */
export interface ScenarioContext {
  args: BenchArgs;
  /** The run's dev server, client and workflow bundle (started on first call, shared by the run). */
  env(): Promise<BenchEnv>;
  /** Prints one progress line, prefixed with the scenario name. */
  log(line: string): void;
}

/**
 * Something the scenario needs to have happened for its numbers to mean anything: the step it
 * applies, the load it creates, the calibration it relies on. One that did not hold makes the
 * scenario INVALID: its targets are then neither met nor missed.
 */
export interface Precondition {
  what: string;
  held: boolean;
  /** What was observed (shown either way; the reason when it did not hold). */
  detail: string;
  /**
   * `scenario`: the script itself must make it hold (a step it applies, a load it creates); when it
   * does not, the script is broken, even in a `--quick` smoke run. `environment`: it depends on the
   * machine's load at the time (a busy host can starve a cgroup of its quota); a smoke run on a busy
   * CI machine may miss it without anything being broken.
   */
  kind: 'scenario' | 'environment';
}

/** A target of the issue and whether slotwise met it (`null`: no target, for comparison only). */
export interface Verdict {
  target: string;
  met: boolean | null;
  note: string;
}

/**
 * A headline number of the scenario (a median over rounds), kept so that two full runs can be
 * compared figure by figure (bench/record.ts).
 */
export interface Figure {
  /** Stable id, unique within the scenario: `tasks-per-s-ratio/50`. */
  id: string;
  label: string;
  value: number;
  /** `'us'`, `'ms'`, `'ratio'`, `'tasks/s'`, ... */
  unit: string;
  /** Decimal places when printed. @default 2 */
  digits?: number;
}

/** What a scenario hands back to the runner. */
export interface ScenarioReport {
  /** Everything that shapes the measurement (sizes, durations, targets). */
  settings: Record<string, unknown>;
  preconditions: Precondition[];
  tables: Table[];
  verdicts: Verdict[];
  figures: Figure[];
  /** Charts, written as `<name>.svg` next to the JSON. */
  charts?: Array<{ name: string; spec: ChartSpec }>;
  /** Raw per-round measurements, written to the JSON. */
  data: unknown;
}

/** The scenario cannot run on this machine (no root, no cgroup controller...): it is SKIPPED. */
export class ScenarioUnavailableError extends Error {
  override name = 'ScenarioUnavailableError';
}

/** A precondition the scenario itself must make hold (see {@link Precondition.kind}). */
export function precondition(what: string, held: boolean, detail: string): Precondition {
  return { what, held, detail, kind: 'scenario' };
}

/** A precondition that depends on how busy the machine is (see {@link Precondition.kind}). */
export function machineAllows(what: string, held: boolean, detail: string): Precondition {
  return { what, held, detail, kind: 'environment' };
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

/**
 * The run order of one round for contenders measured as pairs (or small groups) whose figures are
 * divided by each other: the groups rotate left by `round`, each group's members stay next to each
 * other, and each group's members rotate by one place a round (so over as many rounds as a group
 * has members, each member runs first, second, ... once; groups start one place apart). A ratio then compares two
 * runs a few seconds apart, and a server that slows down over the run (its in-memory database
 * grows) favours neither side of a pair: with {@link rotate} on the flat list a pair could sit at
 * both ends of a round, minutes apart.
 */
export function pairedOrder<T>(groups: readonly (readonly T[])[], round: number): T[] {
  return rotate(
    groups.map((group, g) => rotate(group, round + g)),
    round,
  ).flat();
}

/** `items` rotated left by `round`: each round starts with a different contender. */
export function rotate<T>(items: readonly T[], round: number): T[] {
  const k = items.length === 0 ? 0 : round % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}
