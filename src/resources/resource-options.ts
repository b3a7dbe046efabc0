import type { Logger } from '@temporalio/common';
import { DefaultLogger } from '@temporalio/worker';
import { checkInteger, optionError } from '../option-checks.js';

// Option checks shared by the resource readers. Internal: not exported from the package.

/** Checks the `root` option: a non-empty string. */
export function checkRoot(owner: string, value: unknown): string {
  if (value === undefined) return '/';
  if (typeof value !== 'string' || value === '')
    optionError(owner, 'root', 'a non-empty directory path', value);
  return value;
}

/** Checks a finite number `> 0`. */
export function checkPositiveNumber(owner: string, option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    optionError(owner, option, 'a number > 0', value);
  }
  return value;
}

/** Checks a finite number `>= 0`. */
export function checkNonNegativeNumber(
  owner: string,
  option: string,
  value: unknown,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    optionError(owner, option, 'a number >= 0', value);
  }
  return value;
}

/** Checks an optional integer in `[min, max]`. */
export function checkOptionalInteger(
  owner: string,
  option: string,
  value: unknown,
  fallback: number,
  min: number,
  max = Infinity,
): number {
  return value === undefined ? fallback : checkInteger(owner, option, value, min, max);
}

/** Checks the `now` option: a clock returning milliseconds. */
export function checkClock(owner: string, value: unknown): () => number {
  if (value === undefined) return () => performance.now();
  if (typeof value !== 'function') optionError(owner, 'now', 'a function returning milliseconds', value);
  return value as () => number;
}

const LOGGER_METHODS = ['trace', 'debug', 'info', 'warn', 'error'] as const;

/** Checks the `logger` option: an object with the methods of Temporal's `Logger`. */
export function checkLogger(owner: string, value: unknown): Logger {
  if (value === undefined) return new DefaultLogger('WARN');
  const candidate = value as Record<string, unknown> | null;
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    LOGGER_METHODS.some((method) => typeof candidate[method] !== 'function')
  ) {
    optionError(
      owner,
      'logger',
      'a Logger (an object with trace, debug, info, warn and error methods)',
      value,
    );
  }
  return value as Logger;
}
