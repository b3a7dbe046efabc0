import type { z } from 'zod';
import { describeValue } from '../describe-value.js';
import { checkConfig } from './check-config.js';
import { ConfigError, type ConfigIssue } from './config-error.js';
import { CONFIG_LIMITS } from './config-limits.js';
import { formatConfigPath } from './config-path.js';
import { type DataPath, involvesRepaired, type RepairedData, repairAt } from './config-repair.js';
import { checkConfigShape } from './config-shape.js';
import type { EffectiveConfig } from './effective-config.js';
import { applyEnvOverrides, type EnvOverride, SLOTWISE_OTHER_VARIABLES } from './env-overrides.js';
import { type SlotwiseConfig, slotwiseConfigSchema } from './schema.js';

/** Options of {@link parseConfig}. */
export interface ParseConfigOptions {
  /**
   * What to call the config in error messages: its file name.
   * @default 'config'
   */
  source?: string;
  /**
   * Environment whose `SLOTWISE_*` variables override values (see {@link applyEnvOverrides}).
   * @default none: no overrides
   */
  env?: NodeJS.ProcessEnv;
}

/** A validated config with what produced it. */
export interface ParsedConfig {
  /** The validated config (sizes in bytes). */
  config: SlotwiseConfig;
  /** The config with every default filled in. */
  effective: EffectiveConfig;
  /** The environment overrides applied. */
  overrides: EnvOverride[];
}

/** Hints for keys that belong elsewhere. */
const MOVED_KEYS: Readonly<Record<string, string>> = {
  scope: 'set it once for all memory suppliers as sampler.memory.scope',
  limitBytes: 'set it once for all memory suppliers as sampler.memory.limitBytes',
  sampleIntervalMs: 'one sampler serves every supplier: set sampler.intervalMs (or sampler.gpuIntervalMs)',
  nvidiaSmi: 'set it once for all GPU suppliers as sampler.gpu.nvidiaSmi',
};

/**
 * Validates config data (parsed YAML or JSON, or an object written in code) and returns the
 * config with sizes in bytes. Throws a {@link ConfigError} listing every problem, each naming the
 * path and what was expected.
 *
 * @example
 * ```ts
 * import { parseConfig } from 'slotwise';
 *
 * parseConfig({ activity: { supplier: { type: 'memory' }, costs: { default: { memoryBytes: '512MiB' } } } });
 * // => { activity: { supplier: { type: 'memory' }, costs: { default: { memoryBytes: 536870912 } } } }
 * parseConfig({ activity: { supplier: { type: 'cpu', targetUtilization: 80 } } }, { source: 'slotwise.yaml' });
 * // throws ConfigError: slotwise.yaml: activity.supplier.targetUtilization: expected a ratio in (0, 1], got 80. Did you mean 0.8?
 * ```
 */
export function parseConfig(data: unknown, options: ParseConfigOptions = {}): SlotwiseConfig {
  return parseConfigDetailed(data, options).config;
}

/**
 * {@link parseConfig}, also returning the effective config and the overrides applied.
 *
 * @example
 * ```ts
 * import { parseConfigDetailed } from 'slotwise/internal/config/parse-config.js';
 *
 * const { config, effective, overrides } = parseConfigDetailed(
 *   { activity: { supplier: { type: 'fixed', slots: 2 } } },
 *   { env: { SLOTWISE_ACTIVITY__SUPPLIER__SLOTS: '4' } },
 * );
 * config.activity?.supplier; // => { type: 'fixed', slots: 4 }
 * effective.activity; // => { type: 'fixed', name: 'activity', slots: 4, ... }
 * overrides[0]?.variable; // => 'SLOTWISE_ACTIVITY__SUPPLIER__SLOTS'
 * ```
 */
export function parseConfigDetailed(data: unknown, options: ParseConfigOptions = {}): ParsedConfig {
  const source = options.source ?? 'config';
  const shape = checkConfigShape(data);
  if (shape !== null) throw new ConfigError(source, [shape]);
  let overrides: EnvOverride[] = [];
  const issues: ConfigIssue[] = [];
  if (options.env) {
    const applied = applyEnvOverrides(data, options.env);
    data = applied.data;
    overrides = applied.overrides;
    issues.push(...applied.issues);
    const overridden = checkConfigShape(data);
    if (overridden !== null) throw new ConfigError(source, [...issues, overridden]);
  }
  /** The issue, naming the variable that set the value at `path` (or created an unknown key there). */
  const attribute = (path: readonly PropertyKey[], message: string, unknownKey = false): ConfigIssue => {
    const within = (inner: readonly PropertyKey[], outer: readonly PropertyKey[]) =>
      outer.length <= inner.length && outer.every((segment, i) => segment === inner[i]);
    const override = overrides
      .filter((o) => within(path, o.path) || (unknownKey && within(o.path, path)))
      .sort((a, b) => b.path.length - a.path.length)[0];
    const issue: ConfigIssue = { path: formatConfigPath(path), message };
    if (override) {
      issue.variable = override.variable;
      if (unknownKey && override.path.length === 1) issue.message += `. ${OTHER_VARIABLES_NOTE}`;
    }
    return issue;
  };
  const result = slotwiseConfigSchema.safeParse(data, { error: fallbackMessage });
  let config: SlotwiseConfig | null = result.success ? result.data : null;
  let repaired: DataPath[] = [];
  /** Problems found but not listed (beyond what the schema's issues were flattened into). */
  let unlisted = 0;
  if (!result.success) {
    const problems = flattenAll(result.error.issues);
    for (const problem of problems.listed) {
      issues.push(attribute(problem.path, problem.message, problem.unknownKey));
    }
    unlisted = problems.total - problems.listed.length;
    if (unlisted === 0) {
      // The checks that span fields still run on the rest, so every problem is reported at once.
      const repair = repairUntilValid(data, problems.listed);
      if (repair !== null) {
        config = repair.config;
        repaired = repair.repaired;
      }
    }
  }
  if (config === null) throw new ConfigError(source, capped(issues, unlisted));
  const checked = checkConfig(config);
  for (const issue of checked.issues) {
    if (!involvesRepaired(issue.dependsOn ?? [issue.path], repaired)) {
      issues.push(attribute(issue.path, issue.message));
    }
  }
  if (issues.length > 0 || checked.effective === null)
    throw new ConfigError(source, capped(issues, unlisted));
  return { config, effective: checked.effective, overrides };
}

/** The hint on an unknown single-segment `SLOTWISE_FOO` variable. */
const OTHER_VARIABLES_NOTE = `Every SLOTWISE_* variable sets a config key, except ${listed(SLOTWISE_OTHER_VARIABLES)}`;

/** `a`, `a and b`, `a, b and c`. */
function listed(names: readonly string[]): string {
  return names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

/** Rounds of repair before giving up on the checks that span fields (each round can only fix more). */
const REPAIR_ROUNDS = 8;

/** Repairs the places of `problems` (and what the schema then still refuses) until the schema accepts. */
function repairUntilValid(
  data: unknown,
  problems: readonly FlatIssue[],
): { config: SlotwiseConfig; repaired: DataPath[] } | null {
  let paths: DataPath[] = problems.map((problem) => problem.path as DataPath);
  let repair: RepairedData | null = { data, repaired: [] };
  for (let round = 0; round < REPAIR_ROUNDS; round++) {
    repair = repairAt(repair.data, paths, repair.repaired);
    if (repair === null) return null;
    const again = slotwiseConfigSchema.safeParse(repair.data, { error: fallbackMessage });
    if (again.success) return { config: again.data, repaired: repair.repaired };
    const next = flattenAll(again.error.issues);
    if (next.total > next.listed.length) return null;
    paths = next.listed.map((problem) => problem.path as DataPath);
  }
  return null;
}

/** At most {@link CONFIG_LIMITS}.maxIssues issues, and one that counts the rest (`unlisted` more). */
function capped(issues: ConfigIssue[], unlisted: number): ConfigIssue[] {
  const rest = Math.max(0, issues.length - CONFIG_LIMITS.maxIssues) + unlisted;
  return rest === 0 ? issues : [...issues.slice(0, CONFIG_LIMITS.maxIssues), moreProblems(rest)];
}

function moreProblems(count: number): ConfigIssue {
  return {
    path: '',
    message: `${count} more problems not listed (only the first ${CONFIG_LIMITS.maxIssues} are)`,
  };
}

interface FlatIssue {
  path: PropertyKey[];
  message: string;
  unknownKey?: boolean;
}

/** Every zod issue flattened; only the first {@link CONFIG_LIMITS}.maxIssues are kept, all are counted. */
function flattenAll(zodIssues: readonly z.core.$ZodIssue[]): { listed: FlatIssue[]; total: number } {
  const listed: FlatIssue[] = [];
  let total = 0;
  for (const issue of zodIssues) {
    for (const flat of flatten(issue, [])) {
      total++;
      if (listed.length < CONFIG_LIMITS.maxIssues) listed.push(flat);
    }
  }
  return { listed, total };
}

/** One zod issue as one or more path + message pairs: unions resolved, unknown keys one per key. */
function flatten(
  issue: z.core.$ZodIssue,
  prefix: readonly PropertyKey[],
): { path: PropertyKey[]; message: string; unknownKey?: boolean }[] {
  const path = [...prefix, ...issue.path];
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    // The branch whose type matched (an object for a supplier mapping, a string for a name) has
    // the precise problems; a union no branch of which matched keeps its own message.
    const matching = issue.errors.filter(
      (branch) =>
        !branch.some(
          (inner) =>
            inner.path.length === 0 && (inner.code === 'invalid_type' || inner.code === 'invalid_value'),
        ),
    );
    if (matching.length === 1) return matching[0]!.flatMap((inner) => flatten(inner, path));
  }
  if (issue.code === 'invalid_key' && issue.issues.length > 0) {
    // A key of `suppliers` that is not a usable name: say what is wrong with the name.
    return [{ path, message: issue.issues[0]!.message }];
  }
  if (issue.code === 'unrecognized_keys') {
    const messages = issue.message.split('\n');
    return issue.keys.map((key, i) => ({
      path: [...path, key],
      message: messages[i] ?? 'unknown key',
      unknownKey: true,
    }));
  }
  return [{ path, message: issue.message }];
}

/** Messages of the issues the schema does not word itself. */
function fallbackMessage(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'unrecognized_keys': {
      const shape = (issue.inst as { _zod?: { def?: { shape?: object } } } | undefined)?._zod?.def?.shape;
      const known = shape ? Object.keys(shape) : [];
      // Only the listed keys get a message (with a guess, which costs): a hostile file can have 400k.
      return issue.keys
        .slice(0, CONFIG_LIMITS.maxIssues)
        .map((key) => unknownKeyMessage(key, known))
        .join('\n');
    }
    case 'invalid_type': {
      const what =
        { object: 'a mapping', record: 'a mapping', array: 'a list', string: 'a string', number: 'a number' }[
          issue.expected as string
        ] ?? issue.expected;
      return issue.input === undefined
        ? `expected ${what}, but it is missing`
        : `expected ${what}, got ${describeValue(issue.input, 'as-written')}`;
    }
    case 'invalid_value':
      return `expected ${issue.values.length === 1 ? '' : 'one of '}${issue.values.map((v) => describeValue(v, 'as-written')).join(', ')}, got ${describeValue(issue.input, 'as-written')}`;
    default:
      return undefined;
  }
}

function unknownKeyMessage(key: string, known: readonly string[]): string {
  const moved = MOVED_KEYS[key];
  if (moved && !known.includes(key)) return `unknown key: ${moved}`;
  if (key === 'costs') return 'unknown key: only cpu, memory and gpu suppliers (and slot types) have `costs`';
  const guess = closest(key, known);
  const list = known.filter((k) => k !== '$schema').join(', ');
  return `unknown key${guess ? `; did you mean \`${guess}\`?` : ''} (expected one of: ${list})`;
}

/** The known key nearest to `key` (case-insensitive edit distance within a third of its length, at least 2). */
function closest(key: string, known: readonly string[]): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance <= Math.max(2, Math.floor(candidate.length / 3)) && (!best || distance < best.distance)) {
      best = { key: candidate, distance };
    }
  }
  return best?.key;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}
