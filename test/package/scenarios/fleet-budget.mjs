// A FleetSlotSupplier of 2 slots shared by two Workers (two task queues) of this process: the
// supplier hosts the lease manager itself, bundling it from the installed package (no prebuilt
// bundle given; nothing else runs managers while the work runs), so this also proves the manager
// workflow ships in a form that bundles. Six activities of 300 ms count how many run at once. Then
// the fleet's state from slotwise/client, and again after close() gave every lease back (then a
// Worker of the consumer's own, with `fleetLeaseManagerWorkflow` from slotwise/workflows, answers).
import { createRequire } from 'node:module';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';

const pick = (state) => ({
  slots: state.slots,
  leased: state.leased,
  holders: state.holders.map((h) => h.held),
});

export default async function fleetBudget({ slotwise, env, format }) {
  const fleet = `package-fleet-${format}-${process.pid}`;
  const { getFleetState } =
    format === 'cjs' ? createRequire(import.meta.url)('slotwise/client') : await import('slotwise/client');
  const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS });
  const clientConnection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
  const supplier = new slotwise.FleetSlotSupplier({
    fleet,
    slots: 2,
    connection,
    name: 'package-fleet',
    managerTaskQueue: `${fleet}-managers`,
    lingerMs: 100,
  });
  let running = 0;
  let maxRunning = 0;
  let ran = 0;
  const hold = async () => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    await new Promise((resolve) => setTimeout(resolve, 300));
    running--;
    ran++;
    return ran;
  };
  try {
    const client = new Client({ connection: clientConnection });
    const queues = [`${fleet}-a`, `${fleet}-b`];
    const workers = await Promise.all(
      queues.map((taskQueue) =>
        Worker.create(
          slotwise.slotwiseWorkerOptions({
            connection,
            taskQueue,
            workflowBundle: { codePath: env.WORKFLOW_BUNDLE_PATH },
            activities: { hold },
            maxConcurrentActivityTaskPolls: 2,
            tuner: {
              activityTaskSlotSupplier: supplier,
              workflowTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
              localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
              nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
            },
          }),
        ),
      ),
    );
    const runs = workers.map((worker) => worker.run());
    let whileRunning;
    try {
      await Promise.all(
        queues.map((taskQueue) =>
          client.workflow.execute('parallelWorkflow', {
            taskQueue,
            workflowId: `${taskQueue}-work`,
            args: [{ activity: 'hold', count: 3 }],
          }),
        ),
      );
      whileRunning = await getFleetState(client, fleet);
    } finally {
      for (const worker of workers) worker.shutdown();
      await Promise.allSettled(runs);
    }
    const afterWorkers = supplier.snapshot();
    // close() gives the leases back, then stops this process's manager host; a manager Worker of
    // our own (one per task queue and process: it can only start once the host stopped) answers.
    await supplier.close();
    const managers = await Worker.create({
      connection,
      taskQueue: `${fleet}-managers`,
      workflowBundle: { codePath: env.WORKFLOW_BUNDLE_PATH },
    });
    const afterClose = await managers.runUntil(getFleetState(client, fleet));
    return {
      ran,
      maxRunning,
      whileRunning: pick(whileRunning),
      afterWorkers: { issued: afterWorkers.issued, used: afterWorkers.used, errors: afterWorkers.errors },
      afterClose: pick(afterClose),
      returnedAll: afterClose.stats.granted === afterClose.stats.returned,
    };
  } finally {
    await supplier.close(); // idempotent; after a failure it stops the manager host, which holds the connection
    await clientConnection.close();
    await connection.close();
  }
}
