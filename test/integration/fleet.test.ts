import { Context } from '@temporalio/activity';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { FleetSlotSupplier } from '../../src/fleet/fleet-slot-supplier.js';
import { hostFleetManagers } from '../../src/fleet/manager-host.js';
import { fleetManagerId, fleetStateQuery } from '../../src/workflows/fleet/definitions.js';
import type { FleetStateSnapshot } from '../../src/workflows/fleet/types.js';
import { recordingLogger } from '../helpers/fakes.js';
import { ConcurrencyProbe, createWorker, testClient, tunerWith, uniqueQueue } from './helpers.js';

// Fleet budgets on a real dev server: the lease manager workflow runs on the hosted manager Worker
// of each supplier (the test bundle exports it), activities count their own concurrency.

const sleep = (ms: number) => Context.current().sleep(ms);
let native: Promise<NativeConnection> | undefined;
const connection = () => {
  native ??= NativeConnection.connect({ address: inject('temporalAddress') });
  return native;
};
afterAll(async () => {
  await (await native)?.close();
});

async function fleetState(fleet: string): Promise<FleetStateSnapshot> {
  const client = await testClient();
  return client.workflow.getHandle(fleetManagerId(fleet)).query(fleetStateQuery);
}

/** Polls `check` until it holds, at most `ms` (then the last value is what the assertion sees). */
async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  let value = await read();
  while (!check(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await read();
  }
  return value;
}

describe('FleetSlotSupplier on a real dev server', () => {
  it('two processes-worth of Workers on one fleet of 3 never run more than 3 activities at once; leases return to 0', async () => {
    const client = await testClient();
    const fleet = uniqueQueue('fleet-two');
    const managerTaskQueue = uniqueQueue('fleet-managers');
    const probe = new ConcurrencyProbe();
    const logger = recordingLogger();
    const make = (name: string) =>
      connection().then(
        (conn) =>
          new FleetSlotSupplier({
            fleet,
            slots: 3,
            connection: conn,
            name,
            managerTaskQueue,
            managerWorkflowBundle: { codePath: inject('workflowBundlePath') },
            lingerMs: 200,
            logger,
          }),
      );
    const suppliers = [await make(`${fleet}-a`), await make(`${fleet}-b`)];
    const queues = suppliers.map((_, i) => `${fleet}-q${i}`);
    const workers = await Promise.all(
      suppliers.map((supplier, i) =>
        createWorker({
          taskQueue: queues[i]!,
          tuner: tunerWith({ activityTaskSlotSupplier: supplier }),
          activities: {
            simulatedWork: ({ ms, index }: { ms: number; index: number }) =>
              probe.around(() => sleep(ms).then(() => index)),
          },
        }),
      ),
    );
    const done = Promise.all(
      queues.map((taskQueue) =>
        client.workflow.execute('fanOutWorkflow', {
          taskQueue,
          workflowId: taskQueue,
          args: [{ tasks: 15, workMs: 200 }],
        }),
      ),
    );
    const [first, second] = workers;
    const results = await first!.runUntil(second!.runUntil(done));
    expect(results).toEqual([15, 15]);
    expect(probe.completed).toBe(30);
    expect(probe.max).toBe(3);
    const state = await eventually(
      () => fleetState(fleet),
      (s) => s.leased === 0,
    );
    expect(state).toMatchObject({ slots: 3, leased: 0, waiting: 0 });
    for (const supplier of suppliers) {
      expect(supplier.snapshot()).toMatchObject({ issued: 0, used: 0, waiting: 0, errors: 0 });
    }
    await Promise.all(suppliers.map((s) => s.close()));
    expect(logger.messages('error')).toEqual([]);
  });

  it('the lease manager continues as new within its event budget, carrying every lease', {
    timeout: 180_000,
  }, async () => {
    const client = await testClient();
    const fleet = uniqueQueue('fleet-can');
    const managerTaskQueue = uniqueQueue('fleet-managers');
    const maxHistoryEvents = 150;
    const probe = new ConcurrencyProbe();
    const conn = await connection();
    // A manager Worker that outlives the suppliers, so the manager answers queries after they closed.
    const releaseHost = hostFleetManagers({
      connection: conn,
      namespace: 'default',
      taskQueue: managerTaskQueue,
      workflowBundle: { codePath: inject('workflowBundlePath') },
      logger: recordingLogger(),
    });
    const suppliers = ['a', 'b'].map(
      (name) =>
        new FleetSlotSupplier({
          fleet,
          slots: 2,
          connection: conn,
          name: `${fleet}-${name}`,
          managerTaskQueue,
          managerWorkflowBundle: { codePath: inject('workflowBundlePath') },
          managerSettings: { maxHistoryEvents },
          leaseTtlMs: 2_000,
          lingerMs: 20,
        }),
    );
    const queues = suppliers.map((_, i) => `${fleet}-q${i}`);
    const workers = await Promise.all(
      suppliers.map((supplier, i) =>
        createWorker({
          taskQueue: queues[i]!,
          tuner: tunerWith({ activityTaskSlotSupplier: supplier }),
          activities: {
            simulatedWork: ({ ms, index }: { ms: number; index: number }) =>
              probe.around(() => sleep(ms).then(() => index)),
          },
        }),
      ),
    );
    const work = (round: number) =>
      Promise.all(
        queues.map((taskQueue) =>
          client.workflow.execute('fanOutWorkflow', {
            taskQueue,
            workflowId: `${taskQueue}-${round}`,
            args: [{ tasks: 25, workMs: 100 }],
          }),
        ),
      );
    // Work, then (the Workers' pollers still hold leases, so the manager keeps ticking and its
    // history keeps growing) wait for the manager to continue as new however fast this machine
    // ran the work, then work again on the leases the new run carried.
    const done = (async () => {
      const first = await work(1);
      const continued = await eventually(
        () => fleetState(fleet),
        (s) => s.generation >= 1,
        90_000,
      );
      return { first, generation: continued.generation, second: await work(2) };
    })();
    const results = await workers[0]!.runUntil(workers[1]!.runUntil(done));
    expect(results).toEqual({ first: [25, 25], generation: expect.any(Number), second: [25, 25] });
    expect(results.generation).toBeGreaterThanOrEqual(1);
    expect(probe.max).toBe(2);
    await Promise.all(suppliers.map((s) => s.close()));
    const state = await eventually(
      () => fleetState(fleet),
      (s) => s.leased === 0,
    );
    expect(state).toMatchObject({ leased: 0, holders: [] });
    expect(state.stats.granted).toBe(state.stats.returned + state.stats.expired);
    expect(state.generation).toBeGreaterThanOrEqual(1);
    // Every run of the manager stayed within its budget: it counts the events it causes (the shared
    // HistoryBudget) and continues as new before the bound, not once it reached it.
    const workflowId = fleetManagerId(fleet);
    const runs = await eventually(
      async () => {
        const found: string[] = [];
        for await (const execution of client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) {
          found.push(execution.runId);
        }
        return found;
      },
      (found) => found.length === state.generation + 1,
    );
    expect(runs).toHaveLength(state.generation + 1);
    const lengths = await Promise.all(
      runs.map(
        async (runId) => (await client.workflow.getHandle(workflowId, runId).fetchHistory()).events!.length,
      ),
    );
    console.log(
      `lease manager runs: ${runs.length}, history lengths ${lengths.join(', ')} (budget ${maxHistoryEvents})`,
    );
    for (const length of lengths) expect(length).toBeLessThanOrEqual(maxHistoryEvents);
    await releaseHost();
  });
});
