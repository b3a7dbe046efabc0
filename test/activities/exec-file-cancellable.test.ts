import { readFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CancelledFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { CommandFailedError, execFileCancellable } from '../../src/activities/exec-file-cancellable.js';
import { SlotwiseOptionsError } from '../../src/errors.js';
import { testActivity } from './activity-env.js';

const node = process.execPath;
const never = () => new AbortController().signal;

/** Whether `pid` runs: it exists and is not a zombie waiting for init to reap it (Linux `/proc`). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

const pidFile = join(tmpdir(), `slotwise-exec-test-${process.pid}.pid`);

/** Waits for the pid the shell under test wrote. */
async function readPid(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const text = await readFile(pidFile, 'utf8').catch(() => '');
    if (text.trim() !== '') return Number(text.trim());
    await sleep(10);
  }
  throw new Error('the shell never wrote its pid file');
}

describe('execFileCancellable', () => {
  it('execFileCancellable() resolves with stdout and stderr of a successful run', async () => {
    const result = await execFileCancellable(
      node,
      ['-e', "process.stdout.write('out'); process.stderr.write('err')"],
      { signal: never() },
    );
    expect(result).toEqual({ stdout: 'out', stderr: 'err' });
  });

  it('execFileCancellable() writes input to the child and closes its stdin', async () => {
    const result = await execFileCancellable(node, ['-e', 'process.stdin.pipe(process.stdout)'], {
      signal: never(),
      input: 'piped text',
    });
    expect(result.stdout).toBe('piped text');
  });

  it('execFileCancellable() rejects a non-zero exit with a CommandFailedError naming the last stderr line', async () => {
    const error = await execFileCancellable(
      node,
      ['-e', "console.log('partial'); console.error('warming up\\nno such table'); process.exit(3)"],
      { signal: never() },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandFailedError);
    expect(error).toMatchObject({
      name: 'CommandFailedError',
      message: `${node} exited with code 3: no such table`,
      exitCode: 3,
      signal: null,
      stdout: 'partial\n',
      stderr: 'warming up\nno such table\n',
    });
  });

  it('execFileCancellable() rejects with the spawn error when the program does not exist', async () => {
    await expect(execFileCancellable('/nonexistent/program', [], { signal: never() })).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });

  it("execFileCancellable() kills the child's process group on abort and rejects with the reason", async () => {
    await rm(pidFile, { force: true });
    const controller = new AbortController();
    const running = execFileCancellable('sh', ['-c', 'sleep 30 & echo $! > "$PID_FILE"; wait'], {
      signal: controller.signal,
      env: { ...process.env, PID_FILE: pidFile },
    });
    const grandchild = await readPid();
    expect(isRunning(grandchild)).toBe(true);
    const reason = new Error('cancelled by test');
    controller.abort(reason);
    await expect(running).rejects.toBe(reason);
    for (let i = 0; i < 100 && isRunning(grandchild); i++) await sleep(10);
    expect(isRunning(grandchild)).toBe(false);
    await rm(pidFile, { force: true });
  });

  it('execFileCancellable() sends SIGKILL after killGraceMs to a child that ignores SIGTERM', async () => {
    const controller = new AbortController();
    const readyFile = join(tmpdir(), `slotwise-ignores-sigterm-${process.pid}-${Date.now()}`);
    const running = execFileCancellable(
      node,
      [
        '-e',
        "process.on('SIGTERM', () => {}); require('node:fs').writeFileSync(process.env.READY_FILE, 'ready'); setInterval(() => {}, 1000)",
      ],
      { signal: controller.signal, killGraceMs: 200, env: { ...process.env, READY_FILE: readyFile } },
    );
    // Abort only once the child ignores SIGTERM: on a busy machine it may take a while to start.
    while (!(await readFile(readyFile, 'utf8').catch(() => ''))) await sleep(10);
    await rm(readyFile, { force: true });
    const started = Date.now();
    controller.abort(new Error('stop'));
    await expect(running).rejects.toThrow('stop');
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
  });

  it("execFileCancellable() uses the activity's cancellation signal by default", async () => {
    const activity = testActivity();
    const running = activity.run(() => execFileCancellable(node, ['-e', 'setInterval(() => {}, 1000)']));
    await sleep(100);
    const reason = activity.cancel();
    const error = await running.catch((e: unknown) => e);
    expect(error).toBe(reason);
    expect(error).toBeInstanceOf(CancelledFailure);
  });

  it('execFileCancellable() rejects at once for an already aborted signal', async () => {
    const reason = new Error('already');
    await expect(execFileCancellable(node, ['-e', ''], { signal: AbortSignal.abort(reason) })).rejects.toBe(
      reason,
    );
  });

  it('execFileCancellable() kills a child that writes more than maxBufferBytes', async () => {
    await expect(
      execFileCancellable(node, ['-e', "setInterval(() => process.stdout.write('x'.repeat(1000)), 1)"], {
        signal: never(),
        maxBufferBytes: 10_000,
      }),
    ).rejects.toThrow(`execFileCancellable: ${node} wrote more than 10000 bytes to stdout.`);
  });

  it('execFileCancellable() needs a signal outside an activity and validates its options', async () => {
    await expect(execFileCancellable(node, [])).rejects.toThrow(
      new SlotwiseOptionsError(
        'execFileCancellable: expected `signal` to be an AbortSignal, got `undefined`. ' +
          'Outside an activity there is no cancellation signal to default to; pass one.',
      ),
    );
    await expect(execFileCancellable(node, ['-e', ''], { signal: never(), killGraceMs: -1 })).rejects.toThrow(
      'execFileCancellable: expected `killGraceMs` to be a finite number >= 0, got `-1` (number).',
    );
    await expect(execFileCancellable(node, [1 as never], { signal: never() })).rejects.toThrow(
      'execFileCancellable: expected `args` to be an array of strings, got `[1]` (array).',
    );
  });
});
