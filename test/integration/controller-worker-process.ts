import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, inject } from 'vitest';

// The controller's Worker in a process of its own (scripts/controller-worker.ts), for tests that kill
// it: a SIGKILL leaves its sticky queue and any workflow task it held to time out, as a crash does.

const WORKER = fileURLToPath(new URL('../../scripts/controller-worker.ts', import.meta.url));
const children = new Set<ChildProcess>();

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
});

export interface ControllerWorker {
  child: ChildProcess;
  /** Everything the Worker printed so far (its log at WARN and above). */
  output(): string;
}

/**
 * Starts scripts/controller-worker.ts on `taskQueue`, its holder checks held open 0.8 s and its log at
 * WARN and above on stdout; resolves once it polls.
 */
export async function startControllerWorker(taskQueue: string): Promise<ControllerWorker> {
  const args = [inject('temporalAddress'), taskQueue, inject('workflowBundlePath'), '--log', 'WARN'];
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, ...args], {
    env: { ...process.env, SLOTWISE_SLOW_CHECK_MS: '800' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  await new Promise<void>((resolve, reject) => {
    const onData = () => {
      if (/^ready$/m.test(output)) {
        child.stdout!.off('data', onData);
        child.off('exit', onExit);
        resolve();
      }
    };
    const onExit = (code: number | null) =>
      reject(new Error(`controller worker exited (${code}) before it was ready:\n${output}`));
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
  return { child, output: () => output };
}

/** Kills `worker` with SIGKILL and waits until it is gone. */
export async function kill(worker: ControllerWorker): Promise<void> {
  if (worker.child.exitCode !== null || worker.child.signalCode !== null) return;
  const gone = new Promise((resolve) => worker.child.once('exit', resolve));
  worker.child.kill('SIGKILL');
  await gone;
}
