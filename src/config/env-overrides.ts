import type { ConfigIssue } from './config-error.js';
import { formatConfigPath } from './config-path.js';

/** The prefix of environment variables that override config values. */
export const ENV_OVERRIDE_PREFIX = 'SLOTWISE_';

/**
 * The user-facing `SLOTWISE_*` variables that are not config overrides: where slotwise caches the
 * Temporal CLI. Any other `SLOTWISE_*` variable sets a config key (except the development variables
 * below), so a misspelt one is an error rather than silently ignored: a new user-facing variable of
 * this kind must be added here.
 */
export const SLOTWISE_OTHER_VARIABLES: readonly string[] = ['SLOTWISE_CACHE_DIR'];

/**
 * The knobs of slotwise's own tests and scripts (the live page test's Chromium, the package test
 * harness's consumer project, the controller worker's slow checks). They are not config overrides
 * either, so a developer who has one set can still run the CLI, but they are not offered to users
 * in error messages: they mean nothing outside this repository.
 */
const SLOTWISE_DEVELOPMENT_VARIABLES: readonly string[] = [
  'SLOTWISE_CHROMIUM',
  'SLOTWISE_KEEP_CONSUMER',
  'SLOTWISE_REUSE_CONSUMER',
  'SLOTWISE_SLOW_CHECK_MS',
];

/** `true` for a `SLOTWISE_*` variable that is not a config override. */
function isOtherVariable(name: string): boolean {
  return SLOTWISE_OTHER_VARIABLES.includes(name) || SLOTWISE_DEVELOPMENT_VARIABLES.includes(name);
}

/** One environment variable applied to a config. */
export interface EnvOverride {
  /** The variable: `SLOTWISE_ACTIVITY__SUPPLIER__SLOTS`. */
  variable: string;
  /** The config path it set: `['activity', 'supplier', 'slots']`. */
  path: readonly (string | number)[];
  /** The value set: the variable's text parsed as JSON, else the text itself. */
  value: unknown;
}

/** What {@link applyEnvOverrides} returns. */
export interface EnvOverridesResult {
  /** A copy of the config data with the overrides applied (the input is not changed). */
  data: unknown;
  /** The overrides applied, sorted by variable name. */
  overrides: EnvOverride[];
  /** Variables that could not be applied (a path through a value that is not a mapping or list). */
  issues: ConfigIssue[];
}

/**
 * Applies `SLOTWISE_*` environment variables to config data. Every such variable except
 * {@link SLOTWISE_OTHER_VARIABLES} (and the variables of slotwise's own tests) is an override: its name, after `SLOTWISE_`, is a path of
 * segments joined by `__`:
 *
 * - each segment is a key in SCREAMING_SNAKE_CASE, matched against the keys already in the data
 *   ignoring case and underscores, else turned into camelCase (`LOCAL_ACTIVITY` -> `localActivity`,
 *   `TARGET_UTILIZATION` -> `targetUtilization`), or an index into a list (`PARTS__0`);
 * - the value is parsed as JSON when it is valid JSON (`8`, `0.8`, `false`, `{"type":"fixed","slots":4}`),
 *   else taken as a string (`localhost:7233`, `512MiB`); quote it to force a string (`'"123"'`);
 * - missing mappings on the way are created.
 *
 * So `SLOTWISE_ACTIVITY__SUPPLIER__SLOTS=8` sets `activity.supplier.slots` to `8` and
 * `SLOTWISE_TEMPORAL__ADDRESS=localhost:7233` sets `temporal.address`, and
 * `SLOTWISE_METRICS='{"listen":"0.0.0.0:9464"}'` sets the whole `metrics` section. A path the schema
 * does not know (`SLOTWISE_FOO=1`, `SLOTWISE_ACTIVTY__SUPPLIER__SLOTS=8`) is reported by validation
 * as an unknown key, naming the variable.
 *
 * @example
 * ```ts
 * import { applyEnvOverrides } from 'slotwise/internal/config/env-overrides.js';
 *
 * const { data, overrides } = applyEnvOverrides(
 *   { activity: { supplier: { type: 'fixed', slots: 2 } } },
 *   { SLOTWISE_ACTIVITY__SUPPLIER__SLOTS: '8', SLOTWISE_TEMPORAL__ADDRESS: 'localhost:7233' },
 * );
 * // data => { activity: { supplier: { type: 'fixed', slots: 8 } }, temporal: { address: 'localhost:7233' } }
 * overrides.map((o) => o.variable); // => ['SLOTWISE_ACTIVITY__SUPPLIER__SLOTS', 'SLOTWISE_TEMPORAL__ADDRESS']
 * ```
 */
export function applyEnvOverrides(data: unknown, env: NodeJS.ProcessEnv): EnvOverridesResult {
  const root = structuredClone(data ?? {}) as unknown;
  const overrides: EnvOverride[] = [];
  const issues: ConfigIssue[] = [];
  const variables = Object.keys(env)
    .filter(
      (name) => name.startsWith(ENV_OVERRIDE_PREFIX) && !isOtherVariable(name) && env[name] !== undefined,
    )
    .sort();
  for (const variable of variables) {
    const segments = variable.slice(ENV_OVERRIDE_PREFIX.length).split('__');
    const raw = env[variable]!;
    if (segments.some((segment) => segment === '')) {
      issues.push({
        path: '',
        variable,
        message:
          'expected a path of non-empty segments joined by "__", like SLOTWISE_ACTIVITY__SUPPLIER__SLOTS',
      });
      continue;
    }
    if (!isContainer(root)) {
      issues.push({ path: '', variable, message: 'cannot apply: the config is not a mapping' });
      continue;
    }
    const value = parseValue(raw);
    const path: (string | number)[] = [];
    let node: Record<string | number, unknown> | unknown[] = root;
    let failed = false;
    for (const [i, segment] of segments.entries()) {
      const key = keyIn(node, segment);
      if (key === null) {
        issues.push({
          path: formatConfigPath(path),
          variable,
          message: `expected a list index in [0, ${(node as unknown[]).length}), got ${JSON.stringify(segment)}`,
        });
        failed = true;
        break;
      }
      path.push(key);
      if (i === segments.length - 1) {
        (node as Record<string | number, unknown>)[key] = value;
        break;
      }
      const next = (node as Record<string | number, unknown>)[key];
      if (next === undefined || next === null) {
        const created = {};
        (node as Record<string | number, unknown>)[key] = created;
        node = created;
      } else if (isContainer(next)) {
        node = next;
      } else {
        issues.push({
          path: formatConfigPath(path),
          variable,
          message: `cannot set ${formatConfigPath([...path, ...segments.slice(i + 1).map(camelCase)])}: ${formatConfigPath(path)} is ${JSON.stringify(next)}, not a mapping`,
        });
        failed = true;
        break;
      }
    }
    if (!failed) overrides.push({ variable, path, value });
  }
  return { data: root, overrides, issues };
}

function isContainer(value: unknown): value is Record<string, unknown> | unknown[] {
  return typeof value === 'object' && value !== null;
}

/** The key `segment` names in `node`: an index of a list, an existing key, or a new camelCase key. */
function keyIn(node: Record<string, unknown> | unknown[], segment: string): string | number | null {
  if (Array.isArray(node)) {
    const index = Number(segment);
    return /^\d+$/.test(segment) && index < node.length ? index : null;
  }
  const wanted = normalize(segment);
  const existing = Object.keys(node).find((key) => normalize(key) === wanted);
  return existing ?? camelCase(segment);
}

const normalize = (key: string): string => key.replace(/[_-]/g, '').toLowerCase();

/** `TARGET_UTILIZATION` -> `targetUtilization`. */
function camelCase(segment: string): string {
  return segment.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function parseValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}
