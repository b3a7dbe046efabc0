// One activity slot (a FixedSlotSupplier), two activities scheduled at once: the first to run reads
// currentSlot() and hands its slot back with releaseSlot(), then waits for the second one to start,
// which it can only do on the freed slot.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';

export default async function manualRelease({ slotwise, activities, env, format }) {
  const taskQueue = `package-manual-release-${format}-${process.pid}`;
  const supplier = new slotwise.FixedSlotSupplier({ slots: 1, name: 'one-slot' });
  let signalSecond;
  const secondStarted = new Promise((resolve) => {
    signalSecond = resolve;
  });
  let started = 0;
  const hold = async () => {
    const order = started++;
    const slot = activities.currentSlot();
    if (order > 0) {
      signalSecond();
      return { order, slot };
    }
    const released = activities.releaseSlot();
    const releasedAgain = activities.releaseSlot();
    // Bounded, so a broken release fails the scenario instead of hanging it.
    let timer;
    const secondRan = await Promise.race([
      secondStarted.then(() => true),
      new Promise((resolve) => {
        timer = setTimeout(() => resolve(false), 30_000);
      }),
    ]);
    clearTimeout(timer);
    return { order, slot, released, releasedAgain, secondRan, slotAfterRelease: activities.currentSlot() };
  };
  const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS });
  const clientConnection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
  try {
    const worker = await Worker.create(
      slotwise.slotwiseWorkerOptions({
        connection,
        taskQueue,
        workflowBundle: { codePath: env.WORKFLOW_BUNDLE_PATH },
        activities: { hold },
        tuner: {
          activityTaskSlotSupplier: supplier,
          workflowTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
          localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
          nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
        },
      }),
    );
    const client = new Client({ connection: clientConnection });
    const results = await worker.runUntil(
      client.workflow.execute('parallelWorkflow', {
        taskQueue,
        workflowId: taskQueue,
        args: [{ activity: 'hold', count: 2 }],
      }),
    );
    return { results: results.sort((a, b) => a.order - b.order), snapshot: supplier.snapshot() };
  } finally {
    await clientConnection.close();
    await connection.close();
  }
}
