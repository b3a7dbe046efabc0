import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { describe, expect, inject, it } from 'vitest';
import { main } from '../../src/cli/main.js';

describe('slotwise worker (the main job)', () => {
  it('main() runs a burst through FixedSlotSupplier slots on a given server and exits 0', async () => {
    const { code, out, err } = await runMain([
      'worker',
      '--address',
      inject('temporalAddress'),
      '--task-queue',
      `cli-${process.pid}`,
      '--burst',
      '6',
      '--work-ms',
      '200',
      '--activity-slots',
      '2',
      '--once',
    ]);
    expect(err).toEqual([]);
    expect(code).toBe(0);
    expect(out.some((l) => /slotwise-burst-\d+ completed 6 activities/.test(l))).toBe(true);
    expect(out.at(-1)).toBe('slotwise: worker stopped; activity slots issued 0, waiting 0');
  });

  it('main() without --once reports a burst that fails, stops the worker and exits 1', {
    timeout: 60_000,
  }, async () => {
    const { code, out, err } = await runMain([
      'worker',
      '--address',
      inject('temporalAddress'),
      '--task-queue',
      `cli-failing-${process.pid}`,
      '--activities',
      'test/integration/fixtures/failing-activities.ts',
      '--burst',
      '2',
      '--work-ms',
      '10',
    ]);
    expect(code).toBe(1);
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(/^slotwise worker: burst slotwise-burst-\d+ failed: .+; stopping the worker$/);
    expect(out.at(-1)).toBe('slotwise: worker stopped; activity slots issued 0, waiting 0');
  });

  it('main() exits 1 with a clear message when the server is unreachable', async () => {
    const { code, err } = await runMain(['worker', '--address', '127.0.0.1:1']);
    expect(code).toBe(1);
    expect(err.join('\n')).toContain('slotwise worker: cannot reach Temporal at 127.0.0.1:1');
  });

  it('`npm start` starts an embedded dev server when no address is given, and stops it', async () => {
    const env = { ...process.env };
    delete env.TEMPORAL_ADDRESS;
    const result = spawnSync(
      'npm',
      ['start', '--silent', '--', '--burst', '4', '--work-ms', '100', '--once'],
      {
        env,
        encoding: 'utf8',
        timeout: 90_000,
      },
    );
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('starting an embedded Temporal dev server');
    expect(result.stdout).toMatch(/embedded dev server at 127\.0\.0\.1:\d+/);
    expect(result.stdout).toMatch(/completed 4 activities/);
    const port = Number(/embedded dev server at 127\.0\.0\.1:(\d+)/.exec(result.stdout)?.[1]);
    // The embedded server is gone once the command returns: nothing answers on its port.
    expect(await canConnect(port)).toBe(false);
  });
});

/** Runs the CLI in this process with an empty environment, keeping what it prints. */
async function runMain(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l), env: {} });
  return { code, out, err };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('slotwise demo', () => {
  it('main() runs bursts that fill every slot, prints progress and the live page URL, and exits 0', async () => {
    const { code, out, err } = await runMain([
      'demo',
      '--address',
      inject('temporalAddress'),
      '--rounds',
      '2',
      '--tasks',
      '8',
      '--linger-ms',
      '0',
    ]);
    expect(err).toEqual([]);
    expect(code).toBe(0);
    expect(
      out.some((l) =>
        /^slotwise demo: live page http:\/\/127\.0\.0\.1:\d+\/ {2}\(Prometheus metrics: http:\/\/127\.0\.0\.1:\d+\/metrics\)$/.test(
          l,
        ),
      ),
    ).toBe(true);
    expect(out).toContain('slotwise demo: burst 1/2 complete: 8/8 done; slots draining');
    expect(out).toContain('slotwise demo: burst 2/2 complete: 16/16 done; slots draining');
    // The memory part knows each task's declared cost, so the 4 fixed slots are the limit, even with
    // tasks (400 ms by default) shorter than it takes a new task to show in memory readings.
    expect(out.at(-1)).toBe(
      'slotwise demo: done: 16 activities through 4 slots, at most 4 at once; issued 0, waiting 0',
    );
  });
});
