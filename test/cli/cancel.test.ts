import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { freePort } from '../../src/dev-server/dev-server.js';

/**
 * Runs `slotwise cancel` the way the CLI does, with captured lines; no server is involved unless the
 * arguments get that far.
 */
async function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['cancel', ...argv], {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    env,
  });
  return { code, out, err };
}

/** A usage error as every command words it: the problem, then where to read the usage. */
const usage = (problem: string) => [`slotwise cancel: ${problem} Run \`slotwise cancel --help\` for usage.`];

describe('slotwise cancel', () => {
  it('main() prints cancel help and exits 0 for --help and -h', async () => {
    for (const flag of ['--help', '-h']) {
      const { code, out, err } = await run([flag]);
      expect(code).toBe(0);
      expect(out).toHaveLength(1);
      expect(out[0]).toMatch(
        /^Usage: slotwise cancel \(--query <query> \| --ids <id,id,\.\.\.>\) \[options\]\n/,
      );
      expect(out[0]).toContain('--dry-run               list the matching workflows and cancel nothing');
      expect(out[0]).not.toMatch(/\n$/);
      expect(err).toEqual([]);
    }
  });

  it('main() exits 2 for an unknown cancel flag, worded like every other command', async () => {
    expect(await run(['--ids', 'a', '--frobnicate'])).toEqual({
      code: 2,
      out: [],
      err: usage('unknown option --frobnicate.'),
    });
  });

  it('main() exits 2 unless exactly one of --query and --ids is given', async () => {
    expect(await run(['--query', "WorkflowType = 'x'", '--ids', 'a'])).toEqual({
      code: 2,
      out: [],
      err: usage('pass either --query or --ids, not both.'),
    });
    expect(await run(['--yes'])).toEqual({
      code: 2,
      out: [],
      err: usage('pass --query <query> or --ids <id,id,...> to say what to cancel.'),
    });
    expect((await run(['--ids', ' , '])).err).toEqual(usage('--ids needs at least one workflow id.'));
    expect((await run(['--query', ' '])).err).toEqual(usage('--query needs a visibility query.'));
  });

  it('main() exits 2 for malformed values and stray arguments', async () => {
    expect(await run(['--ids', 'a', '--concurrency', 'ten'])).toEqual({
      code: 2,
      out: [],
      err: ['slotwise cancel: --concurrency must be an integer from 1 to 1000, got "ten".'],
    });
    expect((await run(['--ids', 'a', '--concurrency', '1001'])).err).toEqual([
      'slotwise cancel: --concurrency must be an integer from 1 to 1000, got "1001".',
    ]);
    expect((await run(['--ids', 'a', '--concurrency', '0'])).code).toBe(2);
    expect((await run(['--ids', 'a', '--address', 'localhost'])).err).toEqual([
      'slotwise cancel: --address must be "host:port", got "localhost".',
    ]);
    expect((await run(['--ids', 'a', '--namespace', ' '])).err).toEqual([
      'slotwise cancel: --namespace must not be empty.',
    ]);
    expect(await run(['a,b', '--ids', 'a'])).toEqual({
      code: 2,
      out: [],
      err: usage('unexpected argument "a,b".'),
    });
    expect(await run(['--query'])).toEqual({ code: 2, out: [], err: usage('--query needs a value.') });
  });

  it('main() names TEMPORAL_ADDRESS, not --address, when the bad address came from the environment', async () => {
    expect(await run(['--ids', 'a'], { TEMPORAL_ADDRESS: 'nohost' })).toEqual({
      code: 2,
      out: [],
      err: ['slotwise cancel: TEMPORAL_ADDRESS must be "host:port", got "nohost".'],
    });
  });

  it('main() exits 1 with a clear message when the server is unreachable', { timeout: 15_000 }, async () => {
    const port = await freePort();
    const { code, out, err } = await run(['--ids', 'a', '--yes', '--address', `127.0.0.1:${port}`]);
    expect(code).toBe(1);
    expect(out).toEqual([]);
    expect(err).toEqual([
      `slotwise cancel: cannot reach the Temporal server at 127.0.0.1:${port} within 5 s ` +
        '(Failed to connect before the deadline). ' +
        'Check --address (or TEMPORAL_ADDRESS) and that the server is running.',
    ]);
  });
});
