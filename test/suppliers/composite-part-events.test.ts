import { describe, expect, it } from 'vitest';
import { SlotwiseMetrics } from '../../src/metrics/supplier-metrics.js';
import { CompositeSlotSupplier } from '../../src/suppliers/composite-slot-supplier.js';
import { FixedSlotSupplier } from '../../src/suppliers/fixed-slot-supplier.js';
import type { SupplierEvent } from '../../src/suppliers/types.js';
import { activityInfo, flush, recordingLogger, reserveCtx } from '../helpers/fakes.js';
import { seriesOf } from '../metrics/metric-values.js';

const describeEvent = (event: SupplierEvent): string =>
  event.type === 'reservation'
    ? `reservation ${event.result}`
    : event.type === 'release'
      ? `release ${event.reason}`
      : event.type;

function eventsOf(supplier: FixedSlotSupplier | CompositeSlotSupplier): string[] {
  const seen: string[] = [];
  supplier.subscribe((event) => seen.push(describeEvent(event)));
  return seen;
}

describe('a composite’s parts report only what core did', () => {
  it('tryReserveSlot() refused by the composite leaves no event on a part that admitted', () => {
    const wide = new FixedSlotSupplier({ slots: 3 });
    const narrow = new FixedSlotSupplier({ slots: 1 });
    const both = new CompositeSlotSupplier([wide, narrow]);
    const held = narrow.tryReserveSlot(reserveCtx());
    const wideEvents = eventsOf(wide);
    for (let i = 0; i < 5; i++) expect(both.tryReserveSlot(reserveCtx())).toBeNull();
    expect(wideEvents).toEqual([]);
    expect(wide.snapshot()).toMatchObject({ issued: 0 });
    narrow.releaseSlot({ permit: held! });
  });

  it('reserveSlot() waiting on a full part leaves no event on the other part while it is retried', async () => {
    const wide = new FixedSlotSupplier({ slots: 3 });
    const narrow = new FixedSlotSupplier({ slots: 1 });
    const both = new CompositeSlotSupplier([wide, narrow]);
    const first = await both.reserveSlot(reserveCtx(), new AbortController().signal);
    const wideEvents = eventsOf(wide);
    const waiting = both.reserveSlot(reserveCtx(), new AbortController().signal);
    // Each change in the wide part wakes the composite, which tries its parts again.
    for (let i = 0; i < 4; i++) wide.releaseSlot({ permit: wide.tryReserveSlot(reserveCtx())! });
    await flush();
    expect(wideEvents).toEqual([
      'reservation eager-granted',
      'release unused',
      'reservation eager-granted',
      'release unused',
      'reservation eager-granted',
      'release unused',
      'reservation eager-granted',
      'release unused',
    ]);
    both.releaseSlot({ permit: first });
    const second = await waiting;
    expect(wideEvents.slice(8)).toEqual(['release unused', 'reservation granted']);
    both.markSlotUsed({ permit: second, slotInfo: activityInfo() });
    both.releaseSlot({ permit: second, slotInfo: activityInfo() });
    expect(wideEvents.slice(10)).toEqual(['used', 'release normal']);
  });

  it('a part’s metrics count the grants core got through the composite, and no reclaims', async () => {
    const logger = recordingLogger();
    const wide = new FixedSlotSupplier({ slots: 3, name: 'wide' });
    const narrow = new FixedSlotSupplier({ slots: 1, name: 'narrow' });
    const both = new CompositeSlotSupplier([wide, narrow], { logger });
    const metrics = new SlotwiseMetrics();
    metrics.track(wide, { taskQueue: 'q' });
    const permit = both.tryReserveSlot(reserveCtx());
    for (let i = 0; i < 10; i++) both.tryReserveSlot(reserveCtx());
    both.releaseSlot({ permit: permit! });
    const series = async (name: string, label: string) =>
      Object.fromEntries(
        (await seriesOf(metrics.registry, name))
          .filter((s) => s.value > 0)
          .map((s) => [String(s.labels[label]), s.value]),
      );
    expect(await series('slotwise_reservations_total', 'result')).toEqual({ 'eager-granted': 1 });
    expect(await series('slotwise_releases_total', 'reason')).toEqual({ unused: 1 });
  });
});
