import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l), env: {} }, out, err };
}

describe('slotwise CLI', () => {
  it('main() prints usage and exits 2 without a command', async () => {
    const t = io();
    expect(await main([], t.io)).toBe(2);
    expect(t.out.join('\n')).toContain('Usage: slotwise <command>');
  });

  it('main() rejects an unknown command with exit code 2', async () => {
    const t = io();
    expect(await main(['frobnicate'], t.io)).toBe(2);
    expect(t.err.join('\n')).toContain('slotwise: unknown command "frobnicate"');
  });

  it('main() prints worker --help and exits 0', async () => {
    const t = io();
    expect(await main(['worker', '--help'], t.io)).toBe(0);
    expect(t.out.join('\n')).toContain('Usage: slotwise worker [options]');
  });

  it.each([
    [['--bogus'], "slotwise worker: Unknown option '--bogus'"],
    [['--activity-slots', '0'], 'slotwise worker: --activity-slots must be an integer >= 1, got "0".'],
    [['--workflow-slots', '1'], 'slotwise worker: --workflow-slots must be an integer >= 2, got "1".'],
    [['--burst', 'many'], 'slotwise worker: --burst must be an integer >= 0, got "many".'],
    [
      ['--log-level', 'loud'],
      'slotwise worker: --log-level must be one of TRACE, DEBUG, INFO, WARN, ERROR, got "loud".',
    ],
  ])('main() rejects worker %j with exit code 2', async (argv, message) => {
    const t = io();
    expect(await main(['worker', ...argv], t.io)).toBe(2);
    expect(t.err.join('\n')).toContain(message);
  });
});
