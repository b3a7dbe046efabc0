// One activity slot held by an activity in evictableWait(capacityEviction): new work on the queue
// evicts it (reason "capacity"), runs, and the waiter's retry then completes. The supplier comes
// from `slotwise`, the wait from `slotwise/activities`, and the metrics that count the eviction
// from `slotwiseOther` (the other module format in the mixed runs).
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
  const events = [];
  const stopListening = activities.onEviction((event) => events.push([event.reason, event.supplier]));
  const acts = {
    async waitForFlag(name) {
      attempts.push(Context.current().info.attempt);
      return activities.evictableWait(() => flags.has(name) && `${name} done`, {
        pollIntervalMs: 100,
        capacityEviction: true,
        retryDelayMs: 300,
      });
    },
    async quick(name) {
      return name;
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
    const start = (id, activity, args) =>
      client.workflow.start('evictableCallWorkflow', {
        taskQueue,
        workflowId: `${taskQueue}-${id}`,
        args: [{ activity, args }],
      });
    const results = await worker.runUntil(async () => {
      const waiter = await start('waiter', 'waitForFlag', ['waiter']);
      await until(() => activities.evictionStats().waiting === 1, 'the waiter holds the slot');
      const quick = await start('quick', 'quick', ['quick']);
      const quickResult = await quick.result(); // runs only once the waiter gave its slot back
      flags.add('waiter');
      return { quickResult, waiterResult: await waiter.result() };
    });
    const text = await metrics.registry.metrics();
    return {
      ...results,
      events,
      attempts,
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
