import type { Logger } from '@temporalio/common';

const MAX_DISTINCT_MESSAGES = 100;

/**
 * Counts errors and logs each distinct message once (at `warn`), so a reader that fails on every
 * sample does not flood the log. After {@link MAX_DISTINCT_MESSAGES} distinct messages, new ones
 * are only counted.
 *
 * Internal: not exported from the package.
 *
 * @example
 * ```ts
 * import { DefaultLogger } from '@temporalio/worker';
 * import { DistinctErrorLog } from 'slotwise/internal/resources/distinct-error-log.js';
 * const errors = new DistinctErrorLog(new DefaultLogger('WARN'));
 * errors.report('cannot read /proc/meminfo'); // logged
 * errors.report('cannot read /proc/meminfo'); // only counted
 * ```
 */
export class DistinctErrorLog {
  readonly #logger: Logger;
  readonly #seen = new Set<string>();
  #count = 0;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** How many errors were reported, logged or not. */
  get count(): number {
    return this.#count;
  }

  /** Counts one error and logs `message` if it was not logged before. Never throws. */
  report(message: string, meta?: Record<string, unknown>): void {
    this.#count += 1;
    if (this.#seen.has(message) || this.#seen.size >= MAX_DISTINCT_MESSAGES) return;
    this.#seen.add(message);
    const text =
      this.#seen.size === MAX_DISTINCT_MESSAGES
        ? `${message} (further distinct errors are counted but not logged)`
        : message;
    try {
      this.#logger.warn(text, meta);
    } catch {
      // A broken logger must not break sampling.
    }
  }
}

/** The message of an error-like value. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
