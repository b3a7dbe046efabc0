import { Context } from '@temporalio/activity';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { concurrencyActivities } from '../../src/activities/concurrency-activities.js';
import { concurrencyPriority } from '../../src/client/concurrency-priority.js';
import { type DevServer, startDevServer } from '../../src/dev-server/dev-server.js';
import { uniqueQueue, until } from './helpers.js';

// Issue 12 #6: withConcurrency() decides who runs, task-queue fairness who is dispatched; the
// activities of a run go out with its concurrency key as fairness key, so a flooded key does not hold
// back the work of another. Its own dev server with one partition per task queue: fairness orders
// dispatch within a partition (with 4, a task may sit in a partition polled later).

let server: DevServer;
let native: NativeConnection;
let client: Client;

beforeAll(async () => {
  server = await startDevServer({
    dynamicConfig: {
      'matching.numTaskqueueReadPartitions': '1',
      'matching.numTaskqueueWritePartitions': '1',
    },
    log: () => undefined,
  });
  native = await NativeConnection.connect({ address: server.address });
  client = new Client({ connection: await Connection.connect({ address: server.address }) });
});

afterAll(async () => {
  await client?.connection.close();
  await native?.close();
  await server?.stop();
});

describe('withConcurrency() and task-queue fairness', () => {
  it('withConcurrency() dispatches the activities of a key with the key as fairness key: a flooded key does not hold back another', async () => {
    // One activity slot, held by the first activity until every run has scheduled its activity: then
    // dispatch order is run order. 12 runs of a flooded key are granted at once (no limit binds); a
    // run of another key, started after them, runs second or third, not 13th.
    const taskQueue = uniqueQueue('fairness');
    const order: string[] = [];
    let gateOpen = false;
    const worker = await Worker.create({
      connection: native,
      taskQueue,
      workflowBundle: { codePath: inject('workflowBundlePath') },
      maxConcurrentActivityTaskExecutions: 1,
      activities: {
        ...concurrencyActivities,
        simulatedWork: async ({ index }: { ms: number; index?: number }) => {
          const context = Context.current();
          order.push(context.info.workflowExecution?.workflowId ?? '');
          while (!gateOpen) await context.sleep(20);
          return index ?? 0;
        },
      },
    });
    await worker.runUntil(async () => {
      const group = uniqueQueue('fair-group');
      const start = (key: string, n: number) =>
        client.workflow.start('concurrencyExampleWorkflow', {
          taskQueue,
          workflowId: `${group}-${key}-${n}`,
          args: [{ concurrency: { group, key, maxRuns: 100 }, workMs: 0, index: n }],
        });
      const scheduled = async (handle: WorkflowHandle) =>
        ((await handle.describe()).raw.pendingActivities?.length ?? 0) > 0;
      const flood = await Promise.all(Array.from({ length: 12 }, (_, n) => start('flood', n)));
      for (const handle of flood) await until('a flood run schedules its activity', () => scheduled(handle));
      const other = await start('other', 0);
      await until('the other run schedules its activity', () => scheduled(other));
      gateOpen = true;
      await Promise.all([...flood, other].map((h) => h.result()));
      const position = order.indexOf(other.workflowId);
      console.log(`slotwise: the other key's activity ran at position ${position + 1} of 13 (FIFO: 13)`);
      expect(order).toHaveLength(13);
      expect(order[0]).toContain('-flood-');
      // Keys take turns; the newcomer may tie with the flooded key once (fairness passes are equal).
      expect(position === 1 || position === 2).toBe(true);
    });
  });

  it('concurrencyPriority() starts runs so that a flooded key does not delay the requests of another key', async () => {
    // All 9 runs are in the backlog before a Worker with two workflow task slots starts; each asks
    // for its grant in its first workflow task. Started with their key as fairness key, the run of
    // the other key asks second or third, not last.
    const taskQueue = uniqueQueue('fair-start');
    const group = uniqueQueue('fair-start-group');
    const asked: string[] = [];
    const acquire = concurrencyActivities['slotwise.concurrency.acquire'];
    const start = (key: string, n: number) =>
      client.workflow.start('concurrencyExampleWorkflow', {
        taskQueue,
        workflowId: `${group}-${key}-${n}`,
        args: [{ concurrency: { group, key, maxRuns: 100 }, workMs: 0, index: n }],
        priority: concurrencyPriority(key),
      });
    const runs: WorkflowHandle[] = [];
    for (let n = 0; n < 8; n++) runs.push(await start('flood', n));
    const other = await start('other', 0);
    const worker = await Worker.create({
      connection: native,
      taskQueue,
      workflowBundle: { codePath: inject('workflowBundlePath') },
      maxConcurrentWorkflowTaskExecutions: 2,
      activities: {
        ...concurrencyActivities,
        'slotwise.concurrency.acquire': async (input: Parameters<typeof acquire>[0]) => {
          asked.push(input.request.workflowId);
          return acquire(input);
        },
        simulatedWork: async ({ index }: { index?: number }) => index ?? 0,
      },
    });
    await worker.runUntil(Promise.all([...runs, other].map((h) => h.result())));
    const position = asked.indexOf(other.workflowId);
    console.log(`slotwise: the other key's run asked at position ${position + 1} of 9 (FIFO: 9)`);
    expect(asked).toHaveLength(9);
    expect(position).toBeLessThanOrEqual(2);
  });
});
