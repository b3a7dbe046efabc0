import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FleetSlotSupplier } from '../../src/fleet/fleet-slot-supplier.js';
import type { MetricKey } from '../../src/metrics/metric-names.js';
import { sampleFromMetrics } from '../../src/metrics/metrics-sample.js';
import { SlotwiseMetrics } from '../../src/metrics/supplier-metrics.js';
import { recordingLogger, reserveCtx, track } from '../helpers/fakes.js';
import { seriesOf } from '../metrics/metric-values.js';
import { FakeFleetManager } from './fake-fleet-manager.js';

const FLEET_KEYS = [
  'fleetSlots',
  'fleetLeased',
  'fleetWaiting',
  'fleetLeasesHeld',
  'fleetLeasesUsed',
  'fleetLeasesWanted',
  'fleetLeaseValid',
  'fleetLeasesExpiredTotal',
  'fleetLeasesOverdrawn',
  'fleetSyncErrorsTotal',
] as const satisfies readonly MetricKey[];

const suppliers: FleetSlotSupplier[] = [];

function fleetSupplier(manager: FakeFleetManager, name: string, transport = manager.transport()) {
  const supplier = new FleetSlotSupplier({
    fleet: 'fleet',
    slots: manager.leases.state.slots,
    transport,
    name,
    lingerMs: 60_000,
    minSyncIntervalMs: 0,
    now: () => Date.now(),
    logger: recordingLogger(),
  });
  suppliers.push(supplier);
  return supplier;
}

const settle = async (ms = 0) => {
  await vi.advanceTimersByTimeAsync(ms);
  await vi.advanceTimersByTimeAsync(0);
};

/** Every fleet series of `supplier` as the registry exports it, by metric key. */
async function fleetSeries(metrics: SlotwiseMetrics, supplier: string) {
  const out: Record<string, { fleet: string | number | undefined; value: number } | null> = {};
  for (const key of FLEET_KEYS) {
    const series = (await seriesOf(metrics.registry, metrics.nameOf(key))).filter(
      (s) => s.labels.supplier === supplier,
    );
    expect(series.length, key).toBeLessThanOrEqual(1);
    out[key] = series[0] ? { fleet: series[0].labels.fleet, value: series[0].value } : null;
  }
  return out;
}

const values = (series: Awaited<ReturnType<typeof fleetSeries>>) =>
  Object.fromEntries(Object.entries(series).map(([k, v]) => [k, v?.value ?? null]));

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});

afterEach(async () => {
  for (const supplier of suppliers.splice(0)) void supplier.close();
  await vi.runOnlyPendingTimersAsync();
  vi.useRealTimers();
});

describe('fleet metrics', () => {
  it('track() exports the fleet and this process (held, used, wanted, waiting) with a fleet label', async () => {
    const manager = new FakeFleetManager(3);
    const a = fleetSupplier(manager, 'fleet-a');
    const b = fleetSupplier(manager, 'fleet-b');
    const metrics = new SlotwiseMetrics({ registry: new Registry() });
    metrics.track(a);
    metrics.track(b);
    const aPermits = [0, 1, 2].map(() => track(a.reserveSlot(reserveCtx('q'), new AbortController().signal)));
    await settle();
    expect(aPermits.every((p) => p.settled())).toBe(true);
    // b waits for 2 leases the fleet has not got: the manager caps a to make room.
    void b.reserveSlot(reserveCtx('q'), new AbortController().signal);
    void b.reserveSlot(reserveCtx('q'), new AbortController().signal);
    await settle();

    const aSeries = await fleetSeries(metrics, 'fleet-a');
    expect(aSeries.fleetSlots?.fleet).toBe('fleet');
    expect(values(aSeries)).toEqual({
      fleetSlots: 3,
      fleetLeased: 3,
      fleetWaiting: manager.leases.waiting,
      fleetLeasesHeld: 3,
      fleetLeasesUsed: 3,
      fleetLeasesWanted: 0,
      fleetLeaseValid: 1,
      fleetLeasesExpiredTotal: 0,
      fleetLeasesOverdrawn: 0,
      fleetSyncErrorsTotal: 0,
    });
    expect(manager.leases.waiting).toBeGreaterThan(0);
    expect(values(await fleetSeries(metrics, 'fleet-b'))).toMatchObject({
      fleetSlots: 3,
      fleetLeasesHeld: 0,
      fleetLeasesUsed: 0,
      fleetLeasesWanted: 2,
      fleetLeaseValid: 1,
    });

    // a gives one back: b gets it; the series follow at the next scrape.
    a.releaseSlot({ permit: aPermits[1]!.value()! });
    await settle();
    expect(values(await fleetSeries(metrics, 'fleet-a'))).toMatchObject({
      fleetLeasesHeld: 2,
      fleetLeasesUsed: 2,
    });
    expect(values(await fleetSeries(metrics, 'fleet-b'))).toMatchObject({
      fleetLeasesHeld: 1,
      fleetLeasesUsed: 1,
      fleetLeasesWanted: 1,
    });
  });

  it('track() exports expired leases, overdrawn permits and sync errors of a process that cannot renew', async () => {
    const manager = new FakeFleetManager(3, 8_000);
    const supplier = fleetSupplier(manager, 'fleet-cut');
    const metrics = new SlotwiseMetrics({ registry: new Registry() });
    metrics.track(supplier);
    const permits = [track(supplier.reserveSlot(reserveCtx('q'), new AbortController().signal))];
    permits.push(track(supplier.reserveSlot(reserveCtx('q'), new AbortController().signal)));
    await settle();
    expect(permits.every((p) => p.settled())).toBe(true);
    supplier.releaseSlot({ permit: permits[1]!.value()! });
    manager.failWith = new Error('UNAVAILABLE: server down');
    manager.tick(2); // the long poll in flight answers; every later request fails
    await settle();
    await settle(6_000); // past the local deadline (ttl 8000 ms less one tick)

    const series = values(await fleetSeries(metrics, 'fleet-cut'));
    const snapshot = supplier.snapshot().fleet;
    expect(snapshot.valid).toBe(false);
    expect(series).toMatchObject({
      fleetLeaseValid: 0,
      fleetLeasesExpiredTotal: snapshot.expiredLeases,
      fleetLeasesOverdrawn: snapshot.overdrawn,
      fleetSyncErrorsTotal: snapshot.syncErrors,
    });
    // Both leases it held lapsed (one with a permit on it, one spare kept for the linger); the
    // manager has not taken them back yet, so no permit is out beyond the leases held.
    expect(snapshot.expiredLeases).toBe(2);
    expect(snapshot.overdrawn).toBe(0);
    expect(snapshot.syncErrors).toBeGreaterThan(0);
  });

  it('sampleFromMetrics() gives the live page the fleet rows of a fleet supplier, and none to others', async () => {
    const manager = new FakeFleetManager(4);
    const supplier = fleetSupplier(manager, 'fleet-page');
    const registry = new Registry();
    const metrics = new SlotwiseMetrics({ registry, prefix: 'x_' });
    metrics.track(supplier);
    const permit = track(supplier.reserveSlot(reserveCtx('q'), new AbortController().signal));
    await settle();
    expect(permit.settled()).toBe(true);
    const sample = sampleFromMetrics(await registry.getMetricsAsJSON(), 'x_', 1);
    expect(sample.suppliers.map((s) => [s.supplier, s.fleet])).toEqual([
      [
        'fleet-page',
        {
          fleet: 'fleet',
          slots: 4,
          leased: 1,
          waiting: 0,
          held: 1,
          used: 1,
          wanted: 0,
          valid: 1,
          expired: 0,
          overdrawn: 0,
          syncErrors: 0,
        },
      ],
    ]);
  });
});
