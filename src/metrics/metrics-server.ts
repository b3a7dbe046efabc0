import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { SlotwiseOptionsError } from '../errors.js';
import {
  checkInteger,
  checkKnownKeys,
  checkOptionsObject,
  MAX_TIMER_MS,
  optionError,
} from '../option-checks.js';
import { livePageHtml } from './live-page.js';
import { DEFAULT_METRIC_PREFIX } from './metric-names.js';
import { MetricsHistory } from './metrics-history.js';
import { MetricsPortInUseError } from './metrics-port-in-use-error.js';
import { type MetricsSample, sampleFromMetrics } from './metrics-sample.js';
import { SlotwiseMetrics } from './supplier-metrics.js';
import type { TrackableSupplier } from './trackable-supplier.js';

/** Options of {@link startMetricsServer}. */
export interface MetricsServerOptions {
  /**
   * The metrics to serve; `suppliers` are tracked on it. Give this or `registry`, not both.
   * @default a new {@link SlotwiseMetrics} on a fresh registry
   */
  metrics?: SlotwiseMetrics;
  /**
   * A registry to serve as it is (for example one your own `SlotwiseMetrics` and other metrics share).
   * With `suppliers`, a `SlotwiseMetrics` is created on it to track them.
   */
  registry?: Registry;
  /** Suppliers to track while the server runs; they are untracked by `close()`. */
  suppliers?: readonly TrackableSupplier[];
  /**
   * Address to listen on. `0.0.0.0` or `::` exposes the page and metrics to the network.
   * @default '127.0.0.1'
   */
  host?: string;
  /**
   * Port to listen on; `0` picks a free one (read it from the returned `port`).
   * @default 9464
   */
  port?: number;
  /**
   * Prefix of the slotwise metric names in `registry`, for the live page.
   * @default the prefix of `metrics`, else 'slotwise_'
   */
  prefix?: string;
  /**
   * How often the live page's history is sampled (and the page polls), in milliseconds.
   * @default 1000
   */
  sampleIntervalMs?: number;
  /**
   * How much history the server keeps for the live page, in seconds.
   * @default 300
   */
  historySeconds?: number;
  /**
   * Title of the live page.
   * @default 'slotwise'
   */
  title?: string;
  /**
   * Milliseconds a connection has to send a complete request (headers included, counted from the
   * connection or the previous response); then it is closed. Bounds half-open and byte-at-a-time
   * ("slowloris") connections.
   * @default 10000
   */
  headersTimeoutMs?: number;
  /**
   * Milliseconds a connection may go with no traffic either way before it is closed (a keep-alive
   * connection between requests: at most 5000).
   * @default 15000
   */
  idleTimeoutMs?: number;
  /**
   * Connections open at once at most; one more is closed as soon as it is accepted.
   * @default 64
   */
  maxConnections?: number;
}

/** The bounds a {@link MetricsServer} enforces on its connections. */
export interface MetricsServerLimits {
  headersTimeoutMs: number;
  idleTimeoutMs: number;
  maxConnections: number;
}

/** A running metrics server. */
export interface MetricsServer {
  /** The page's address, e.g. `http://127.0.0.1:9464/`; `/metrics` and `/healthz` are beside it. */
  readonly url: string;
  /** The address it listens on. */
  readonly host: string;
  /** The port it listens on (the one picked when `port` was 0). */
  readonly port: number;
  /** The registry `/metrics` serves. */
  readonly registry: Registry;
  /** The bounds on its connections (see {@link MetricsServerOptions}). */
  readonly limits: MetricsServerLimits;
  /** Stops sampling, untracks the suppliers it tracked, and closes the server and its connections. Idempotent. */
  close(): Promise<void>;
}

/** The body of `/api/history`, which the live page polls. */
export interface HistoryResponse {
  /** How often the server samples, in milliseconds (the page polls as often). */
  intervalMs: number;
  /** How much history the server keeps, in milliseconds. */
  historyMs: number;
  /** Samples taken after the `since` query parameter (milliseconds since the epoch), oldest first. */
  samples: MetricsSample[];
  /** A sample taken for this response: the values `/metrics` shows right now. */
  current: MetricsSample;
}

const OWNER = 'startMetricsServer';
const OPTION_KEYS = [
  'metrics',
  'registry',
  'suppliers',
  'host',
  'port',
  'prefix',
  'sampleIntervalMs',
  'historySeconds',
  'title',
  'headersTimeoutMs',
  'idleTimeoutMs',
  'maxConnections',
];
/** Keep-alive connections wait at most this long for the next request (Node's own default). */
const KEEP_ALIVE_MS = 5000;
const JSON_TYPE = 'application/json; charset=utf-8';

function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

function send(res: ServerResponse, status: number, type: string, body: string, head: boolean): void {
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(head ? undefined : body);
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.removeListener('listening', onListening);
      reject(error.code === 'EADDRINUSE' ? new MetricsPortInUseError(host, port, { cause: error }) : error);
    };
    const onListening = () => {
      server.removeListener('error', onError);
      resolve((server.address() as AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/**
 * Serves slotwise metrics over HTTP:
 * - `GET /metrics`: the registry in Prometheus text format (with the registry's content type);
 * - `GET /healthz`: `200 {"status":"ok"}`;
 * - `GET /`: a live page charting each supplier's slots and readings over the last minutes;
 * - `GET /api/history?since=<ms>`: the JSON the page polls ({@link HistoryResponse}).
 *
 * The server samples the registry every `sampleIntervalMs` into a ring buffer, so the page shows
 * the last `historySeconds` as soon as it loads. It listens on 127.0.0.1 unless `host` says
 * otherwise, serves only GET and HEAD, and bounds its connections: `maxConnections` at once, each
 * closed when its request takes longer than `headersTimeoutMs` or it is idle for `idleTimeoutMs`.
 *
 * @throws {MetricsPortInUseError} when the port is taken.
 *
 * @example
 * ```ts
 * import { FixedSlotSupplier, startMetricsServer } from 'slotwise';
 * const activities = new FixedSlotSupplier({ slots: 8, name: 'activities' });
 * const server = await startMetricsServer({ port: 9464, suppliers: [activities] });
 * server.url; // => 'http://127.0.0.1:9464/'
 * const text = await (await fetch(`${server.url}metrics`)).text();
 * text.includes('slotwise_slots_capacity{namespace="default",task_queue="",worker_type="",supplier="activities"} 8'); // => true
 * await server.close();
 * ```
 */
export async function startMetricsServer(options: MetricsServerOptions = {}): Promise<MetricsServer> {
  checkOptionsObject(OWNER, options, true);
  checkKnownKeys(OWNER, options, OPTION_KEYS);
  const host = options.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host === '') optionError(OWNER, 'host', 'a host name or IP address', host);
  const port = checkInteger(OWNER, 'port', options.port ?? 9464, 0, 65535);
  const intervalMs = checkInteger(OWNER, 'sampleIntervalMs', options.sampleIntervalMs ?? 1000, 10);
  const historySeconds = checkInteger(OWNER, 'historySeconds', options.historySeconds ?? 300, 1);
  const limits: MetricsServerLimits = {
    headersTimeoutMs: checkInteger(
      OWNER,
      'headersTimeoutMs',
      options.headersTimeoutMs ?? 10_000,
      1,
      MAX_TIMER_MS,
    ),
    idleTimeoutMs: checkInteger(OWNER, 'idleTimeoutMs', options.idleTimeoutMs ?? 15_000, 1, MAX_TIMER_MS),
    maxConnections: checkInteger(OWNER, 'maxConnections', options.maxConnections ?? 64, 1, 65535),
  };
  const title = options.title ?? 'slotwise';
  if (typeof title !== 'string') optionError(OWNER, 'title', 'a string', title);
  const suppliers = options.suppliers ?? [];
  if (!Array.isArray(suppliers)) optionError(OWNER, 'suppliers', 'an array of slotwise suppliers', suppliers);
  if (options.metrics !== undefined && !(options.metrics instanceof SlotwiseMetrics)) {
    optionError(OWNER, 'metrics', 'a SlotwiseMetrics', options.metrics);
  }
  if (
    options.metrics !== undefined &&
    options.registry !== undefined &&
    options.metrics.registry !== options.registry
  ) {
    throw new SlotwiseOptionsError(
      `${OWNER}: \`metrics\` and \`registry\` disagree: give one of them (metrics.registry is served).`,
    );
  }

  let metrics = options.metrics;
  if (metrics === undefined && (options.registry === undefined || suppliers.length > 0)) {
    metrics = new SlotwiseMetrics({
      ...(options.registry && { registry: options.registry }),
      ...(options.prefix !== undefined && { prefix: options.prefix }),
    });
  }
  const registry = metrics?.registry ?? options.registry!;
  const prefix = options.prefix ?? metrics?.prefix ?? DEFAULT_METRIC_PREFIX;
  const untrack: Array<() => void> = [];
  const untrackAll = () => {
    for (const stop of untrack.splice(0)) stop();
  };
  try {
    for (const supplier of suppliers) untrack.push(metrics!.track(supplier));
  } catch (error) {
    untrackAll();
    throw error;
  }

  const history = new MetricsHistory(Math.max(1, Math.ceil((historySeconds * 1000) / intervalMs)));
  const sample = async (): Promise<MetricsSample> =>
    sampleFromMetrics(await registry.getMetricsAsJSON(), prefix, Date.now());
  let sampling = false;
  const tick = async () => {
    if (sampling) return;
    sampling = true;
    try {
      history.push(await sample());
    } catch {
      // A failing collect shows as a gap in the page's charts; /metrics reports the error itself.
    } finally {
      sampling = false;
    }
  };
  const page = livePageHtml({ title });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) {
      res.setHeader('Allow', 'GET, HEAD');
      send(res, 405, 'text/plain; charset=utf-8', `method ${req.method} not allowed: use GET\n`, false);
      return;
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    switch (url.pathname) {
      case '/metrics':
        send(res, 200, registry.contentType, await registry.metrics(), head);
        return;
      case '/healthz':
        send(res, 200, JSON_TYPE, JSON.stringify({ status: 'ok' }), head);
        return;
      case '/':
        send(res, 200, 'text/html; charset=utf-8', page, head);
        return;
      case '/api/history': {
        const since = Number(url.searchParams.get('since') ?? Number.NEGATIVE_INFINITY);
        const body: HistoryResponse = {
          intervalMs,
          historyMs: historySeconds * 1000,
          samples: history.since(Number.isNaN(since) ? Number.NEGATIVE_INFINITY : since),
          current: await sample(),
        };
        send(res, 200, JSON_TYPE, JSON.stringify(body), head);
        return;
      }
      default:
        send(
          res,
          404,
          'text/plain; charset=utf-8',
          `not found: ${url.pathname} (try /metrics, /healthz or / for the live page)\n`,
          head,
        );
    }
  };

  const server = createServer(
    {
      // Node checks these timeouts on an interval (30 s by default): often enough that a
      // connection is closed within a quarter of its timeout after it ran out, at most 1 s.
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.headersTimeoutMs,
      connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
      keepAliveTimeout: Math.min(KEEP_ALIVE_MS, limits.idleTimeoutMs),
      maxHeaderSize: 8 * 1024,
    },
    (req, res) => {
      handle(req, res).catch((error: unknown) => {
        const text = error instanceof Error ? error.message : String(error);
        if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `error: ${text}\n`, false);
        else res.destroy();
      });
    },
  );
  server.maxConnections = limits.maxConnections;
  // A socket with no traffic for this long is destroyed (no 'timeout' listener: Node's default).
  server.setTimeout(limits.idleTimeoutMs);

  await tick();
  let boundPort: number;
  try {
    boundPort = await listen(server, host, port);
  } catch (error) {
    untrackAll();
    throw error;
  }
  const timer = setInterval(() => void tick(), intervalMs);
  timer.unref();

  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost(host)}:${boundPort}/`,
    host,
    port: boundPort,
    registry,
    limits,
    close: () => {
      closing ??= new Promise<void>((resolve, reject) => {
        clearInterval(timer);
        untrackAll();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
