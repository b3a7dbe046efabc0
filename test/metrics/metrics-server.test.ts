import { createServer, request } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SlotwiseOptionsError } from '../../src/errors.js';
import { MetricsPortInUseError } from '../../src/metrics/metrics-port-in-use-error.js';
import {
  type HistoryResponse,
  type MetricsServer,
  startMetricsServer,
} from '../../src/metrics/metrics-server.js';
import { SlotwiseMetrics } from '../../src/metrics/supplier-metrics.js';
import { FixedSlotSupplier } from '../../src/suppliers/fixed-slot-supplier.js';
import { activityInfo, recordingLogger, reserveCtx } from '../helpers/fakes.js';
import { parsePrometheusText, seriesKey } from './metric-values.js';

const servers: MetricsServer[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(options: Parameters<typeof startMetricsServer>[0]): Promise<MetricsServer> {
  const server = await startMetricsServer({ port: 0, ...options });
  servers.push(server);
  return server;
}

/** A plain HTTP request (no fetch, so fake timers cannot interfere). */
function http(
  url: string,
  method = 'GET',
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A raw TCP connection to the server: what it received, and a promise of its closing. */
async function rawConnection(
  port: number,
): Promise<{ socket: Socket; closed: Promise<void>; received: () => string }> {
  const socket = connect(port, '127.0.0.1');
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    received += chunk;
  });
  socket.on('error', () => {
    // ECONNRESET when the server drops the connection: seen as `closed`.
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, closed, received: () => received };
}

/** Sends a GET on an open raw connection and resolves with the status line of the answer. */
async function statusOn(
  connection: Awaited<ReturnType<typeof rawConnection>>,
  path: string,
): Promise<string> {
  connection.socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  await connection.closed;
  return connection.received().split('\r\n')[0]!;
}

/** A supplier of 3 slots, and `drive()` to take 2 of them (1 used) by hand once it is tracked. */
function busySupplier(name: string) {
  const supplier = new FixedSlotSupplier({ slots: 3, name, logger: recordingLogger() });
  const drive = () => {
    const a = supplier.tryReserveSlot(reserveCtx('orders'))!;
    supplier.tryReserveSlot(reserveCtx('orders'));
    supplier.markSlotUsed({ permit: a, slotInfo: activityInfo('charge') });
  };
  return { supplier, drive };
}

describe('startMetricsServer', () => {
  it('startMetricsServer() serves /metrics in Prometheus text format, equal to snapshot()', async () => {
    const { supplier, drive } = busySupplier('http-1');
    const server = await start({ suppliers: [supplier] });
    drive();
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/`);
    const res = await http(`${server.url}metrics`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.body).toBe(await server.registry.metrics());
    const samples = parsePrometheusText(res.body);
    const labels = {
      namespace: 'default',
      task_queue: 'orders',
      worker_type: 'ActivityWorker',
      supplier: 'http-1',
    };
    const { capacity, issued, used, waiting, errors } = supplier.snapshot();
    expect({
      capacity: samples.get(seriesKey('slotwise_slots_capacity', labels)),
      issued: samples.get(seriesKey('slotwise_slots_issued', labels)),
      used: samples.get(seriesKey('slotwise_slots_used', labels)),
      available: samples.get(seriesKey('slotwise_slots_available', labels)),
      waiting: samples.get(seriesKey('slotwise_reservations_waiting', labels)),
      errors: samples.get(seriesKey('slotwise_supplier_errors_total', labels)),
    }).toEqual({ capacity, issued, used, available: 1, waiting, errors });
    expect({ capacity, issued, used, waiting, errors }).toEqual({
      capacity: 3,
      issued: 2,
      used: 1,
      waiting: 0,
      errors: 0,
    });
    expect(
      samples.get(seriesKey('slotwise_slots_used_by_task_type', { ...labels, task_type: 'charge' })),
    ).toBe(1);
    expect(
      samples.get(seriesKey('slotwise_reservations_total', { ...labels, result: 'eager-granted' })),
    ).toBe(2);
  });

  it('startMetricsServer() answers /healthz with 200 and JSON ok', async () => {
    const server = await start({});
    const res = await http(`${server.url}healthz`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(res.body)).toEqual({ status: 'ok' });
  });

  it('startMetricsServer() serves the live page at / with no external resources', async () => {
    const server = await start({ title: 'billing <workers>' });
    const res = await http(server.url);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.body.startsWith('<!doctype html>')).toBe(true);
    expect(res.body).toContain('<title>billing &#60;workers&#62;</title>');
    expect(res.body).toContain("fetch('api/history?since='");
    expect(res.body).not.toMatch(/(src|href)=["']?(https?:)?\/\//);
    expect(res.body).not.toMatch(/https?:\/\//);
  });

  it('startMetricsServer() serves /api/history with the samples kept and the current values', async () => {
    const { supplier, drive } = busySupplier('history-1');
    const server = await start({ suppliers: [supplier], sampleIntervalMs: 500, historySeconds: 60 });
    drive();
    const res = await http(`${server.url}api/history`);
    expect(res.status).toBe(200);
    const body = JSON.parse(res.body) as HistoryResponse;
    expect(body.intervalMs).toBe(500);
    expect(body.historyMs).toBe(60_000);
    // The first sample is taken before the server listens, so before drive() took any slot.
    expect(body.samples[0]!.suppliers.map((s) => [s.supplier, s.issued])).toEqual([['history-1', 0]]);
    expect(body.current.suppliers).toEqual([
      {
        supplier: 'history-1',
        namespace: 'default',
        taskQueue: 'orders',
        workerType: 'ActivityWorker',
        capacity: 3,
        issued: 2,
        used: 1,
        available: 1,
        waiting: 0,
        errors: 0,
        cpuUtilization: null,
        cpuUsableCores: null,
        memoryWorkingSetBytes: null,
        memoryLimitBytes: null,
        heapUsedBytes: null,
        heapLimitBytes: null,
        readingAgeSeconds: {},
        learned: {},
        gpus: [],
        charged: { cpuCores: null, memoryBytes: null, gpus: null, gpuMemoryBytes: null, heapBytes: null },
        reservations: { granted: 0, aborted: 0, 'eager-granted': 2, 'eager-denied': 0, error: 0 },
        releases: { normal: 0, unused: 0, manual: 0, reclaimed: 0 },
        usedByTaskType: { charge: 1 },
      },
    ]);
    const later = JSON.parse((await http(`${server.url}api/history?since=${body.current.time}`)).body);
    expect(later.samples.every((s: { time: number }) => s.time > body.current.time)).toBe(true);
  });

  it('startMetricsServer() keeps a ring buffer of historySeconds / sampleIntervalMs samples', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'], now: 1_000_000 });
    const supplier = new FixedSlotSupplier({ slots: 5, name: 'ring' });
    const server = await start({ suppliers: [supplier], sampleIntervalMs: 1000, historySeconds: 3 });
    const issuedOverTime: number[] = [];
    for (let i = 0; i < 5; i++) {
      supplier.tryReserveSlot(reserveCtx('q'));
      await vi.advanceTimersByTimeAsync(1000);
      issuedOverTime.push(supplier.snapshot().issued);
    }
    const body = JSON.parse((await http(`${server.url}api/history`)).body) as HistoryResponse;
    expect(body.samples.map((s) => [s.time, s.suppliers[0]!.issued])).toEqual([
      [1_003_000, 3],
      [1_004_000, 4],
      [1_005_000, 5],
    ]);
    expect(issuedOverTime).toEqual([1, 2, 3, 4, 5]);
    const since = JSON.parse((await http(`${server.url}api/history?since=1004000`)).body) as HistoryResponse;
    expect(since.samples.map((s) => s.time)).toEqual([1_005_000]);
  });

  it('startMetricsServer() answers unknown paths with 404, other methods with 405, and HEAD without a body', async () => {
    const server = await start({});
    const missing = await http(`${server.url}nope`);
    expect([missing.status, missing.body]).toEqual([
      404,
      'not found: /nope (try /metrics, /healthz or / for the live page)\n',
    ]);
    const post = await http(`${server.url}metrics`, 'POST');
    expect([post.status, post.headers.allow, post.body]).toEqual([
      405,
      'GET, HEAD',
      'method POST not allowed: use GET\n',
    ]);
    const head = await http(`${server.url}healthz`, 'HEAD');
    expect([head.status, head.headers['content-length'], head.body]).toEqual([200, '15', '']);
  });

  it('startMetricsServer() rejects with MetricsPortInUseError naming the port, and untracks what it tracked', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as AddressInfo;
    const metrics = new SlotwiseMetrics();
    try {
      const attempt = startMetricsServer({ metrics, port, suppliers: [new FixedSlotSupplier({ slots: 1 })] });
      await expect(attempt).rejects.toThrow(MetricsPortInUseError);
      await expect(attempt).rejects.toThrow(
        `metrics port ${port} on 127.0.0.1 is already in use: choose another with metrics.listen (for example "127.0.0.1:${port + 1}", or port 0 for any free port), or stop the process that holds it`,
      );
      const error = (await attempt.catch((e: unknown) => e)) as MetricsPortInUseError;
      expect([error.name, error.code, error.host, error.port]).toEqual([
        'MetricsPortInUseError',
        'EADDRINUSE',
        '127.0.0.1',
        port,
      ]);
      expect(metrics.tracked()).toEqual([]);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('close() untracks the suppliers it tracked, frees the port, and is idempotent', async () => {
    const metrics = new SlotwiseMetrics();
    const supplier = new FixedSlotSupplier({ slots: 1 });
    const server = await startMetricsServer({ metrics, port: 0, suppliers: [supplier] });
    expect(metrics.tracked()).toEqual([supplier]);
    await http(`${server.url}metrics`); // leaves a keep-alive connection open
    await Promise.all([server.close(), server.close()]);
    expect(metrics.tracked()).toEqual([]);
    const again = await start({ port: server.port });
    expect(again.port).toBe(server.port);
  });

  it('startMetricsServer() serves a registry as it is, reading the slotwise series under its prefix', async () => {
    const registry = new Registry();
    const metrics = new SlotwiseMetrics({ registry, prefix: 'app_' });
    const { supplier, drive } = busySupplier('own');
    metrics.track(supplier);
    drive();
    const server = await start({ registry, prefix: 'app_' });
    const body = JSON.parse((await http(`${server.url}api/history`)).body) as HistoryResponse;
    expect(body.current.suppliers.map((s) => [s.supplier, s.capacity, s.issued])).toEqual([['own', 3, 2]]);
    expect((await http(`${server.url}metrics`)).body).toContain(
      'app_slots_issued{namespace="default",task_queue="orders",worker_type="ActivityWorker",supplier="own"} 2',
    );
  });

  it.each([
    [
      { port: 70000 },
      'startMetricsServer: expected `port` to be an integer in [0, 65535], got `70000` (number).',
    ],
    [
      { metrics: new SlotwiseMetrics(), registry: new Registry() },
      'startMetricsServer: `metrics` and `registry` disagree: give one of them (metrics.registry is served).',
    ],
    [
      { listen: '0.0.0.0:9464' },
      'startMetricsServer: unknown option `listen`. Known options: metrics, registry, suppliers, host, port, prefix, sampleIntervalMs, historySeconds, title, headersTimeoutMs, idleTimeoutMs, maxConnections.',
    ],
  ])('startMetricsServer() rejects %j with a precise message', async (options, message) => {
    const attempt = startMetricsServer(options as never);
    await expect(attempt).rejects.toThrow(SlotwiseOptionsError);
    await expect(attempt).rejects.toThrow(message);
  });

  it('startMetricsServer() closes connections that send no complete request within headersTimeoutMs, even a byte at a time', async () => {
    const server = await start({ headersTimeoutMs: 300, idleTimeoutMs: 60_000 });
    const silent = await rawConnection(server.port);
    const dripping = await rawConnection(server.port);
    dripping.socket.write('GET /metrics HTTP/1.1\r\n');
    // A header line every 50 ms: never idle, never complete.
    const drip = setInterval(() => dripping.socket.write('X-Slow: 1\r\n'), 50);
    try {
      await Promise.all([silent.closed, dripping.closed]);
    } finally {
      clearInterval(drip);
    }
    expect(silent.received()).not.toContain('200 OK');
    expect(dripping.received()).not.toContain('200 OK');
    expect(server.limits).toEqual({ headersTimeoutMs: 300, idleTimeoutMs: 60_000, maxConnections: 64 });
  });

  it('startMetricsServer() closes a connection with no traffic for idleTimeoutMs', async () => {
    const server = await start({ headersTimeoutMs: 60_000, idleTimeoutMs: 300 });
    const stalled = await rawConnection(server.port);
    stalled.socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\n');
    await stalled.closed;
    expect(stalled.received()).not.toContain('200 OK');
    // A complete request is still answered.
    expect(await statusOn(await rawConnection(server.port), '/healthz')).toBe('HTTP/1.1 200 OK');
  });

  it('startMetricsServer() keeps at most maxConnections connections open and drops the next one', async () => {
    const server = await start({ maxConnections: 3, headersTimeoutMs: 60_000, idleTimeoutMs: 60_000 });
    const held = [];
    for (let i = 0; i < 3; i++) held.push(await rawConnection(server.port));
    const extra = await rawConnection(server.port);
    await extra.closed;
    expect(extra.received()).toBe('');
    // The 3 held are open and served; once they are done a new connection is served too.
    expect(await Promise.all(held.map((c) => statusOn(c, '/healthz')))).toEqual(
      Array(3).fill('HTTP/1.1 200 OK'),
    );
    expect(await statusOn(await rawConnection(server.port), '/healthz')).toBe('HTTP/1.1 200 OK');
  });

  it('startMetricsServer() bounds connections to 64 by default, headers to 10 s and idle time to 15 s', async () => {
    const server = await start({});
    const held = [];
    for (let i = 0; i < 64; i++) held.push(await rawConnection(server.port));
    const extra = await rawConnection(server.port);
    await extra.closed;
    const statuses = await Promise.all(held.map((c) => statusOn(c, '/healthz')));
    expect(statuses.filter((status) => status === 'HTTP/1.1 200 OK').length).toBe(64);
    expect(server.limits).toEqual({ headersTimeoutMs: 10_000, idleTimeoutMs: 15_000, maxConnections: 64 });
  });

  it.each([
    [
      { headersTimeoutMs: 0 },
      'expected `headersTimeoutMs` to be an integer in [1, 2147483647], got `0` (number).',
    ],
    [
      { idleTimeoutMs: 1.5 },
      'expected `idleTimeoutMs` to be an integer in [1, 2147483647], got `1.5` (number).',
    ],
    [{ maxConnections: 0 }, 'expected `maxConnections` to be an integer in [1, 65535], got `0` (number).'],
  ])('startMetricsServer() rejects the bound %j', async (options, message) => {
    await expect(startMetricsServer(options)).rejects.toThrow(`startMetricsServer: ${message}`);
  });
});
