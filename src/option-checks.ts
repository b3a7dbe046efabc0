import { describeValue } from './describe-value.js';
import { SlotwiseOptionsError } from './errors.js';

// Option checks shared by every constructor and function of the package. Internal: not exported.

export { describeValue };

/** Throws a {@link SlotwiseOptionsError} saying which option of `owner` was wrong. */
export function optionError(
  owner: string,
  option: string,
  expected: string,
  value: unknown,
  hint = '',
): never {
  throw new SlotwiseOptionsError(
    `${owner}: expected \`${option}\` to be ${expected}, got ${describeValue(value)}.${hint ? ` ${hint}` : ''}`,
  );
}

/** Checks that `options` is a plain object (or `undefined` when `optional`). */
export function checkOptionsObject(owner: string, options: unknown, optional = false): void {
  if (optional && options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new SlotwiseOptionsError(`${owner}: expected an options object, got ${describeValue(options)}.`);
  }
}

/** Checks an integer option within `[min, max]`. */
export function checkInteger(
  owner: string,
  option: string,
  value: unknown,
  min: number,
  max = Infinity,
): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Infinity ? `>= ${min}` : `in [${min}, ${max}]`;
    optionError(owner, option, `an integer ${range}`, value);
  }
  return value;
}

/** The longest supplier name, in characters (the config file's rule too). */
export const MAX_NAME_LENGTH = 100;

/** Checks a supplier name: non-empty, printable, usable as a Prometheus label value. */
export function checkName(owner: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > MAX_NAME_LENGTH) {
    optionError(owner, 'name', `a non-empty string of at most ${MAX_NAME_LENGTH} characters`, value);
  }
  return value;
}

/** Checks that `options` has no keys beyond `known`, catching typos such as `slot` for `slots`. */
export function checkKnownKeys(owner: string, options: object, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      const guess = known.find((k) => k.toLowerCase().startsWith(key.toLowerCase().slice(0, 3)));
      throw new SlotwiseOptionsError(
        `${owner}: unknown option \`${key}\`.${guess ? ` Did you mean \`${guess}\`?` : ''} Known options: ${known.join(', ')}.`,
      );
    }
  }
}

/** The longest delay `setTimeout`/`setInterval` accept, in milliseconds. */
export const MAX_TIMER_MS = 2_147_483_647;
