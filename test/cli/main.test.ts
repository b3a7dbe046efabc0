import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
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

  it('main() suggests the command an unknown one was probably meant to be', async () => {
    const t = io();
    expect(await main(['valdate', 'x.yaml'], t.io)).toBe(2);
    expect(t.err[0]).toMatch(/^slotwise: unknown command "valdate". Did you mean `slotwise validate`\?/);
    const far = io();
    expect(await main(['frobnicate'], far.io)).toBe(2);
    expect(far.err[0]).not.toContain('Did you mean');
  });

  it('main() suggests the flag an unknown cancel flag was probably meant to be', async () => {
    const t = io();
    expect(await main(['cancel', '--concurency', '3', '--ids', 'a'], t.io)).toBe(2);
    expect(t.err).toEqual([
      'slotwise cancel: unknown option --concurency. Did you mean --concurrency? Run `slotwise cancel --help` for usage.',
    ]);
  });

  it('main() prints worker --help and exits 0', async () => {
    const t = io();
    expect(await main(['worker', '--help'], t.io)).toBe(0);
    expect(t.out.join('\n')).toContain('Usage: slotwise worker [options]');
  });

  it.each([
    [['--bogus'], 'slotwise worker: unknown option --bogus. Run `slotwise worker --help` for usage.'],
    [['--burts', '3'], 'slotwise worker: unknown option --burts. Did you mean --burst?'],
    [
      ['--activity-slot', '3'],
      'slotwise worker: unknown option --activity-slot. Did you mean --activity-slots?',
    ],
    [
      ['--burst', '-1'],
      'slotwise worker: --burst needs a value, got "-1", which reads as an option (write --burst=-1 to pass it).',
    ],
    [['--burst=-1'], 'slotwise worker: --burst must be an integer >= 0, got "-1".'],
    [['--burst', '1e3'], 'slotwise worker: --burst must be an integer >= 0, got "1e3".'],
    [['--activity-slots', '0x10'], 'slotwise worker: --activity-slots must be an integer >= 1, got "0x10".'],
    [['--burst'], 'slotwise worker: --burst needs a value. Run `slotwise worker --help` for usage.'],
    [['--once=yes'], 'slotwise worker: --once takes no value.'],
    [['--once'], 'slotwise worker: --once exits when the burst completes, so it needs --burst <n> (n >= 1)'],
    [
      ['--workflows', 'no/such/workflows.js'],
      'slotwise worker: --workflows "no/such/workflows.js" does not exist (looked for ',
    ],
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

describe('the slotwise bin', () => {
  it('exits quietly when its reader closes the pipe (`slotwise ... | head`)', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', resolve('src/cli/bin.ts'), 'validate', '--help'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout.destroy(); // the reader is gone before the first write
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const code = await new Promise<number | null>((done) => child.on('close', done));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  }, 60_000);
});
