import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChildMessage, FleetChildConfig, SlotEvent } from './child-protocol.js';

const CHILD = fileURLToPath(new URL('./worker-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A fleet Worker process started by {@link startFleetChild}. */
export interface FleetChild {
  readonly process: ChildProcess;
  readonly pid: number;
  /** Its latest state message. */
  readonly state: Extract<ChildMessage, { type: 'state' }> | undefined;
  /**
   * Every state message with the absolute time it arrived (`performance.timeOrigin +
   * performance.now()` of this process), oldest first.
   */
  readonly states: ReadonlyArray<{ at: number; state: Extract<ChildMessage, { type: 'state' }> }>;
  /** Resolves when the child exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Error messages it sent. */
  readonly errors: string[];
  /** Asks it to stop its Workers and give its leases back; resolves with its acquire latencies. */
  stop(timeoutMs?: number): Promise<Array<{ ms: number; spare: boolean }>>;
  /** Its permit changes, once it stopped (empty before, or when it was killed). */
  readonly slotEvents: SlotEvent[];
  /** SIGKILL, no goodbye. */
  kill(): void;
}

/** Starts a fleet Worker process and waits until its Workers run. */
export async function startFleetChild(config: FleetChildConfig): Promise<FleetChild> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    cwd: ROOT,
    env: { ...process.env, FLEET_CHILD_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let state: FleetChild['state'];
  const states: Array<{ at: number; state: Extract<ChildMessage, { type: 'state' }> }> = [];
  const errors: string[] = [];
  let onStopped: ((acquireMs: Array<{ ms: number; spare: boolean }>) => void) | undefined;
  const slotEvents: SlotEvent[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const ready = new Promise<number>((resolve, reject) => {
    child.on('message', (message: ChildMessage) => {
      if (message.type === 'ready') resolve(message.pid);
      else if (message.type === 'state') {
        state = message;
        states.push({ at: performance.timeOrigin + performance.now(), state: message });
      } else if (message.type === 'stopped') {
        slotEvents.push(...message.slotEvents);
        onStopped?.(message.acquireMs);
      } else if (message.type === 'error') {
        errors.push(message.message);
        reject(new Error(`fleet child failed: ${message.message}`));
      }
    });
    void exited.then(({ code, signal }) =>
      reject(new Error(`fleet child exited before it was ready (code ${code}, signal ${signal})`)),
    );
  });
  const pid = await ready;
  return {
    process: child,
    pid,
    get state() {
      return state;
    },
    states,
    exited,
    errors,
    slotEvents,
    async stop(timeoutMs = 30_000) {
      if (child.exitCode !== null || child.signalCode !== null) return [];
      const stopped = new Promise<Array<{ ms: number; spare: boolean }>>((resolve) => {
        onStopped = resolve;
      });
      child.send({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const [latencies] = await Promise.all([Promise.race([stopped, exited.then(() => [])]), exited]);
      clearTimeout(timer);
      return latencies;
    },
    kill() {
      child.kill('SIGKILL');
    },
  };
}
