import { z } from 'zod';
import {
  checkRule,
  integerRule,
  integerWhat,
  millisecondsRule,
  millisecondsWhat,
  type OptionRule,
} from '../option-rules.js';

// The one source of the scalar options of the resource suppliers (cpu, memory, gpu, heap): for each
// option its rule, its default per supplier, its documentation and whether a running supplier can
// change it (`live`). The constructors and `setLimits` check options against these rules, the config
// file schema is built from them (and so the shipped JSON Schema), and `validate`'s effective view
// fills in these defaults. Internal: not exported from the package.

/** The resource suppliers. */
export const RESOURCE_KINDS = ['cpu', 'memory', 'gpu', 'heap'] as const;
/** One of {@link RESOURCE_KINDS}. */
export type ResourceKind = (typeof RESOURCE_KINDS)[number];

/** Whether `kind` is one of {@link RESOURCE_KINDS}. */
export const isResourceKind = (kind: string): kind is ResourceKind =>
  (RESOURCE_KINDS as readonly string[]).includes(kind);

/** One option: its rule (see {@link OptionRule}; a live one is applied through `setLimits`) and its default per supplier. */
export interface ResourceOptionRule extends OptionRule<number> {
  /** The default by supplier; `null` when it is computed (see `doc`). Kinds without an entry lack the option. */
  readonly defaults: Readonly<Partial<Record<ResourceKind, number | null>>>;
  /** How the default reads when it is computed (`defaults` holds `null`). */
  readonly computedDefault?: string;
  /**
   * The default of a supplier a config file gives workflow tasks (also as a shared supplier they
   * use), when it differs from `defaults`: one JSON Schema `default` cannot say it, so there is none.
   */
  readonly workflowDefault?: number;
}

const everyKind = (value: number | null) => ({ cpu: value, memory: value, gpu: value, heap: value });

const integer = integerRule;
const milliseconds = millisecondsRule;
const msWhat = millisecondsWhat;

/** "Did you mean 0.8?" for a whole percentage given as a ratio (not for 1.5). */
export const percentHint = (input: unknown): string =>
  typeof input === 'number' && Number.isInteger(input) && input > 1 && input <= 100
    ? `Did you mean ${input / 100}?`
    : '';

/** The scalar options of the resource suppliers, in the order they are documented. */
export const RESOURCE_OPTION_RULES = {
  minSlots: {
    what: integerWhat(0),
    schema: integer(0),
    defaults: { cpu: 1, memory: 1, gpu: 0, heap: 1 },
    // One sticky and one non-sticky workflow poll: Temporal's resource-based tuner's minimum too.
    workflowDefault: 2,
    doc: 'Permits issued regardless of readings.',
    live: true,
  },
  maxSlots: {
    what: 'an integer >= 1',
    schema: integer(1),
    defaults: everyKind(1000),
    doc: 'Permits issued at most.',
    live: true,
  },
  targetUtilization: {
    what: 'a ratio in (0, 1]',
    hint: percentHint,
    schema: (error) => z.number({ error }).gt(0, { error }).lte(1, { error }),
    defaults: everyKind(0.8),
    doc: 'Ratio of the limit (usable cores, memory limit, device memory, heap limit) projected usage must stay under, in (0, 1]: 0.8, not 80.',
    live: true,
  },
  hysteresis: {
    what: 'a ratio in [0, 1)',
    schema: (error) => z.number({ error }).min(0, { error }).lt(1, { error }),
    defaults: everyKind(0.05),
    doc: 'Once a reservation was refused at the target, how far below it (ratio of the limit) projected usage must fall before permits are issued again, unless a release frees a whole task; below targetUtilization.',
  },
  rampThrottleMs: {
    what: msWhat(0),
    schema: milliseconds(0),
    defaults: everyKind(50),
    doc: 'Milliseconds between two permits issued above minSlots.',
  },
  settleMs: {
    what: msWhat(0),
    schema: milliseconds(0),
    defaults: { cpu: 1500, memory: 1000, gpu: 2000, heap: 1000 },
    doc: 'Milliseconds a started task may take to show in full in memory-like readings (and a released one to leave them); learning waits this long and for readings to stay flat. The cpu supplier follows the smoothing of its reading and uses it only as a lower bound on how long a released task is followed.',
  },
  staleAfterMs: {
    what: msWhat(1),
    schema: milliseconds(1),
    defaults: everyKind(null),
    computedDefault: '5 sample intervals, at least 1000',
    doc: 'A reading older than this many milliseconds is stale: no permit is issued above minSlots until a fresh one arrives.',
  },
  slotsPerDevice: {
    what: 'an integer >= 1',
    schema: integer(1),
    defaults: { gpu: 1 },
    doc: 'Permits per GPU at most.',
  },
} as const satisfies Record<string, ResourceOptionRule>;

/** The name of one of {@link RESOURCE_OPTION_RULES}. */
export type ResourceOptionKey = keyof typeof RESOURCE_OPTION_RULES;

const ruleOf = (key: ResourceOptionKey): ResourceOptionRule => RESOURCE_OPTION_RULES[key];

/** The options of `kind`, in documentation order. */
export function resourceOptionKeys(kind: ResourceKind): ResourceOptionKey[] {
  return (Object.keys(RESOURCE_OPTION_RULES) as ResourceOptionKey[]).filter(
    (key) => ruleOf(key).defaults[kind] !== undefined,
  );
}

/** The options marked `live`: a running supplier changes them through `setLimits`. */
export type ResourceLiveKey = {
  [K in ResourceOptionKey]: (typeof RESOURCE_OPTION_RULES)[K] extends { live: true } ? K : never;
}[ResourceOptionKey];

/** The options a running supplier changes through `setLimits` (config reload applies them live). */
export const RESOURCE_LIVE_KEYS = (Object.keys(RESOURCE_OPTION_RULES) as ResourceOptionKey[]).filter(
  (key) => ruleOf(key).live === true,
) as readonly ResourceLiveKey[];

/** The default of `key` for `kind`: a number, or `null` when it is computed. */
export function resourceOptionDefault(kind: ResourceKind, key: ResourceOptionKey): number | null {
  const value = ruleOf(key).defaults[kind];
  if (value === undefined) throw new Error(`slotwise: the ${kind} supplier has no option ${key}`);
  return value;
}

/** The documentation of `key` for `kind`, its default included: the config schema's description. */
export function resourceOptionDoc(kind: ResourceKind, key: ResourceOptionKey): string {
  const rule = ruleOf(key);
  const value = rule.defaults[kind];
  const shown = value === null || value === undefined ? rule.computedDefault : value;
  const workflow =
    rule.workflowDefault === undefined
      ? ''
      : `, ${rule.workflowDefault} for a supplier of workflow tasks from a config file`;
  return `${rule.doc} Default ${shown}${workflow}.`;
}

/**
 * The default of `key` a config file applies to a supplier of `kind`: the constructor's, or for a
 * supplier of workflow tasks its `workflowDefault`.
 */
export function configOptionDefault(
  kind: ResourceKind,
  key: ResourceOptionKey,
  forWorkflow: boolean,
): number | null {
  const workflowDefault = ruleOf(key).workflowDefault;
  return forWorkflow && workflowDefault !== undefined ? workflowDefault : resourceOptionDefault(kind, key);
}

/**
 * Checks one option given to a constructor or `setLimits`; throws a {@link SlotwiseOptionsError}
 * naming `owner`, the option and the value ("expected `minSlots` to be an integer >= 0, got ...").
 */
export function checkResourceOption(owner: string, key: ResourceOptionKey, value: unknown): number {
  return checkRule(owner, key, ruleOf(key), value);
}

/** A rule between two options that one value breaks. */
export interface ResourceOptionConflict {
  /** The option reported as wrong. */
  key: ResourceOptionKey;
  /** What it should be, given the other ("an integer >= minSlots (4)"). */
  what: string;
  /** Its value. */
  value: number;
  /** Both options of the rule. */
  between: readonly [ResourceOptionKey, ResourceOptionKey];
}

/**
 * The rules between options: `maxSlots >= minSlots` and `hysteresis < targetUtilization`. Used by
 * the constructors, `setLimits` and the config check.
 */
export function resourceOptionConflicts(values: {
  minSlots: number;
  maxSlots: number;
  targetUtilization: number;
  hysteresis: number;
}): ResourceOptionConflict[] {
  const conflicts: ResourceOptionConflict[] = [];
  if (values.maxSlots < values.minSlots) {
    conflicts.push({
      key: 'maxSlots',
      what: `an integer >= minSlots (${values.minSlots})`,
      value: values.maxSlots,
      between: ['minSlots', 'maxSlots'],
    });
  }
  if (!(values.hysteresis < values.targetUtilization)) {
    conflicts.push({
      key: 'hysteresis',
      what: `a ratio in [0, targetUtilization) = [0, ${values.targetUtilization})`,
      value: values.hysteresis,
      between: ['hysteresis', 'targetUtilization'],
    });
  }
  return conflicts;
}
