import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '../../src/dev-server/dev-server.js';
import type { ActivityEvent } from './activities.js';
import type { BenchCgroup } from './cgroup.js';
import type {
  ChildConfig,
  ChildMessage,
  CpuSample,
  ParentMessage,
  SupplierSample,
} from './child-protocol.js';
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
  /**
   * The child's CPU time so far, sampled when it reads the request; `null` when it exits or does not
   * answer within `timeoutMs`. `mark` starts or ends the window of a CPU profile, if one was asked for.
   */
  cpuUsage(mark: 'start' | 'end', timeoutMs?: number): Promise<CpuSample | null>;
}

/**
 * Set to a directory to have every Worker child write a V8 CPU profile of its main thread over the
 * window a scenario measures CPU time in (scenario 2: from the first workflow started to the last
 * result), as `<dir>/<taskQueue>.cpuprofile`.
 */
export const CPU_PROFILE_ENV = 'BENCH_CHILD_CPU_PROFILE';

/** Starts a Worker with the activity supplier `spec` in a child process, inside `cgroup` if given. */
export async function spawnWorkerChild(options: {
  env: BenchEnv;
  spec: SupplierSpec;
  /** Wire the Worker without `slotwiseWorkerOptions()` (see {@link ChildConfig.raw}). @default false */
  raw?: boolean;
  taskQueue: string;
  cgroup?: BenchCgroup;
  sampleMs?: number;
  /** See {@link ChildConfig.reportGrants}. @default true */
  reportGrants?: boolean;
}): Promise<ChildWorker> {
  const profileDir = process.env[CPU_PROFILE_ENV];
  const config: ChildConfig = {
    address: options.env.address,
    taskQueue: options.taskQueue,
    bundlePath: options.env.bundlePath,
    spec: options.spec,
    raw: options.raw ?? false,
    sampleMs: options.sampleMs ?? 250,
    metricsPort: await freePort(),
    reportGrants: options.reportGrants ?? true,
    ...(profileDir ? { cpuProfileDir: profileDir } : {}),
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
  const cpuAnswers = new Map<number, (sample: CpuSample | null) => void>();
  let cpuRequests = 0;
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
        case 'cpu':
          cpuAnswers.get(message.id)?.({
            userUs: message.userUs,
            systemUs: message.systemUs,
            loopActiveMs: message.loopActiveMs,
            loopIdleMs: message.loopIdleMs,
          });
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
        if (child.connected) child.send({ type: 'stop' } satisfies ParentMessage);
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
    cpuUsage(mark, timeoutMs = 10_000) {
      if (!child.connected) return Promise.resolve(null);
      const id = ++cpuRequests;
      return new Promise<CpuSample | null>((resolve) => {
        const done = (sample: CpuSample | null) => {
          cpuAnswers.delete(id);
          clearTimeout(timer);
          resolve(sample);
        };
        const timer = setTimeout(() => done(null), timeoutMs);
        cpuAnswers.set(id, done);
        void exited.then(() => done(null));
        child.send({ type: 'cpu', id, mark } satisfies ParentMessage, (error) => {
          if (error) done(null);
        });
      });
    },
  };
}
