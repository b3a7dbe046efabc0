import { describe, expect, it } from 'vitest';
import { cancelCommand } from '../../src/cli/commands/cancel.js';
import { freePort } from '../../src/dev-server/dev-server.js';

/** Runs the command with captured output; no server is involved unless the arguments get that far. */
async function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  let out = '';
  let err = '';
  const code = await cancelCommand(argv, {
    out: (s) => {
      out += s;
    },
    err: (s) => {
      err += s;
    },
    env,
  });
  return { code, out, err };
}

const usage = (message: string) => `slotwise cancel: ${message}\nRun \`slotwise cancel --help\` for usage.\n`;

describe('cancelCommand', () => {
  it('cancelCommand() prints help and exits 0 for --help and -h', async () => {
    for (const flag of ['--help', '-h']) {
      const { code, out, err } = await run([flag]);
      expect(code).toBe(0);
      expect(out).toMatch(
        /^Usage: slotwise cancel \(--query <query> \| --ids <id,id,\.\.\.>\) \[options\]\n/,
      );
      expect(out).toContain('--dry-run               list the matching workflows and cancel nothing');
      expect(err).toBe('');
    }
  });

  it('cancelCommand() exits 2 for an unknown flag', async () => {
    expect(await run(['--ids', 'a', '--frobnicate'])).toEqual({
      code: 2,
      out: '',
      err: usage("unknown option '--frobnicate'"),
    });
  });

  it('cancelCommand() exits 2 unless exactly one of --query and --ids is given', async () => {
    expect(await run(['--query', "WorkflowType = 'x'", '--ids', 'a'])).toEqual({
      code: 2,
      out: '',
      err: usage('pass either --query or --ids, not both'),
    });
    expect(await run(['--yes'])).toEqual({
      code: 2,
      out: '',
      err: usage('pass --query <query> or --ids <id,id,...> to say what to cancel'),
    });
    expect((await run(['--ids', ' , '])).err).toBe(usage('--ids needs at least one workflow id'));
    expect((await run(['--query', ' '])).err).toBe(usage('--query needs a visibility query'));
  });

  it('cancelCommand() exits 2 for malformed values and stray arguments', async () => {
    expect((await run(['--ids', 'a', '--concurrency', 'ten'])).err).toBe(
      usage('--concurrency must be an integer from 1 to 1000, got "ten"'),
    );
    expect((await run(['--ids', 'a', '--address', 'localhost'])).err).toBe(
      usage('--address must be host:port, got "localhost"'),
    );
    expect((await run(['--ids', 'a'], { TEMPORAL_ADDRESS: 'nohost' })).err).toBe(
      usage('--address must be host:port, got "nohost"'),
    );
    const stray = await run(['a,b', '--ids', 'a']);
    expect(stray).toEqual({ code: 2, out: '', err: usage('unexpected argument "a,b"') });
    expect((await run(['--query'])).code).toBe(2);
  });

  it('cancelCommand() exits 1 with a clear message when the server is unreachable', {
    timeout: 15_000,
  }, async () => {
    const port = await freePort();
    const { code, out, err } = await run(['--ids', 'a', '--yes', '--address', `127.0.0.1:${port}`]);
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err).toBe(
      `slotwise cancel: cannot reach the Temporal server at 127.0.0.1:${port} within 5 s ` +
        '(Failed to connect before the deadline). ' +
        'Check --address (or TEMPORAL_ADDRESS) and that the server is running.\n',
    );
  });
});
