import { Context } from '@temporalio/activity';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { type DevServer, startDevServer } from '../../dev-server/dev-server.js';
import { startMetricsServer } from '../../metrics/metrics-server.js';
import { SlotwiseMetrics } from '../../metrics/supplier-metrics.js';
import { CompositeSlotSupplier } from '../../suppliers/composite-slot-supplier.js';
import { FixedSlotSupplier } from '../../suppliers/fixed-slot-supplier.js';
import { MemorySlotSupplier } from '../../suppliers/memory-slot-supplier.js';
import { slotwiseWorkerOptions } from '../../worker/slotwise-worker-options.js';
import type { CliIo } from '../cli-io.js';
import { intFlag, parseCommandArgs } from '../parse-args.js';
import { exampleWorkflowsPath } from './worker.js';

/** What each demo task allocates, and declares to the memory supplier. */
const DEMO_TASK_BYTES = 8 * 1024 * 1024;

export const DEMO_HELP = `Usage: slotwise demo [options]

Runs a short workload through slotwise suppliers so slots visibly fill and drain: a Worker whose
activity slots come from a composite of a FixedSlotSupplier and a MemorySlotSupplier, a few bursts
of example activities, a progress line, and the live page (/ ) and Prometheus metrics (/metrics)
on a local port. Without --address or TEMPORAL_ADDRESS it starts an embedded dev server.

Options:
  --address <host:port>   Temporal frontend (default: $TEMPORAL_ADDRESS, else an embedded dev server)
  --slots <n>             activity slots (default: 4)
  --tasks <n>             activities per burst (default: 24)
  --rounds <n>            bursts (default: 3)
  --work-ms <ms>          how long each activity works (default: 400)
  --metrics-port <port>   port of the live page and /metrics on 127.0.0.1 (default: 0, any free port)
  --linger-ms <ms>        keep the page up this long after the last burst (default: 3000)
  -h, --help              show this help`;

/** `slotwise demo`. Returns the exit code. */
export async function demoCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs('demo', argv, {
    address: { type: 'string' },
    slots: { type: 'string' },
    tasks: { type: 'string' },
    rounds: { type: 'string' },
    'work-ms': { type: 'string' },
    'metrics-port': { type: 'string' },
    'linger-ms': { type: 'string' },
  });
  if (values.help) {
    io.out(DEMO_HELP);
    return 0;
  }
  const slots = intFlag('demo', 'slots', values.slots, 1) ?? 4;
  const tasks = intFlag('demo', 'tasks', values.tasks, 1) ?? 24;
  const rounds = intFlag('demo', 'rounds', values.rounds, 1) ?? 3;
  const workMs = intFlag('demo', 'work-ms', values['work-ms'], 0) ?? 400;
  const metricsPort = intFlag('demo', 'metrics-port', values['metrics-port'], 0) ?? 0;
  const lingerMs = intFlag('demo', 'linger-ms', values['linger-ms'], 0) ?? 3000;
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // already installed by an embedding program
  }
  let address = values.address ?? io.env.TEMPORAL_ADDRESS;
  let devServer: DevServer | undefined;
  if (!address) {
    io.out('slotwise demo: starting an embedded Temporal dev server (in memory)');
    devServer = await startDevServer({ log: io.out });
    address = devServer.address;
  }
  const fixed = new FixedSlotSupplier({ slots, name: 'demo-fixed' });
  // Every demo task declares what it allocates, so admission is exact from the first task. Without
  // a declared cost the supplier probes one task at a time until tasks show in the readings, which
  // 8 MiB tasks shorter than its settleMs (1 s) never do: the demo ran one task at a time.
  const memory = new MemorySlotSupplier({
    name: 'demo-memory',
    scope: 'host',
    targetUtilization: 0.95,
    costs: { default: { memoryBytes: DEMO_TASK_BYTES } },
  });
  const activities = new CompositeSlotSupplier([fixed, memory], { name: 'demo-activities' });
  const metrics = new SlotwiseMetrics();
  const taskQueue = `slotwise-demo-${process.pid}`;
  let server: Awaited<ReturnType<typeof startMetricsServer>> | undefined;
  let connection: NativeConnection | undefined;
  let clientConnection: Connection | undefined;
  try {
    server = await startMetricsServer({
      metrics,
      suppliers: [activities, fixed, memory],
      port: metricsPort,
      sampleIntervalMs: 500,
      title: 'slotwise demo',
    });
    io.out(`slotwise demo: live page ${server.url}  (Prometheus metrics: ${server.url}metrics)`);
    try {
      connection = await NativeConnection.connect({ address });
      clientConnection = await Connection.connect({ address });
    } catch (error) {
      io.err(
        `slotwise demo: cannot reach Temporal at ${address}: ${error instanceof Error ? error.message : String(error)}`,
      );
      return 1;
    }
    let done = 0;
    let running = 0;
    let mostAtOnce = 0;
    const worker = await Worker.create(
      slotwiseWorkerOptions({
        connection,
        taskQueue,
        workflowsPath: exampleWorkflowsPath(),
        activities: {
          simulatedWork: async ({ ms, index }: { ms: number; index?: number }) => {
            running++;
            mostAtOnce = Math.max(mostAtOnce, running);
            try {
              const buffer = Buffer.alloc(DEMO_TASK_BYTES, 1); // the memory it declares
              await Context.current().sleep(ms);
              done++;
              return (index ?? 0) + buffer.length * 0;
            } finally {
              running--;
            }
          },
        },
        tuner: {
          activityTaskSlotSupplier: activities,
          workflowTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
          localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
          nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
        },
      }),
    );
    const client = new Client({ connection: clientConnection });
    await worker.runUntil(async () => {
      for (let round = 1; round <= rounds; round++) {
        const target = round * tasks;
        const progress = setInterval(() => {
          const s = activities.snapshot();
          io.out(
            `slotwise demo: burst ${round}/${rounds}: ${done}/${target} done, slots ${s.used} used of ${s.capacity ?? '-'}, ${s.waiting} reservations waiting`,
          );
        }, 500);
        try {
          await client.workflow.execute('fanOutWorkflow', {
            taskQueue,
            workflowId: `${taskQueue}-burst-${round}`,
            args: [{ tasks, workMs }],
          });
        } finally {
          clearInterval(progress);
        }
        io.out(`slotwise demo: burst ${round}/${rounds} complete: ${done}/${target} done; slots draining`);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
      if (lingerMs > 0) {
        io.out(`slotwise demo: keeping ${server!.url} up for ${lingerMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, lingerMs));
      }
    });
    const s = activities.snapshot();
    io.out(
      `slotwise demo: done: ${done} activities through ${slots} slots, at most ${mostAtOnce} at once; issued ${s.issued}, waiting ${s.waiting}`,
    );
    return 0;
  } finally {
    await server?.close();
    memory.close();
    activities.close();
    await clientConnection?.close();
    await connection?.close();
    await devServer?.stop();
  }
}
