import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l), env: {} }, out, err };
}

describe('slotwise fleet', () => {
  it('main() prints fleet --help and exits 0', async () => {
    const t = io();
    expect(await main(['fleet', '--help'], t.io)).toBe(0);
    expect(t.out.join('\n')).toContain('Usage: slotwise fleet status <fleet> [options]');
  });

  it.each([
    [[], 'slotwise fleet: expected `status <fleet>` or `set-slots <fleet> <slots>`, got nothing.'],
    [
      ['grow', 'api'],
      'slotwise fleet: expected `status <fleet>` or `set-slots <fleet> <slots>`, got "grow".',
    ],
    [['status'], "slotwise fleet status: expected the fleet's name after `status`."],
    [
      ['status', 'api', 'extra'],
      'slotwise fleet status: expected only the fleet\'s name, got ["api","extra"].',
    ],
    [
      ['set-slots', 'api'],
      'slotwise fleet set-slots: expected the fleet\'s name and the new slots, got ["api"].',
    ],
    [
      ['set-slots', 'api', '0'],
      'slotwise fleet set-slots: expected the new slots to be an integer in [1, 1000000], got "0".',
    ],
    [
      ['set-slots', 'api', 'ten'],
      'slotwise fleet set-slots: expected the new slots to be an integer in [1, 1000000], got "ten".',
    ],
    [
      ['status', 'api', '--bogus'],
      'slotwise fleet: unknown option --bogus. Run `slotwise fleet --help` for usage.',
    ],
  ])('main() rejects fleet %j with exit code 2', async (argv, message) => {
    const t = io();
    expect(await main(['fleet', ...argv], t.io)).toBe(2);
    expect(t.err.join('\n')).toContain(message);
  });
});
