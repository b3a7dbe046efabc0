import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '../../src/dev-server/dev-server.js';
import type { ActivityEvent } from './activities.js';
import type { BenchCgroup } from './cgroup.js';
import type { ChildConfig, ChildMessage, SupplierSample } from './child-protocol.js';
import { BENCH_DIR } from './results.js';
import type { SupplierSpec } from './suppliers.js';
import type { BenchEnv } from './temporal.js';

/** How a child worker process ended. */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** `true` when this side killed it (a SIGKILL we sent is not an OOM kill). */
  killedByUs: boolean;
}

/** A Worker running in a child process (see bench/lib/worker-child.ts). */
export interface ChildWorker {
  readonly process: ChildProcess;
  /** Resolves when the Worker runs; rejects if the child exits first. */
  readonly ready: Promise<Extract<ChildMessage, { type: 'ready' }>>;
  readonly exited: Promise<ChildExit>;
  readonly events: ActivityEvent[];
  readonly samples: Array<{ t: number; supplier?: SupplierSample }>;
  readonly core: Array<{ t: number; memPercent?: number; cpuPercent?: number }>;
  /** When a slotwise supplier issued each permit (epoch ms); empty for Temporal's suppliers. */
  readonly grants: number[];
  readonly errors: string[];
  /** Asks the Worker to shut down; kills the child if it has not exited after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<ChildExit>;
}

/** Starts a Worker with the activity supplier `spec` in a child process, inside `cgroup` if given. */
export async function spawnWorkerChild(options: {
  env: BenchEnv;
  spec: SupplierSpec;
  /** Wire the Worker without `slotwiseWorkerOptions()` (see {@link ChildConfig.raw}). @default false */
  raw?: boolean;
  taskQueue: string;
  cgroup?: BenchCgroup;
  sampleMs?: number;
}): Promise<ChildWorker> {
  const config: ChildConfig = {
    address: options.env.address,
    taskQueue: options.taskQueue,
    bundlePath: options.env.bundlePath,
    spec: options.spec,
    raw: options.raw ?? false,
    sampleMs: options.sampleMs ?? 250,
    metricsPort: await freePort(),
  };
  const nodeArgs = ['--import', 'tsx', join(BENCH_DIR, 'lib/worker-child.ts')];
  const [command, args] = options.cgroup
    ? options.cgroup.wrap(process.execPath, nodeArgs)
    : [process.execPath, nodeArgs];
  const child = spawn(command, args, {
    cwd: join(BENCH_DIR, '..'),
    env: { ...process.env, BENCH_CHILD_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let killedByUs = false;
  const events: ActivityEvent[] = [];
  const samples: ChildWorker['samples'] = [];
  const core: ChildWorker['core'] = [];
  const grants: number[] = [];
  const errors: string[] = [];
  const exited = new Promise<ChildExit>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, killedByUs })),
  );
  const ready = new Promise<Extract<ChildMessage, { type: 'ready' }>>((resolve, reject) => {
    child.on('message', (message: ChildMessage) => {
      switch (message.type) {
        case 'ready':
          resolve(message);
          break;
        case 'event':
          events.push(message.event);
          break;
        case 'sample':
          samples.push({ t: message.t, ...(message.supplier ? { supplier: message.supplier } : {}) });
          break;
        case 'core':
          core.push(message);
          break;
        case 'grant':
          grants.push(message.t);
          break;
        case 'error':
          errors.push(message.message);
          break;
      }
    });
    void exited.then((exit) =>
      reject(
        new Error(
          exit.code === 97
            ? 'the worker child could not join its cgroup (writing cgroup.procs failed)'
            : `the worker child exited before it was ready (code ${exit.code}, signal ${exit.signal}): ${errors.join('; ')}`,
        ),
      ),
    );
  });
  ready.catch(() => {});
  return {
    process: child,
    ready,
    exited,
    events,
    samples,
    core,
    grants,
    errors,
    async stop(timeoutMs = 15_000) {
      if (child.exitCode === null && child.signalCode === null) {
        if (child.connected) child.send({ type: 'stop' });
        const timer = setTimeout(() => {
          killedByUs = true;
          child.kill('SIGKILL');
        }, timeoutMs);
        const exit = await exited;
        clearTimeout(timer);
        return { ...exit, killedByUs };
      }
      return exited;
    },
  };
}
