import { Worker } from 'node:worker_threads';

/** One CPU-burning job: `cycles` times, spin `burnIterations` then sleep `sleepMs` (in the thread). */
export interface BurnJob {
  cycles: number;
  burnIterations: number;
  sleepMs: number;
}

// CommonJS, evaluated in each worker thread. Sleeps with Atomics.wait so the thread uses no CPU.
const THREAD_CODE = `
const { parentPort } = require('node:worker_threads');
const cell = new Int32Array(new SharedArrayBuffer(4));
parentPort.on('message', ({ id, cycles, burnIterations, sleepMs }) => {
  let x = 1;
  for (let c = 0; c < cycles; c++) {
    for (let i = 0; i < burnIterations; i++) x = (Math.imul(x, 1103515245) + 12345) | 0;
    if (sleepMs > 0) Atomics.wait(cell, 0, 0, sleepMs);
  }
  parentPort.postMessage({ id, x });
});
`;

/** Spin iterations of the burn loop per millisecond on this machine (best of a few short tries). */
export function calibrateBurn(tries = 7, windowMs = 25): number {
  let best = 0;
  for (let t = 0; t < tries; t++) {
    let x = 1;
    let n = 0;
    const start = performance.now();
    let now = start;
    while (now - start < windowMs) {
      for (let i = 0; i < 10_000; i++) x = (Math.imul(x, 1103515245) + 12345) | 0;
      n += 10_000;
      now = performance.now();
    }
    if (x === 42) n++; // keep x alive
    best = Math.max(best, n / (now - start));
  }
  return best;
}

/**
 * A pool of worker threads that burn CPU off the main thread, so the process can demand more than
 * one core. Threads are created on demand up to `maxThreads`; jobs beyond that queue.
 */
export class CpuBurnerPool {
  readonly #idle: Worker[] = [];
  readonly #all: Worker[] = [];
  readonly #queue: Array<{ job: BurnJob; resolve: () => void; reject: (e: unknown) => void }> = [];
  readonly #pending = new Map<
    number,
    { resolve: () => void; reject: (e: unknown) => void; worker: Worker }
  >();
  #nextId = 1;

  constructor(readonly maxThreads = 32) {}

  /** Runs `job` on a thread; resolves when it is done. */
  run(job: BurnJob): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ job, resolve, reject });
      this.#dispatch();
    });
  }

  /** Terminates every thread. */
  async close(): Promise<void> {
    await Promise.all(this.#all.map((w) => w.terminate()));
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      let worker = this.#idle.pop();
      if (!worker && this.#all.length < this.maxThreads) worker = this.#spawn();
      if (!worker) return;
      const { job, resolve, reject } = this.#queue.shift()!;
      const id = this.#nextId++;
      this.#pending.set(id, { resolve, reject, worker });
      worker.postMessage({ id, ...job });
    }
  }

  #spawn(): Worker {
    const worker = new Worker(THREAD_CODE, { eval: true });
    worker.unref();
    worker.on('message', ({ id }: { id: number }) => {
      const p = this.#pending.get(id);
      this.#pending.delete(id);
      this.#idle.push(worker);
      p?.resolve();
      this.#dispatch();
    });
    worker.on('error', (error) => {
      for (const [id, p] of this.#pending) {
        if (p.worker === worker) {
          this.#pending.delete(id);
          p.reject(error);
        }
      }
    });
    this.#all.push(worker);
    return worker;
  }
}
