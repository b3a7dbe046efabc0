import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, type LogLevel, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { exampleActivities } from '../../activities/example-activities.js';
import { ConfigError } from '../../config/config-error.js';
import type { ReloadResult } from '../../config/config-watcher.js';
import { loadConfig } from '../../config/load-config.js';
import type { SlotwiseConfigInput } from '../../config/schema.js';
import { type DevServer, startDevServer } from '../../dev-server/dev-server.js';
import type { SupplierSnapshot } from '../../suppliers/types.js';
import { type SlotwiseWorker, withSlotwise } from '../../worker/with-slotwise.js';
import { type CliIo, UsageError } from '../cli-io.js';
import { intFlag, parseCommandArgs } from '../parse-args.js';

export const WORKER_HELP = `Usage: slotwise worker [options]

Runs a Temporal Worker whose slots come from slotwise suppliers: from --config, or a
FixedSlotSupplier per slot type. Registers slotwise's example workflows and activities unless
--workflows/--activities name your own. Without an address (flag, config temporal.address or
TEMPORAL_ADDRESS) it starts an embedded Temporal dev server (in memory) and says where it is.
With a config file, limits reload when the file changes or on SIGHUP.

Options:
  --config <file>          slotwise config (YAML or JSON; see \`slotwise validate\`)
  --address <host:port>    Temporal frontend (default: config temporal.address, $TEMPORAL_ADDRESS, else embedded)
  --namespace <name>       Temporal namespace (default: config, $TEMPORAL_NAMESPACE, else "default")
  --task-queue <name>      task queue to poll (default: config temporal.taskQueue, else "slotwise-example")
  --activities <module>    a module whose exported functions are the activities (default: slotwise's examples)
  --workflows <path>       the workflows file for the Worker's bundle (default: slotwise's example workflows)
  --activity-slots <n>     without --config: FixedSlotSupplier size for activities (default: 4)
  --workflow-slots <n>     without --config: FixedSlotSupplier size for workflow tasks (default: 10, at least 2)
  --burst <n>              start one fanOutWorkflow of n activities once the worker runs (default: 0)
  --work-ms <ms>           how long each burst activity works (default: 500)
  --once                   shut down after the burst completes; needs --burst (default: run until SIGINT/SIGTERM)
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

/** The activities a module exports: its exported functions, by name. */
async function activitiesFrom(module: string): Promise<Record<string, (...args: never[]) => unknown>> {
  const url = /^[a-z]+:/i.test(module) ? module : pathToFileURL(resolve(module)).href;
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(url)) as Record<string, unknown>;
  } catch (error) {
    throw new UsageError(
      `slotwise worker: cannot load --activities ${JSON.stringify(module)}: ${errorText(error)}`,
    );
  }
  const functions = Object.entries(loaded).filter(([, value]) => typeof value === 'function');
  if (functions.length === 0) {
    throw new UsageError(`slotwise worker: --activities ${JSON.stringify(module)} exports no functions.`);
  }
  return Object.fromEntries(functions) as Record<string, (...args: never[]) => unknown>;
}

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** `slotwise worker`: the main job. Returns the exit code. */
export async function workerCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs('worker', argv, {
    config: { type: 'string' },
    address: { type: 'string' },
    namespace: { type: 'string' },
    'task-queue': { type: 'string' },
    activities: { type: 'string' },
    workflows: { type: 'string' },
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
  if (
    values.config !== undefined &&
    (values['activity-slots'] !== undefined || values['workflow-slots'] !== undefined)
  ) {
    throw new UsageError(
      'slotwise worker: --activity-slots and --workflow-slots apply only without --config; set the sizes in the config.',
    );
  }
  const activitySlots = intFlag('worker', 'activity-slots', values['activity-slots'], 1) ?? 4;
  const workflowSlots = intFlag('worker', 'workflow-slots', values['workflow-slots'], 2) ?? 10;
  const burst = intFlag('worker', 'burst', values.burst, 0) ?? 0;
  if (values.once && burst === 0) {
    throw new UsageError(
      'slotwise worker: --once exits when the burst completes, so it needs --burst <n> (n >= 1); without --once the worker runs until SIGINT/SIGTERM.',
    );
  }
  const workMs = intFlag('worker', 'work-ms', values['work-ms'], 0) ?? 500;
  const logLevel = (values['log-level'] ?? 'WARN').toUpperCase();
  if (!['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'].includes(logLevel)) {
    throw new UsageError(
      `slotwise worker: --log-level must be one of TRACE, DEBUG, INFO, WARN, ERROR, got ${JSON.stringify(values['log-level'])}.`,
    );
  }
  // Relative to the current directory (the SDK would look next to the file it writes beside it).
  const workflowsPath = values.workflows === undefined ? undefined : resolve(values.workflows);
  if (values.workflows !== undefined && workflowsPath !== undefined && !existsSync(workflowsPath)) {
    throw new UsageError(
      `slotwise worker: --workflows ${JSON.stringify(values.workflows)} does not exist (looked for ${workflowsPath}).`,
    );
  }
  let config: SlotwiseConfigInput;
  if (values.config !== undefined) {
    try {
      config = (await loadConfig(values.config, { env: io.env })).config;
    } catch (error) {
      io.err(error instanceof ConfigError ? error.message : `slotwise worker: ${errorText(error)}`);
      return 1;
    }
  } else {
    config = {
      activity: { supplier: { type: 'fixed', slots: activitySlots, name: 'activities' } },
      workflow: { supplier: { type: 'fixed', slots: workflowSlots, name: 'workflows' } },
    };
  }
  const activities =
    values.activities !== undefined ? await activitiesFrom(values.activities) : exampleActivities;
  const taskQueue = values['task-queue'] ?? config.temporal?.taskQueue ?? 'slotwise-example';
  const namespace = values.namespace ?? config.temporal?.namespace ?? io.env.TEMPORAL_NAMESPACE ?? 'default';
  let address = values.address ?? config.temporal?.address ?? io.env.TEMPORAL_ADDRESS;
  let devServer: DevServer | undefined;
  if (!address) {
    io.out(
      'slotwise: no --address, config temporal.address or TEMPORAL_ADDRESS given: starting an embedded Temporal dev server (in memory)',
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
      io.err(`slotwise worker: cannot reach Temporal at ${address}: ${errorText(error)}`);
      return 1;
    }
    let slotwise: SlotwiseWorker;
    try {
      slotwise = await withSlotwise(
        {
          connection,
          namespace,
          taskQueue,
          workflowsPath: workflowsPath ?? exampleWorkflowsPath(),
          activities,
        },
        values.config ?? config,
        { env: io.env, onReload: (result) => io.out(`slotwise: config reloaded: ${describeReload(result)}`) },
      );
    } catch (error) {
      await connection.close();
      io.err(error instanceof ConfigError ? error.message : `slotwise worker: ${errorText(error)}`);
      return 1;
    }
    try {
      const worker = await Worker.create(slotwise.options);
      io.out(`slotwise: worker polling task queue "${taskQueue}" in namespace "${namespace}" at ${address}`);
      for (const [slotType, supplier] of Object.entries(slotwise.built.effective)) {
        if (['workflow', 'activity', 'localActivity'].includes(slotType))
          io.out(`slotwise: ${slotType} slots: ${describeSupplier(supplier)}`);
      }
      if (slotwise.metricsServer)
        io.out(
          `slotwise: metrics at ${slotwise.metricsServer.url}metrics, live page at ${slotwise.metricsServer.url}`,
        );
      const activitySupplier = slotwise.built.tuner.activityTaskSlotSupplier;
      let lastLine = '';
      const progress = setInterval(() => {
        if (!('snapshot' in activitySupplier)) return;
        const a = (activitySupplier as { snapshot(): SupplierSnapshot }).snapshot();
        const line = `slotwise: activity slots ${a.used} used / ${a.issued} issued / ${a.capacity ?? 'unbounded'} capacity, ${a.waiting} waiting`;
        if (line !== lastLine) io.out(line);
        lastLine = line;
      }, 1000);
      try {
        const burstDone =
          burst > 0 ? startBurst(address, namespace, taskQueue, burst, workMs, io) : undefined;
        if (burstDone && values.once) await worker.runUntil(burstDone);
        else {
          if (!burst && workflowsPath === undefined) {
            io.out(
              `slotwise: start work with: temporal workflow start --address ${address} --task-queue ${taskQueue} --type fanOutWorkflow --input '{"tasks":30,"workMs":500}'`,
            );
          } else if (!burst) {
            io.out(
              `slotwise: start your workflows with: temporal workflow start --address ${address} --namespace ${namespace} --task-queue ${taskQueue} --type <a workflow of ${values.workflows}>`,
            );
          }
          await worker.run();
        }
      } finally {
        clearInterval(progress);
      }
      if ('snapshot' in activitySupplier) {
        const a = (activitySupplier as { snapshot(): SupplierSnapshot }).snapshot();
        io.out(`slotwise: worker stopped; activity slots issued ${a.issued}, waiting ${a.waiting}`);
      } else {
        io.out('slotwise: worker stopped');
      }
      return 0;
    } finally {
      await slotwise.close();
      await connection.close();
    }
  } finally {
    await devServer?.stop();
  }
}

function describeSupplier(spec: unknown): string {
  const s = (spec as { supplier?: Record<string, unknown> }).supplier ?? (spec as Record<string, unknown>);
  const { type, name, slots, numSlots, targetUtilization, parts } = s as Record<string, unknown>;
  const detail = [
    name !== undefined ? `name ${String(name)}` : '',
    slots !== undefined ? `${String(slots)} slots` : '',
    numSlots !== undefined ? `${String(numSlots)} slots` : '',
    targetUtilization !== undefined ? `target ${String(targetUtilization)}` : '',
    Array.isArray(parts) ? `${parts.length} parts` : '',
  ].filter(Boolean);
  return `${String(type)}${detail.length ? ` (${detail.join(', ')})` : ''}`;
}

function describeReload(result: ReloadResult): string {
  const applied = result.applied.map((c) => `${c.path}: ${String(c.from)} -> ${String(c.to)}`);
  const restart = result.restartRequired.map((c) => `${c.path} needs a restart (${c.message})`);
  return [...applied, ...restart].join('; ') || 'no limit changed';
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
