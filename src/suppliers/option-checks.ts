import { SlotwiseOptionsError } from '../errors.js';

/** Renders a value for an error message: "`80` (number)". */
export function describeValue(value: unknown): string {
  if (value === null) return '`null`';
  if (value === undefined) return '`undefined`';
  if (typeof value === 'number' && !Number.isFinite(value)) return `\`${value}\` (number)`;
  let text: string;
  try {
    text = typeof value === 'string' ? JSON.stringify(value) : String(JSON.stringify(value) ?? value);
  } catch {
    text = String(value);
  }
  if (text.length > 60) text = `${text.slice(0, 57)}...`;
  return `\`${text}\` (${Array.isArray(value) ? 'array' : typeof value})`;
}

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

/** Checks a supplier name: non-empty, printable, usable as a Prometheus label value. */
export function checkName(owner: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > 100) {
    optionError(owner, 'name', 'a non-empty string of at most 100 characters', value);
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
