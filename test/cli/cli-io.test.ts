import { afterEach, describe, expect, it } from 'vitest';
import { processIo } from '../../src/cli/cli-io.js';

const stdinTty = Object.getOwnPropertyDescriptor(process.stdin, 'isTTY');
const stderrTty = Object.getOwnPropertyDescriptor(process.stderr, 'isTTY');

function setTty(stdin: boolean, stderr: boolean): void {
  Object.defineProperty(process.stdin, 'isTTY', { value: stdin, configurable: true });
  Object.defineProperty(process.stderr, 'isTTY', { value: stderr, configurable: true });
}

afterEach(() => {
  for (const [stream, descriptor] of [
    [process.stdin, stdinTty],
    [process.stderr, stderrTty],
  ] as const) {
    if (descriptor) Object.defineProperty(stream, 'isTTY', descriptor);
    else delete (stream as { isTTY?: boolean }).isTTY;
  }
});

describe('processIo', () => {
  it('processIo.confirm exists only while both stdin and stderr are terminals', () => {
    setTty(true, true);
    expect(typeof processIo.confirm).toBe('function');
    setTty(false, true);
    expect(processIo.confirm).toBeUndefined();
    setTty(true, false);
    expect(processIo.confirm).toBeUndefined();
  });
});
