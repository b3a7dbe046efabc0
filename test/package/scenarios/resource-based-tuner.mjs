// Temporal's resource-based tuner replaced by slotwise's drop-in, as a user writes it: in code
// (resourceBasedTuner), in config (buildTuner({ resourceBased })), and one supplier for every slot
// type made of parts from both builds of slotwise (a composite from this one, a fixed part from the
// other), each running a workflow with an activity and a local activity.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';

export default async function resourceBasedTuner({ slotwise, slotwiseOther, env, format }) {
  const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS });
  const clientConnection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
  const client = new Client({ connection: clientConnection });
  const run = async (name, tuner) => {
    const taskQueue = `package-tuner-${name}-${format}-${process.pid}`;
    const worker = await Worker.create(
      slotwise.slotwiseWorkerOptions({
        connection,
        taskQueue,
        workflowBundle: { codePath: env.WORKFLOW_BUNDLE_PATH },
        activities: { echo: async (index) => index },
        tuner,
      }),
    );
    return worker.runUntil(
      client.workflow.execute('activityAndLocalWorkflow', {
        taskQueue,
        workflowId: taskQueue,
        args: [{ activity: 'echo' }],
      }),
    );
  };
  const counts = ({ issued, used, waiting, errors }) => ({ issued, used, waiting, errors });
  try {
    const preset = slotwise.resourceBasedTuner({ targetCpuUsage: 0.95, targetMemoryUsage: 0.95 });
    const presetResult = await run('code', preset);
    const presetSnapshot = preset.supplier.snapshot();
    preset.close();

    const built = slotwise.buildTuner({ resourceBased: { targetCpuUsage: 0.95, targetMemoryUsage: 0.95 } });
    const configResult = await run('config', built.tuner);
    const configSnapshot = built.suppliers.get('resource-based').snapshot();
    built.close();

    const fixed = new slotwiseOther.FixedSlotSupplier({ slots: 4, name: `other-build-fixed-${format}` });
    const memory = new slotwise.MemorySlotSupplier({ targetUtilization: 0.95 });
    const composite = new slotwise.CompositeSlotSupplier([fixed, memory]);
    const mixedResult = await run('mixed', {
      workflowTaskSlotSupplier: composite,
      activityTaskSlotSupplier: composite,
      localActivityTaskSlotSupplier: composite,
      nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
    });
    const mixed = [composite, fixed, memory].map((s) => counts(s.snapshot()));
    composite.close();
    memory.close();

    return {
      results: [presetResult, configResult, mixedResult],
      floors: [presetSnapshot.floors, configSnapshot.floors, composite.snapshot().floors],
      counts: [counts(presetSnapshot), counts(configSnapshot), ...mixed],
    };
  } finally {
    await clientConnection.close();
    await connection.close();
  }
}
