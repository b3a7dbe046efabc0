/**
 * Renders a value for an error message; the one function every slotwise message uses. `typed`
 * (for options passed in code) quotes the value and names its type: "`80` (number)". `as-written`
 * (for a config file, whose values have no types to tell apart) shows it as in the file: `80`,
 * `"80%"`, `{"slots":2}`, and `nothing` for a missing value. Long values are shortened.
 *
 * Internal: not exported from the package. Imports nothing, so workflow code can use it.
 *
 * @example
 * ```ts
 * import { describeValue } from 'slotwise/internal/describe-value.js';
 * describeValue(80); // => '`80` (number)'
 * describeValue(null); // => '`null`'
 * describeValue('80%', 'as-written'); // => '"80%"'
 * describeValue({ slots: 2 }, 'as-written'); // => '{"slots":2}'
 * ```
 */
export function describeValue(value: unknown, style: 'typed' | 'as-written' = 'typed'): string {
  if (value === undefined) return style === 'typed' ? '`undefined`' : 'nothing';
  if (value === null && style === 'typed') return '`null`';
  let text: string;
  if (typeof value === 'number' && !Number.isFinite(value)) {
    text = String(value);
  } else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  if (text.length > 60) text = `${text.slice(0, 57)}...`;
  if (style === 'as-written') return text;
  return `\`${text}\` (${Array.isArray(value) ? 'array' : typeof value})`;
}
