import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
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
        gpus: [],
        charged: { cpuCores: null, memoryBytes: null, gpus: null, gpuMemoryBytes: null },
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
      'startMetricsServer: unknown option `listen`. Known options: metrics, registry, suppliers, host, port, prefix, sampleIntervalMs, historySeconds, title.',
    ],
  ])('startMetricsServer() rejects %j with a precise message', async (options, message) => {
    const attempt = startMetricsServer(options as never);
    await expect(attempt).rejects.toThrow(SlotwiseOptionsError);
    await expect(attempt).rejects.toThrow(message);
  });
});
