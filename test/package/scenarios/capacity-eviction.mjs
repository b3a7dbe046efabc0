// One activity slot held by an activity in evictableWait(): new work on the queue (default priority,
// which outranks the wait's) evicts it (reason "capacity") and runs; the evicted call then waits in its
// workflow, holding no slot, until the `resume` signal, and the next call starts from the checkpoint
// the evicted one had. The supplier comes from `slotwise`, the wait from `slotwise/activities`, and the
// metrics that count the eviction from `slotwiseOther` (the other module format in the mixed runs).
import { Context } from '@temporalio/activity';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` until it holds; throws after `timeoutMs` so a broken run fails instead of hanging. */
async function until(condition, what, timeoutMs = 30_000) {
  for (const deadline = Date.now() + timeoutMs; !condition(); await sleep(20)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
  }
}

export default async function capacityEviction({ slotwise, activities, slotwiseOther, env, format }) {
  const taskQueue = `package-capacity-eviction-${format}-${process.pid}`;
  const supplier = new slotwise.FixedSlotSupplier({ slots: 1, name: 'evictable-slot' });
  const metrics = new slotwiseOther.SlotwiseMetrics();
  metrics.track(supplier, { taskQueue });
  const flags = new Set();
  const attempts = [];
  /** The poll count each call of the wait started from, and the one it had when it was evicted. */
  const startedFrom = [];
  const evictedAt = [];
  const events = [];
  const stopListening = activities.onEviction((event) => events.push([event.reason, event.supplier]));
  const acts = {
    async waitForFlag(name) {
      attempts.push(Context.current().info.attempt);
      let polls = activities.lastCheckpoint()?.polls ?? 0;
      startedFrom.push(polls);
      try {
        return await activities.evictableWait(
          () => {
            polls++;
            return flags.has(name) && `${name} done`;
          },
          { pollIntervalMs: 100, capacityEviction: true, checkpoint: () => ({ polls }) },
        );
      } catch (error) {
        if (activities.isEvictionFailure(error)) evictedAt.push(polls);
        throw error;
      }
    },
    async quick(index) {
      return `quick ${index}`;
    },
  };
  const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS });
  const clientConnection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
  try {
    const worker = await Worker.create(
      slotwise.slotwiseWorkerOptions({
        connection,
        taskQueue,
        workflowBundle: { codePath: env.WORKFLOW_BUNDLE_PATH },
        activities: acts,
        interceptors: { activity: [activities.slotwiseActivityInterceptor] },
        tuner: {
          activityTaskSlotSupplier: supplier,
          workflowTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
          localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
          nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
        },
      }),
    );
    const client = new Client({ connection: clientConnection });
    const results = await worker.runUntil(async () => {
      const waiter = await client.workflow.start('evictableResumeWorkflow', {
        taskQueue,
        workflowId: `${taskQueue}-waiter`,
        args: [{ activity: 'waitForFlag', args: ['waiter'] }],
      });
      await until(() => activities.evictionStats().waiting === 1, 'the waiter holds the slot');
      // Plain proxyActivities: the default priority key (3), ahead of the wait's (4).
      const quick = await client.workflow.start('parallelWorkflow', {
        taskQueue,
        workflowId: `${taskQueue}-quick`,
        args: [{ activity: 'quick', count: 1 }],
      });
      const quickResult = await quick.result(); // runs only once the waiter gave its slot back
      flags.add('waiter');
      await waiter.signal('resume');
      return { quickResult, waiterResult: await waiter.result() };
    });
    const text = await metrics.registry.metrics();
    return {
      ...results,
      events,
      attempts,
      startedFrom,
      evictedAt,
      evictionSeries: text.split('\n').filter((line) => line.startsWith('slotwise_evictions_total{')),
      snapshot: supplier.snapshot(),
    };
  } finally {
    stopListening();
    metrics.untrackAll();
    await clientConnection.close();
    await connection.close();
  }
}
