// withSlotwise() from the installed package, as the README shows it: no connection in the Worker
// options (the config's temporal section says where), 2 activity slots, and one workflow task that
// schedules 200 activities with the SDK's default eager dispatch (which stalls a Worker with a
// custom supplier at 128 unless eager reservations are off).
import { Client, Connection } from '@temporalio/client';
import { Worker } from '@temporalio/worker';

export default async function withSlotwiseScenario({ slotwise, env, format, input }) {
  const taskQueue = `package-with-slotwise-${format}-${process.pid}`;
  let running = 0;
  let mostAtOnce = 0;
  const simulatedWork = async () => {
    running++;
    mostAtOnce = Math.max(mostAtOnce, running);
    await new Promise((resolve) => setTimeout(resolve, 25)); // long enough for the two slots to overlap
    running--;
    return 0;
  };
  const built = await slotwise.withSlotwise(
    { workflowBundle: { codePath: env.WORKFLOW_BUNDLE_PATH }, activities: { simulatedWork } },
    {
      activity: { supplier: { type: 'fixed', slots: 2, name: 'two' } },
      temporal: { address: env.TEMPORAL_ADDRESS, taskQueue },
    },
    { env: {} },
  );
  const clientConnection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
  try {
    const worker = await Worker.create(built.options);
    const completed = await worker.runUntil(
      new Client({ connection: clientConnection }).workflow.execute('fanOutWorkflow', {
        taskQueue,
        workflowId: taskQueue,
        args: [{ tasks: input.activities, workMs: 0 }],
      }),
    );
    return {
      completed,
      mostAtOnce,
      eagerReservations: built.options.maxEagerActivityReservationsPerWorkflowTask,
      taskQueueFromConfig: built.options.taskQueue === taskQueue,
      snapshot: built.built.suppliers.get('two').snapshot(),
    };
  } finally {
    await built.close();
    await clientConnection.close();
  }
}
