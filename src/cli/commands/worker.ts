import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, type LogLevel, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { exampleActivities } from '../../activities/example-activities.js';
import { type DevServer, startDevServer } from '../../dev-server/dev-server.js';
import { FixedSlotSupplier } from '../../suppliers/fixed-slot-supplier.js';
import { type CliIo, UsageError } from '../cli-io.js';
import { intFlag, parseCommandArgs } from '../parse-args.js';

export const WORKER_HELP = `Usage: slotwise worker [options]

Runs a Temporal Worker whose activity and workflow slots come from slotwise suppliers, with
slotwise's example workflows and activities registered. Without --address or TEMPORAL_ADDRESS it
starts an embedded Temporal dev server (in memory) and says where it is.

Options:
  --address <host:port>    Temporal frontend (default: $TEMPORAL_ADDRESS, else an embedded dev server)
  --namespace <name>       Temporal namespace (default: $TEMPORAL_NAMESPACE, else "default")
  --task-queue <name>      task queue to poll (default: "slotwise-example")
  --activity-slots <n>     FixedSlotSupplier size for activities (default: 4)
  --workflow-slots <n>     FixedSlotSupplier size for workflow tasks (default: 10, at least 2)
  --burst <n>              start one fanOutWorkflow of n activities once the worker runs (default: 0)
  --work-ms <ms>           how long each burst activity works (default: 500)
  --once                   shut down after the burst completes (default: run until SIGINT/SIGTERM)
  --log-level <level>      Temporal SDK log level: TRACE, DEBUG, INFO, WARN, ERROR (default: WARN)
  -h, --help               show this help`;

/** Finds the example workflows module next to this file, built (.js) or from source (.ts). */
export function exampleWorkflowsPath(): string {
  for (const candidate of ['../../workflows/index.js', '../../workflows/index.ts', '../workflows/index.js']) {
    const path = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error('cannot find slotwise example workflows next to the CLI');
}

/** `slotwise worker`: the main job. Returns the exit code. */
export async function workerCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs('worker', argv, {
    address: { type: 'string' },
    namespace: { type: 'string' },
    'task-queue': { type: 'string' },
    'activity-slots': { type: 'string' },
    'workflow-slots': { type: 'string' },
    burst: { type: 'string' },
    'work-ms': { type: 'string' },
    once: { type: 'boolean' },
    'log-level': { type: 'string' },
  });
  if (values.help) {
    io.out(WORKER_HELP);
    return 0;
  }
  const activitySlots = intFlag('worker', 'activity-slots', values['activity-slots'], 1) ?? 4;
  const workflowSlots = intFlag('worker', 'workflow-slots', values['workflow-slots'], 2) ?? 10;
  const burst = intFlag('worker', 'burst', values.burst, 0) ?? 0;
  const workMs = intFlag('worker', 'work-ms', values['work-ms'], 0) ?? 500;
  const logLevel = (values['log-level'] ?? 'WARN').toUpperCase();
  if (!['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'].includes(logLevel)) {
    throw new UsageError(
      `slotwise worker: --log-level must be one of TRACE, DEBUG, INFO, WARN, ERROR, got ${JSON.stringify(values['log-level'])}.`,
    );
  }
  const taskQueue = values['task-queue'] ?? 'slotwise-example';
  const namespace = values.namespace ?? io.env.TEMPORAL_NAMESPACE ?? 'default';
  let address = values.address ?? io.env.TEMPORAL_ADDRESS;
  let devServer: DevServer | undefined;
  if (!address) {
    io.out(
      'slotwise: no --address or TEMPORAL_ADDRESS given: starting an embedded Temporal dev server (in memory)',
    );
    devServer = await startDevServer({ log: io.out });
    address = devServer.address;
    io.out(`slotwise: embedded dev server at ${address}; connect with TEMPORAL_ADDRESS=${address}`);
  }
  try {
    try {
      Runtime.install({ logger: new DefaultLogger(logLevel as LogLevel) });
    } catch {
      // A program embedding the CLI installed its own runtime: keep it.
    }
    let connection: NativeConnection;
    try {
      connection = await NativeConnection.connect({ address });
    } catch (error) {
      io.err(
        `slotwise worker: cannot reach Temporal at ${address}: ${error instanceof Error ? error.message : String(error)}`,
      );
      return 1;
    }
    const activities = new FixedSlotSupplier({ slots: activitySlots, name: 'activities' });
    const workflows = new FixedSlotSupplier({ slots: workflowSlots, name: 'workflows' });
    const worker = await Worker.create({
      connection,
      namespace,
      taskQueue,
      workflowsPath: exampleWorkflowsPath(),
      activities: exampleActivities,
      tuner: {
        activityTaskSlotSupplier: activities,
        workflowTaskSlotSupplier: workflows,
        localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
        nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
      },
    });
    io.out(`slotwise: worker polling task queue "${taskQueue}" in namespace "${namespace}" at ${address}`);
    io.out(
      `slotwise: activity slots: FixedSlotSupplier(${activitySlots}); workflow slots: FixedSlotSupplier(${workflowSlots})`,
    );
    let lastLine = '';
    const progress = setInterval(() => {
      const a = activities.snapshot();
      const line = `slotwise: activity slots ${a.used} used / ${a.issued} issued / ${a.capacity} capacity, ${a.waiting} waiting`;
      if (line !== lastLine) io.out(line);
      lastLine = line;
    }, 1000);
    try {
      const burstDone = burst > 0 ? startBurst(address, namespace, taskQueue, burst, workMs, io) : undefined;
      if (burstDone && values.once) await worker.runUntil(burstDone);
      else {
        if (!burst)
          io.out(
            `slotwise: start work with: temporal workflow start --address ${address} --task-queue ${taskQueue} --type fanOutWorkflow --input '{"tasks":30,"workMs":500}'`,
          );
        await worker.run();
      }
    } finally {
      clearInterval(progress);
      await connection.close();
    }
    const a = activities.snapshot();
    io.out(`slotwise: worker stopped; activity slots issued ${a.issued}, waiting ${a.waiting}`);
    return 0;
  } finally {
    await devServer?.stop();
  }
}

async function startBurst(
  address: string,
  namespace: string,
  taskQueue: string,
  tasks: number,
  workMs: number,
  io: CliIo,
) {
  const connection = await Connection.connect({ address });
  try {
    const client = new Client({ connection, namespace });
    const workflowId = `slotwise-burst-${Date.now()}`;
    io.out(`slotwise: starting fanOutWorkflow ${workflowId}: ${tasks} activities of ${workMs} ms`);
    const completed = await client.workflow.execute('fanOutWorkflow', {
      taskQueue,
      workflowId,
      args: [{ tasks, workMs }],
    });
    io.out(`slotwise: ${workflowId} completed ${completed} activities`);
  } finally {
    await connection.close();
  }
}
