import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@temporalio/common';
import {
  bundleWorkflowCode,
  type NativeConnection,
  Worker,
  type WorkflowBundleOption,
} from '@temporalio/worker';

/** Options of {@link hostFleetManagers}. */
export interface FleetManagerHostOptions {
  connection: NativeConnection;
  namespace: string;
  /** The task queue lease managers run on. */
  taskQueue: string;
  /** A prebuilt bundle containing {@link fleetLeaseManagerWorkflow}; built once per process otherwise. */
  workflowBundle?: WorkflowBundleOption;
  logger: Logger;
}

interface Host {
  refs: number;
  stop(): Promise<void>;
}

// One host per (connection, namespace, task queue) in the process, whichever copy of slotwise
// (ESM, CommonJS) asks: process-wide state lives on globalThis.
const HOSTS_KEY = Symbol.for('slotwise.fleet.managerHosts');
const BUNDLE_KEY = Symbol.for('slotwise.fleet.managerBundle');
const RESTART_DELAY_MS = 5_000;

type ProcessState = {
  [HOSTS_KEY]?: Map<NativeConnection, Map<string, Host>>;
  [BUNDLE_KEY]?: Promise<{ code: string }>;
};
const processState = globalThis as ProcessState;

/**
 * Runs a small Worker for fleet lease managers on `taskQueue` in this process, shared by every
 * supplier that asks for the same connection, namespace and task queue. Returns the function that
 * gives this use up; the Worker shuts down when the last one did.
 *
 * Every process with a fleet supplier hosts managers, so a fleet's manager runs wherever any of its
 * processes runs, with no Worker to deploy. The host Worker has its own workflow slots (never a
 * fleet's), a small sticky cache and a 2 s sticky schedule-to-start timeout, so a manager whose
 * cached copy died with its process moves on to another process quickly.
 *
 * @example
 * ```ts
 * import { DefaultLogger, NativeConnection } from '@temporalio/worker';
 * import { hostFleetManagers } from 'slotwise/internal/fleet/manager-host.js';
 * const release = hostFleetManagers({
 *   connection: await NativeConnection.connect(),
 *   namespace: 'default',
 *   taskQueue: 'slotwise-fleet',
 *   logger: new DefaultLogger('WARN'),
 * });
 * await release();
 * ```
 */
export function hostFleetManagers(options: FleetManagerHostOptions): () => Promise<void> {
  processState[HOSTS_KEY] ??= new Map();
  const registry = processState[HOSTS_KEY];
  let hosts = registry.get(options.connection);
  if (hosts === undefined) {
    hosts = new Map();
    registry.set(options.connection, hosts);
  }
  const key = `${options.namespace}\u0000${options.taskQueue}`;
  let host = hosts.get(key);
  if (host === undefined) {
    host = startHost(options);
    hosts.set(key, host);
  } else {
    host.refs++;
  }
  const mine = host;
  const byKey = hosts;
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    if (--mine.refs > 0) return;
    if (byKey.get(key) === mine) byKey.delete(key);
    if (byKey.size === 0) registry.delete(options.connection);
    await mine.stop();
  };
}

function startHost(options: FleetManagerHostOptions): Host {
  const { logger } = options;
  let stopped = false;
  let worker: Worker | undefined;
  const run = (async () => {
    while (!stopped) {
      try {
        const workflowBundle = options.workflowBundle ?? (await sharedBundle(logger));
        if (stopped) return;
        const created = await Worker.create({
          connection: options.connection,
          namespace: options.namespace,
          taskQueue: options.taskQueue,
          workflowBundle,
          maxCachedWorkflows: 100,
          stickyQueueScheduleToStartTimeout: '2s',
          shutdownGraceTime: '1s',
          tuner: {
            workflowTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
            activityTaskSlotSupplier: { type: 'fixed-size', numSlots: 1 },
            localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: 1 },
            nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 1 },
          },
        });
        worker = created;
        const running = created.run();
        if (stopped) created.shutdown();
        await running;
        worker = undefined;
      } catch (error) {
        worker = undefined;
        if (stopped) return;
        logger.error(
          `slotwise fleet: the lease manager Worker on task queue '${options.taskQueue}' stopped; restarting in ${RESTART_DELAY_MS} ms: ${error instanceof Error ? error.message : String(error)}`,
        );
        await new Promise((resolve) => setTimeout(resolve, RESTART_DELAY_MS));
      }
    }
  })();
  return {
    refs: 1,
    async stop() {
      stopped = true;
      if (worker?.getState() === 'RUNNING') worker.shutdown();
      await run;
    },
  };
}

/** The lease manager workflows bundled once per process. */
function sharedBundle(logger: Logger): Promise<{ code: string }> {
  processState[BUNDLE_KEY] ??= bundleWorkflowCode({
    workflowsPath: fleetWorkflowsPath(),
    logger: {
      trace() {},
      debug() {},
      info() {},
      warn: (message, meta) => logger.warn(message, meta),
      error: (message, meta) => logger.error(message, meta),
      log() {},
    },
  }).then(({ code }) => ({ code }));
  const bundle = processState[BUNDLE_KEY];
  // A failed bundle is not cached: the next start tries again.
  bundle.catch(() => {
    if (processState[BUNDLE_KEY] === bundle) delete processState[BUNDLE_KEY];
  });
  return bundle;
}

/** The workflows module with the lease manager: the fleet folder in sources, slotwise/workflows when built. */
export function fleetWorkflowsPath(): string {
  const candidates = [
    '../workflows/fleet/index.ts',
    '../workflows/fleet/index.js',
    './workflows/index.js',
    '../workflows/index.js',
  ];
  for (const candidate of candidates) {
    const path = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error(
    'slotwise fleet: cannot find the lease manager workflows next to slotwise; pass `managerWorkflowBundle`, or run managers yourself (`hostManager: false`)',
  );
}
