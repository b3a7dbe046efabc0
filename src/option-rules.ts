import { z } from 'zod';
import { MAX_TIMER_MS, optionError } from './option-checks.js';

// What an option rule is: the one description of an option that a constructor, `setLimits`, the
// config file schema (and so the shipped JSON Schema), `validate`'s effective view, config reload
// and the README tables all read. Each supplier keeps its rules in a module beside it
// (`fixed-supplier-options.ts`, `fleet-supplier-options.ts`, `resource-supplier-options.ts`).
// Internal: not exported from the package.

/** Makes the message of a failed rule from the value given. */
export type RuleError = (issue: { input?: unknown }) => string;

/** One option: what it must be, the zod schema that checks it, and its documentation. */
export interface OptionRule<T = unknown> {
  /** What a valid value is, for "expected `x` to be <what>": "an integer >= 0". */
  readonly what: string;
  /** A hint for a wrong value ("Did you mean 0.8?"), or `''`. */
  readonly hint?: (input: unknown) => string;
  /** The schema, each failure worded by `error`. */
  readonly schema: (error: RuleError) => z.ZodType<T>;
  /** What the option does, with its unit; the default is added where it is shown. */
  readonly doc: string;
  /** `true` when config reload applies a change to a running supplier. */
  readonly live?: true;
}

/** An option of a supplier with one default (every supplier but the resource ones, which have one per kind). */
export interface SupplierOptionRule<T = unknown> extends OptionRule<T> {
  /** The default; absent when the option is required. */
  readonly default?: T;
  /** `false` when only the constructor takes the option (the config file has no such key). */
  readonly inConfig?: false;
}

/** An integer in `[min, max]`. */
export const integerRule =
  (min: number, max = Infinity) =>
  (error: RuleError): z.ZodNumber => {
    const schema = z.number({ error }).int({ error }).min(min, { error });
    return max === Infinity ? schema : schema.max(max, { error });
  };

/** What {@link integerRule} accepts, in words. */
export const integerWhat = (min: number, max = Infinity): string =>
  max === Infinity ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`;

/** Timer delays: Node's timers take at most 2^31 - 1 ms (24.8 days). */
export const millisecondsRule = (min: number) => integerRule(min, MAX_TIMER_MS);

/** What {@link millisecondsRule} accepts, in words. */
export const millisecondsWhat = (min: number): string =>
  `a whole number of milliseconds in [${min}, ${MAX_TIMER_MS}]`;

/** A string that is not blank, of at most `max` characters. */
export const textRule =
  (max: number) =>
  (error: RuleError): z.ZodType<string> =>
    z
      .string({ error })
      .min(1, { error, abort: true })
      .max(max, { error, abort: true })
      .refine((text) => text.trim() !== '', { error });

/** What {@link textRule} accepts, in words. */
export const textWhat = (max: number): string => `a non-empty string of at most ${max} characters`;

/**
 * Checks `value` of the option `option` of `owner` against `rule`; throws a
 * {@link SlotwiseOptionsError} naming them ("expected `minSlots` to be an integer >= 0, got ...").
 */
export function checkRule<T>(
  owner: string,
  option: string,
  rule: Pick<OptionRule<T>, 'what' | 'hint' | 'schema'>,
  value: unknown,
): T {
  if (!rule.schema(() => '').safeParse(value).success) {
    optionError(owner, option, rule.what, value, rule.hint?.(value) ?? '');
  }
  return value as T;
}

/** The options of `rules` a config file takes, in documentation order. */
export function configKeys<R extends Record<string, SupplierOptionRule>>(rules: R): Array<keyof R & string> {
  return Object.keys(rules).filter((key) => rules[key]!.inConfig !== false);
}

/** The options of `rules` marked `live`. */
export function liveKeys<R extends Record<string, OptionRule>>(rules: R): Array<LiveKey<R>> {
  return Object.keys(rules).filter((key) => rules[key]!.live === true) as Array<LiveKey<R>>;
}

/** The keys of `R` whose rule is marked `live`. */
export type LiveKey<R> = { [K in keyof R]: R[K] extends { live: true } ? K : never }[keyof R] & string;

/** How a default reads in documentation: `1000`, `"slotwise-fleet"`. */
export const showDefault = (value: unknown): string =>
  typeof value === 'string' ? JSON.stringify(value) : String(value);

/** The documentation of an option with its default and whether it changes live: a config schema description. */
export function ruleDoc(rule: SupplierOptionRule): string {
  return [
    rule.doc,
    rule.default === undefined ? '' : ` Default ${showDefault(rule.default)}.`,
    rule.live ? ' Changes live on config reload.' : '',
  ].join('');
}

/** `value`, or the rule's default when it is `undefined`, checked against the rule. */
export function checkOption(
  owner: string,
  option: string,
  rule: SupplierOptionRule<unknown>,
  value: unknown,
): unknown {
  return checkRule(owner, option, rule, value === undefined ? rule.default : value);
}
