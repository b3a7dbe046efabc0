import { Client, Connection } from '@temporalio/client';
import {
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  type WorkerOptions,
  type WorkerTuner,
} from '@temporalio/worker';
import { afterAll, inject } from 'vitest';
import type { ConcurrencyControllerResult, ConcurrencyStats } from '../../src/workflows/concurrency/types.js';

// Keep the SDK's INFO chatter out of test output; warnings and errors still show.
Runtime.install({ logger: new DefaultLogger('WARN') });

let clientPromise: Promise<Client> | undefined;
let nativePromise: Promise<NativeConnection> | undefined;

/** A client of the dev server started by the global setup; closed after the file's tests. */
export function testClient(): Promise<Client> {
  clientPromise ??= Connection.connect({ address: inject('temporalAddress') }).then(
    (connection) => new Client({ connection }),
  );
  return clientPromise;
}

afterAll(async () => {
  await (await clientPromise)?.connection.close();
  await (await nativePromise)?.close();
});

let queueCounter = 0;
/** A task queue name no other test uses. */
export const uniqueQueue = (label: string): string =>
  `${label}-${process.pid}-${Date.now()}-${++queueCounter}`;

/** Temporal's own fixed-size suppliers for the slot types a test does not care about. */
export function tunerWith(
  parts: Partial<Extract<WorkerTuner, { workflowTaskSlotSupplier: unknown }>>,
): WorkerTuner {
  return {
    workflowTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
    activityTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
    localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
    nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
    ...parts,
  };
}

/** A real Worker on the dev server, running the pre-built test workflow bundle. */
export async function createWorker(
  options: Omit<WorkerOptions, 'connection' | 'workflowBundle'>,
): Promise<Worker> {
  nativePromise ??= NativeConnection.connect({ address: inject('temporalAddress') });
  return Worker.create({
    connection: await nativePromise,
    workflowBundle: { codePath: inject('workflowBundlePath') },
    shutdownGraceTime: '5s',
    ...options,
  });
}

/** Polls `check` every 20 ms until it holds; fails naming `what` after `timeoutMs`. */
export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Counts how many calls of an async function run at once. */
export class ConcurrencyProbe {
  running = 0;
  max = 0;
  completed = 0;

  async around<T>(work: () => Promise<T>): Promise<T> {
    this.running++;
    this.max = Math.max(this.max, this.running);
    try {
      return await work();
    } finally {
      this.running--;
      this.completed++;
    }
  }
}

/**
 * A concurrency controller's result once its last run has completed, with the counters of every
 * controller that served the workflow id added up. A controller completes after its idle timeout
 * with nothing granted or waiting, and the next request starts a new one under the same id: on a
 * loaded machine a group's first run can be done, and the controller gone, before the other runs
 * ask. Counts asserted over a group are the sum; `chains` says how many controllers there were.
 */
export async function controllerTotals(
  client: Client,
  workflowId: string,
): Promise<ConcurrencyControllerResult & { chains: number }> {
  const handle = client.workflow.getHandle(workflowId);
  const last: ConcurrencyControllerResult = await handle.result();
  const { runId: lastRunId } = await handle.describe();
  const stats: ConcurrencyStats = { ...last.stats };
  let chains = 1;
  for await (const execution of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    if (execution.status.name !== 'COMPLETED' || execution.runId === lastRunId) continue;
    const earlier: ConcurrencyControllerResult = await client.workflow
      .getHandle(workflowId, execution.runId)
      .result();
    chains++;
    for (const [name, count] of Object.entries(earlier.stats) as Array<[keyof ConcurrencyStats, number]>)
      stats[name] = (stats[name] ?? 0) + count;
  }
  if (chains > 1) console.log(`slotwise: ${workflowId} was served by ${chains} controllers in turn`);
  return { ...last, stats, chains };
}
