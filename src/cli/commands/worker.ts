import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, type LogLevel, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { ConfigError } from '../../config/config-error.js';
import type { ReloadResult } from '../../config/config-watcher.js';
import { loadConfig } from '../../config/load-config.js';
import type { SlotwiseConfigInput } from '../../config/schema.js';
import { type DevServer, startDevServer } from '../../dev-server/dev-server.js';
import { exampleActivities } from '../../examples/activities.js';
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
  for (const candidate of [
    '../../examples/workflows.js',
    '../../examples/workflows.ts',
    '../examples/workflows.js',
  ]) {
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

/** The worker's flags, checked; defaults filled in except where the config decides. */
interface WorkerArgs {
  config: string | undefined;
  address: string | undefined;
  namespace: string | undefined;
  taskQueue: string | undefined;
  activities: string | undefined;
  /** `--workflows` as given, and resolved against the current directory. */
  workflows: { given: string; path: string } | undefined;
  activitySlots: number;
  workflowSlots: number;
  burst: number;
  workMs: number;
  once: boolean;
  logLevel: LogLevel;
}

/** Where the Worker polls. */
interface WorkerPlace {
  address: string;
  namespace: string;
  taskQueue: string;
}

const LOG_LEVELS: readonly string[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];

/** Parses and checks the flags; `undefined` for `--help`. Throws a {@link UsageError} for bad usage. */
function parseWorkerArgs(argv: string[]): WorkerArgs | undefined {
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
  if (values.help) return undefined;
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
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new UsageError(
      `slotwise worker: --log-level must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(values['log-level'])}.`,
    );
  }
  return {
    config: values.config,
    address: values.address,
    namespace: values.namespace,
    taskQueue: values['task-queue'],
    activities: values.activities,
    workflows: values.workflows === undefined ? undefined : workflowsFlag(values.workflows),
    activitySlots,
    workflowSlots,
    burst,
    workMs,
    once: values.once ?? false,
    logLevel: logLevel as LogLevel,
  };
}

/** `--workflows`, resolved against the current directory (the SDK would look beside the file it writes). */
function workflowsFlag(given: string): { given: string; path: string } {
  const path = resolve(given);
  if (!existsSync(path)) {
    throw new UsageError(
      `slotwise worker: --workflows ${JSON.stringify(given)} does not exist (looked for ${path}).`,
    );
  }
  return { given, path };
}

/**
 * The config: the `--config` file with the environment overrides, else a FixedSlotSupplier per slot
 * type. `undefined` after printing why the file could not be loaded.
 */
async function workerConfig(args: WorkerArgs, io: CliIo): Promise<SlotwiseConfigInput | undefined> {
  if (args.config === undefined) {
    return {
      activity: { supplier: { type: 'fixed', slots: args.activitySlots, name: 'activities' } },
      workflow: { supplier: { type: 'fixed', slots: args.workflowSlots, name: 'workflows' } },
    };
  }
  try {
    return (await loadConfig(args.config, { env: io.env })).config;
  } catch (error) {
    io.err(error instanceof ConfigError ? error.message : `slotwise worker: ${errorText(error)}`);
    return undefined;
  }
}

/** Starts the in-memory dev server used when no address is given, saying where it is. */
async function startEmbeddedServer(io: CliIo): Promise<DevServer> {
  io.out(
    'slotwise: no --address, config temporal.address or TEMPORAL_ADDRESS given: starting an embedded Temporal dev server (in memory)',
  );
  const devServer = await startDevServer({ log: io.out });
  io.out(
    `slotwise: embedded dev server at ${devServer.address}; connect with TEMPORAL_ADDRESS=${devServer.address}`,
  );
  return devServer;
}

function installRuntime(logLevel: LogLevel): void {
  try {
    Runtime.install({ logger: new DefaultLogger(logLevel) });
  } catch {
    // A program embedding the CLI installed its own runtime: keep it.
  }
}

/** Connects to the server, or reports that it cannot and resolves with `undefined`. */
async function connect(address: string, io: CliIo): Promise<NativeConnection | undefined> {
  try {
    return await NativeConnection.connect({ address });
  } catch (error) {
    io.err(`slotwise worker: cannot reach Temporal at ${address}: ${errorText(error)}`);
    return undefined;
  }
}

/**
 * The Worker options with slotwise's tuner (reloading a config file when it changes), or `undefined`
 * after printing why they could not be built.
 */
async function buildSlotwise(
  connection: NativeConnection,
  place: WorkerPlace,
  args: WorkerArgs,
  config: SlotwiseConfigInput,
  activities: Record<string, (...args: never[]) => unknown>,
  io: CliIo,
): Promise<SlotwiseWorker | undefined> {
  try {
    return await withSlotwise(
      {
        connection,
        namespace: place.namespace,
        taskQueue: place.taskQueue,
        workflowsPath: args.workflows?.path ?? exampleWorkflowsPath(),
        activities,
      },
      args.config ?? config,
      { env: io.env, onReload: (result) => io.out(`slotwise: config reloaded: ${describeReload(result)}`) },
    );
  } catch (error) {
    io.err(error instanceof ConfigError ? error.message : `slotwise worker: ${errorText(error)}`);
    return undefined;
  }
}

/** The activity supplier's counts, when it has a snapshot (Temporal's own suppliers do not). */
function activitySnapshot(slotwise: SlotwiseWorker): SupplierSnapshot | undefined {
  const supplier = slotwise.built.tuner.activityTaskSlotSupplier;
  return 'snapshot' in supplier ? (supplier as { snapshot(): SupplierSnapshot }).snapshot() : undefined;
}

/** Says where the Worker polls, what each slot type's supplier is, and where the metrics are. */
function announce(slotwise: SlotwiseWorker, place: WorkerPlace, io: CliIo): void {
  io.out(
    `slotwise: worker polling task queue "${place.taskQueue}" in namespace "${place.namespace}" at ${place.address}`,
  );
  for (const [slotType, supplier] of Object.entries(slotwise.built.effective)) {
    if (['workflow', 'activity', 'localActivity'].includes(slotType))
      io.out(`slotwise: ${slotType} slots: ${describeSupplier(supplier)}`);
  }
  if (slotwise.metricsServer)
    io.out(
      `slotwise: metrics at ${slotwise.metricsServer.url}metrics, live page at ${slotwise.metricsServer.url}`,
    );
}

/** Prints the activity slot counts each second when they changed; returns the function that stops it. */
function reportProgress(slotwise: SlotwiseWorker, io: CliIo): () => void {
  let lastLine = '';
  const progress = setInterval(() => {
    const a = activitySnapshot(slotwise);
    if (a === undefined) return;
    const line = `slotwise: activity slots ${a.used} used / ${a.issued} issued / ${a.capacity ?? 'unbounded'} capacity, ${a.waiting} waiting`;
    if (line !== lastLine) io.out(line);
    lastLine = line;
  }, 1000);
  return () => clearInterval(progress);
}

/**
 * Runs the Worker: until the burst completes with `--once`, else until SIGINT/SIGTERM (with a hint
 * on how to start work when no burst was asked for). A burst that fails stops the Worker (exit 1)
 * with a line saying why; a burst still running when the Worker stops is abandoned (its client
 * connection closed), never left pending. Resolves with the exit code.
 */
async function runWorker(worker: Worker, place: WorkerPlace, args: WorkerArgs, io: CliIo): Promise<number> {
  const { address, namespace, taskQueue } = place;
  if (args.burst === 0) {
    io.out(
      args.workflows === undefined
        ? `slotwise: start work with: temporal workflow start --address ${address} --task-queue ${taskQueue} --type fanOutWorkflow --input '{"tasks":30,"workMs":500}'`
        : `slotwise: start your workflows with: temporal workflow start --address ${address} --namespace ${namespace} --task-queue ${taskQueue} --type <a workflow of ${args.workflows.given}>`,
    );
    await worker.run();
    return 0;
  }
  const abandon = new AbortController();
  const workflowId = `slotwise-burst-${Date.now()}`;
  // Settles with whether the burst failed; never rejects, so no failure goes unreported.
  const failed = startBurst(place, workflowId, args.burst, args.workMs, io, abandon.signal).then(
    () => false,
    (error: unknown) => {
      if (abandon.signal.aborted) {
        io.out(`slotwise: burst ${workflowId} had not completed when the worker stopped`);
        return false;
      }
      io.err(`slotwise worker: burst ${workflowId} failed: ${causes(error)}; stopping the worker`);
      return true;
    },
  );
  void failed.then((burstFailed) => {
    if ((burstFailed || args.once) && worker.getState() === 'RUNNING') worker.shutdown();
  });
  try {
    await worker.run();
  } finally {
    abandon.abort();
  }
  return (await failed) ? 1 : 0;
}

/** An error's message followed by its causes' (`Workflow execution failed: Activity task failed: ...`). */
function causes(error: unknown): string {
  const messages: string[] = [];
  for (let e: unknown = error; e !== undefined && e !== null && messages.length < 5; ) {
    messages.push(errorText(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  return messages.join(': ');
}

/** Creates and runs the Worker, with progress lines, and says how it stopped. Resolves with the exit code. */
async function serve(
  slotwise: SlotwiseWorker,
  place: WorkerPlace,
  args: WorkerArgs,
  io: CliIo,
): Promise<number> {
  const worker = await Worker.create(slotwise.options);
  announce(slotwise, place, io);
  const stopProgress = reportProgress(slotwise, io);
  let code: number;
  try {
    code = await runWorker(worker, place, args, io);
  } finally {
    stopProgress();
  }
  const a = activitySnapshot(slotwise);
  io.out(
    a === undefined
      ? 'slotwise: worker stopped'
      : `slotwise: worker stopped; activity slots issued ${a.issued}, waiting ${a.waiting}`,
  );
  return code;
}

/** `slotwise worker`: the main job. Returns the exit code. */
export async function workerCommand(argv: string[], io: CliIo): Promise<number> {
  const args = parseWorkerArgs(argv);
  if (args === undefined) {
    io.out(WORKER_HELP);
    return 0;
  }
  const config = await workerConfig(args, io);
  if (config === undefined) return 1;
  const activities =
    args.activities !== undefined ? await activitiesFrom(args.activities) : exampleActivities;
  const given = args.address ?? config.temporal?.address ?? io.env.TEMPORAL_ADDRESS;
  const devServer = given ? undefined : await startEmbeddedServer(io);
  const place: WorkerPlace = {
    address: devServer?.address ?? given!,
    namespace: args.namespace ?? config.temporal?.namespace ?? io.env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue: args.taskQueue ?? config.temporal?.taskQueue ?? 'slotwise-example',
  };
  try {
    installRuntime(args.logLevel);
    const connection = await connect(place.address, io);
    if (connection === undefined) return 1;
    const slotwise = await buildSlotwise(connection, place, args, config, activities, io);
    if (slotwise === undefined) {
      await connection.close();
      return 1;
    }
    try {
      return await serve(slotwise, place, args, io);
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

/** Runs one fanOutWorkflow of `tasks` activities to completion; `signal` abandons it. */
async function startBurst(
  place: WorkerPlace,
  workflowId: string,
  tasks: number,
  workMs: number,
  io: CliIo,
  signal: AbortSignal,
): Promise<void> {
  const connection = await Connection.connect({ address: place.address });
  try {
    signal.throwIfAborted();
    const client = new Client({ connection, namespace: place.namespace });
    io.out(`slotwise: starting fanOutWorkflow ${workflowId}: ${tasks} activities of ${workMs} ms`);
    const completed = await connection.withAbortSignal(signal, () =>
      client.workflow.execute('fanOutWorkflow', {
        taskQueue: place.taskQueue,
        workflowId,
        args: [{ tasks, workMs }],
      }),
    );
    io.out(`slotwise: ${workflowId} completed ${completed} activities`);
  } finally {
    await connection.close();
  }
}
