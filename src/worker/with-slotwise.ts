import type { Logger } from '@temporalio/common';
import { DefaultLogger, NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { settleConcurrencyReleases } from '../activities/concurrency-activities.js';
import { type BuiltTuner, buildTuner } from '../config/build-tuner.js';
import { type ConfigWatcher, type ReloadResult, watchConfig } from '../config/config-watcher.js';
import { parseListenAddress } from '../config/listen-address.js';
import { loadConfig } from '../config/load-config.js';
import type { SlotwiseConfigInput } from '../config/schema.js';
import { SlotwiseOptionsError } from '../errors.js';
import { type MetricsServer, startMetricsServer } from '../metrics/metrics-server.js';
import { SlotwiseMetrics } from '../metrics/supplier-metrics.js';
import { slotwiseWorkerOptions } from './slotwise-worker-options.js';

/** Options of {@link withSlotwise}. */
export interface WithSlotwiseOptions {
  /**
   * Where config reloads and errors are logged.
   * @default the suppliers' default logger
   */
  logger?: Logger;
  /**
   * Metrics to track the suppliers on (for example one sharing your registry).
   * @default a new SlotwiseMetrics on a fresh registry, namespace from the Worker options
   */
  metrics?: SlotwiseMetrics;
  /**
   * When `config` is a file path: reload limits when the file changes or on SIGHUP.
   * @default true
   */
  watch?: boolean;
  /** Called after each reload attempt that applied a valid file. */
  onReload?: (result: ReloadResult) => void;
  /**
   * Environment for `SLOTWISE_*` overrides, and `TEMPORAL_ADDRESS` / `TEMPORAL_NAMESPACE` when neither
   * the Worker options nor the config's `temporal` section say where to connect.
   * @default process.env
   */
  env?: NodeJS.ProcessEnv;
}

/**
 * The Worker options {@link withSlotwise} takes: any `WorkerOptions` but the `tuner` (it comes from
 * the config). `connection`, `namespace` and `taskQueue` may be left out when the config's
 * `temporal` section (or `TEMPORAL_ADDRESS` / `TEMPORAL_NAMESPACE`) gives them.
 */
export type SlotwiseWorkerInput = Omit<WorkerOptions, 'tuner' | 'taskQueue'> & { taskQueue?: string };

/** What {@link withSlotwise} returns: Worker options to pass on, and what to close afterwards. */
export interface SlotwiseWorker {
  /**
   * The Worker options with slotwise's tuner and activity interceptor, eager activity reservations
   * off (see {@link slotwiseWorkerOptions}) and the connection, namespace and task queue resolved.
   * Pass them to `Worker.create`.
   */
  options: WorkerOptions;
  /** The suppliers built from the config. */
  built: BuiltTuner;
  /** The metrics tracking every slotwise supplier. */
  metrics: SlotwiseMetrics;
  /** The `/metrics` server, when the config sets `metrics.listen`. */
  metricsServer: MetricsServer | undefined;
  /** The config file watcher, when `config` was a path and `watch` is on. */
  watcher: ConfigWatcher | undefined;
  /**
   * Stops the watcher, the metrics server, metrics tracking and the sampler, and closes the connection
   * withSlotwise opened (none when the Worker options had one), once the releases of `withConcurrency()`
   * runs still on their way over it have been sent (at most 2 s). Call after the Worker stopped.
   */
  close(): Promise<void>;
}

/**
 * Adds slotwise to Worker options you already have: the `tuner` built from `config` (a config
 * object, or the path of a YAML/JSON file, watched for hot reload), the activity interceptor that
 * `currentSlot()`, `releaseSlot()` and `evictableWait()` need (after your own interceptors), and
 * metrics for every slotwise supplier (served on `metrics.listen` when the config sets it).
 *
 * When a slotwise supplier serves activity slots, eager activity reservations are turned off
 * (`maxEagerActivityReservationsPerWorkflowTask: 0`): with Temporal's TypeScript SDK 1.24 a workflow
 * task scheduling 128 or more activities while fewer than 3 slots are free stops the whole Worker
 * otherwise. A value you set is kept, with one warning.
 *
 * Without a `connection` in the Worker options, it connects to the config's `temporal.address`, else
 * `TEMPORAL_ADDRESS`, else Temporal's default (localhost:7233); `namespace` and `taskQueue` default to
 * the config's `temporal` section (and `TEMPORAL_NAMESPACE`). A relative `workflowsPath` is resolved
 * against the current directory.
 *
 * @example
 * ```ts
 * import { NativeConnection, Worker } from '@temporalio/worker';
 * import { withSlotwise } from 'slotwise';
 *
 * const slotwise = await withSlotwise(
 *   { connection: await NativeConnection.connect(), taskQueue: 'work', activities: {} },
 *   'slotwise.yaml',
 * );
 * const worker = await Worker.create(slotwise.options);
 * await worker.run();
 * await slotwise.close();
 * ```
 */
export async function withSlotwise(
  workerOptions: SlotwiseWorkerInput,
  config: SlotwiseConfigInput | string,
  options: WithSlotwiseOptions = {},
): Promise<SlotwiseWorker> {
  const path = typeof config === 'string' ? config : undefined;
  const parsed: SlotwiseConfigInput =
    typeof config === 'string'
      ? (await loadConfig(config, { env: options.env ?? process.env })).config
      : config;
  const built = buildTuner(parsed, {
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.env ? { env: options.env } : {}),
    ...(workerOptions.connection
      ? { fleet: { connection: workerOptions.connection, namespace: workerOptions.namespace ?? 'default' } }
      : {}),
  });
  const cleanups: Array<() => Promise<void> | void> = [
    async () => {
      await built.closeFleets();
      built.close();
    },
  ];
  const close = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  try {
    const env = options.env ?? process.env;
    const logger = options.logger ?? new DefaultLogger('WARN');
    const temporal = built.config.temporal ?? {};
    const taskQueue = workerOptions.taskQueue ?? temporal.taskQueue;
    if (taskQueue === undefined) {
      throw new SlotwiseOptionsError(
        'withSlotwise(): no task queue: set `taskQueue` in the Worker options or `temporal.taskQueue` in the config.',
      );
    }
    const namespace = workerOptions.namespace ?? temporal.namespace ?? env.TEMPORAL_NAMESPACE;
    let connection = workerOptions.connection;
    if (connection === undefined) {
      const address = temporal.address ?? env.TEMPORAL_ADDRESS;
      if (address !== undefined) {
        const from = temporal.address !== undefined ? "the config's temporal.address" : 'TEMPORAL_ADDRESS';
        let opened: NativeConnection;
        try {
          opened = await NativeConnection.connect({ address });
        } catch (error) {
          throw new Error(
            `withSlotwise(): cannot reach Temporal at ${address} (from ${from}): ${error instanceof Error ? error.message : String(error)}`,
            { cause: error },
          );
        }
        cleanups.push(async () => {
          // Releases of withConcurrency() runs still on their way go out on this connection.
          await settleConcurrencyReleases();
          await opened.close();
        });
        connection = opened;
      }
    } else if (temporal.address !== undefined) {
      logger.warn(
        `slotwise: the config's temporal.address (${temporal.address}) is unused: the Worker options carry a connection`,
      );
    }
    const metrics = options.metrics ?? new SlotwiseMetrics({ namespace: namespace ?? 'default' });
    for (const supplier of built.suppliers.values()) {
      const untrack = metrics.track(supplier, { taskQueue });
      cleanups.push(untrack);
    }
    let metricsServer: MetricsServer | undefined;
    const listen = built.config.metrics?.listen;
    if (typeof listen === 'string') {
      const address = parseListenAddress(listen);
      if (address === null)
        throw new Error(`metrics.listen: expected "host:port", got ${JSON.stringify(listen)}`);
      metricsServer = await startMetricsServer({ metrics, host: address.host, port: address.port });
      const server = metricsServer;
      cleanups.push(() => server.close());
    }
    let watcher: ConfigWatcher | undefined;
    if (path !== undefined && options.watch !== false) {
      watcher = watchConfig(path, built, {
        ...(options.logger ? { logger: options.logger } : {}),
        ...(options.onReload ? { onReload: options.onReload } : {}),
        ...(options.env ? { env: options.env } : {}),
      });
      const w = watcher;
      cleanups.push(() => w.close());
    }
    return {
      options: slotwiseWorkerOptions(
        {
          ...workerOptions,
          ...(connection ? { connection } : {}),
          ...(namespace ? { namespace } : {}),
          taskQueue,
          tuner: built.tuner,
        },
        { logger },
      ),
      built,
      metrics,
      metricsServer,
      watcher,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
