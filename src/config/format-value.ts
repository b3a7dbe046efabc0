/**
 * Renders a config value for an error message the way it was written: numbers and booleans as
 * is, strings quoted, objects and arrays as (shortened) JSON.
 *
 * @example
 * ```ts
 * import { formatValue } from 'slotwise/internal/config/format-value.js';
 * formatValue(80); // => '80'
 * formatValue('80%'); // => '"80%"'
 * formatValue({ slots: 2 }); // => '{"slots":2}'
 * ```
 */
export function formatValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
