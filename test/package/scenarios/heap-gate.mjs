// A HeapSlotSupplier from the installed package, in a composite made by the other copy of slotwise
// (`slotwiseOther`: the other module format in the mixed entries), gates a burst of 8 activities on
// the V8 heap. Each task declares a cost of (target x heap limit - heap used now) / 4.5, with the
// limit the supplier admits against (the old generation's, read by the package's HeapMonitor): the target
// leaves room for 4 tasks and half of a fifth, so exactly 4 run at once whatever the heap limit of
// the machine. The first 4 wait for each other, then hold their slots a little longer, so a fifth
// admitted by mistake would start while they hold.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';

const TARGET = 0.9;
const ALLOWED = 4;
const TASKS = 8;

export default async function heapGate({ slotwise, slotwiseOther, env, format }) {
  const taskQueue = `package-heap-gate-${format}-${process.pid}`;
  const monitor = new slotwise.HeapMonitor();
  const { limitBytes: limit, usedBytes: used } = monitor.read();
  monitor.close();
  const heapBytes = Math.floor((TARGET * limit - used) / (ALLOWED + 0.5));
  const heap = new slotwise.HeapSlotSupplier({
    name: 'heap-gate',
    targetUtilization: TARGET,
    maxSlots: 20,
    costs: { default: { heapBytes } },
  });
  const supplier = new slotwiseOther.CompositeSlotSupplier([
    new slotwiseOther.FixedSlotSupplier({ slots: 20, name: 'wide' }),
    heap,
  ]);
  let running = 0;
  let maxRunning = 0;
  let started = 0;
  let openBarrier;
  const barrier = new Promise((resolve) => {
    openBarrier = resolve;
  });
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const hold = async () => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    if (++started === ALLOWED) openBarrier();
    try {
      // Bounded, so a gate that lets fewer than 4 in fails the scenario instead of hanging it.
      await Promise.race([barrier, sleep(30_000)]);
      await sleep(300);
    } finally {
      running--;
    }
    return 'held';
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
        args: [{ activity: 'hold', count: TASKS }],
      }),
    );
    const reading = heap.snapshot().readings.heap;
    return {
      results,
      maxRunning,
      heapLimitSeen: reading?.limitBytes === limit,
      snapshot: supplier.snapshot(),
    };
  } finally {
    heap.close();
    await clientConnection.close();
    await connection.close();
  }
}
