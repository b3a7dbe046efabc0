import { expect, it } from 'vitest';
import { SlotwiseOptionsError } from '../../src/errors.js';

/**
 * One test per case, each named `constructor() rejects <options> with a precise message`: `build`
 * called with the case's options throws a {@link SlotwiseOptionsError} whose message contains the
 * case's message.
 */
export function itRejectsOptions(
  build: (options: never) => unknown,
  cases: Array<[options: unknown, message: string]>,
): void {
  it.each(cases)('constructor() rejects %j with a precise message', (options, message) => {
    const attempt = () => build(options as never);
    expect(attempt).toThrow(SlotwiseOptionsError);
    expect(attempt).toThrow(message);
  });
}
