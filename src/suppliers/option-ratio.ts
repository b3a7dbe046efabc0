import { optionError } from './option-checks.js';

/**
 * Checks a ratio option in (0, 1]. A percentage such as `80` is rejected with a hint: "Did you
 * mean 0.8?".
 */
export function checkRatio(owner: string, option: string, value: unknown, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 1) {
    const hint =
      typeof value === 'number' && Number.isInteger(value) && value > 1 && value <= 100
        ? `Did you mean ${value / 100}?`
        : '';
    optionError(owner, option, 'a ratio in (0, 1]', value, hint);
  }
  return value;
}
