import type { ActivitySlotInfo, SlotPermit, SlotSupplier } from '@temporalio/worker';
// Not part of the package's documented API: the function Worker.create converts a tuner with.
import { asNativeTuner } from '@temporalio/worker/lib/worker-tuner.js';
import { describe, expect, it } from 'vitest';
import type { LedgerSlotSupplier } from '../../src/suppliers/ledger-slot-supplier.js';
import type { SlotwisePermit } from '../../src/suppliers/types.js';
import {
  activityInfo,
  flush,
  type RecordingLogger,
  recordingLogger,
  reserveCtx,
  track,
} from '../helpers/fakes.js';

/** The public face of any slotwise supplier, whatever extra fields its permits carry. */
export type AnySupplier = Pick<
  LedgerSlotSupplier,
  'type' | 'name' | 'reserveSlot' | 'tryReserveSlot' | 'markSlotUsed' | 'releaseSlot' | 'snapshot'
>;

/** A custom supplier as the SDK wraps it before handing it to the native worker. */
interface SdkWrappedSupplier {
  type: string;
  reserveSlot(ctx: object, signal: AbortSignal): Promise<SlotPermit>;
  tryReserveSlot(ctx: object): SlotPermit | null;
  markSlotUsed(ctx: { permit: SlotPermit; slotInfo: ActivitySlotInfo }): void;
  releaseSlot(ctx: { permit: SlotPermit; slotInfo?: ActivitySlotInfo }): void;
}

/** Builds a supplier under test that admits exactly `capacity` permits at once. */
export type SupplierFactory = (capacity: number, logger: RecordingLogger) => AnySupplier;

/**
 * The contract every slotwise supplier keeps (Temporal's CustomSlotSupplier plus slotwise's own
 * guarantees). Every supplier joins this suite with a factory.
 */
export function describeSupplierContract(label: string, factory: SupplierFactory): void {
  describe(`${label} keeps the supplier contract`, () => {
    const make = (capacity: number) => {
      const logger = recordingLogger();
      return { supplier: factory(capacity, logger), logger };
    };
    const reserve = (s: AnySupplier, queue = 'q', signal = new AbortController().signal) =>
      s.reserveSlot(reserveCtx(queue), signal);

    it("is taken by Temporal's own tuner conversion as a custom supplier, and driven through it", async () => {
      const { supplier, logger } = make(1);
      // asNativeTuner is what Worker.create runs on a tuner: a supplier it does not recognise as
      // custom (by its runtime `type`) becomes a fixed-size one, and its methods are never called.
      const native = asNativeTuner(
        {
          workflowTaskSlotSupplier: { type: 'fixed-size', numSlots: 2 },
          activityTaskSlotSupplier: supplier as unknown as SlotSupplier<ActivitySlotInfo>,
          localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: 1 },
          nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 1 },
        },
        logger,
      );
      const wrapped = native.activityTaskSlotSupplier as unknown as SdkWrappedSupplier;
      expect(wrapped.type).toBe('custom');
      const ctx = { slotType: 'activity', taskQueue: 'q', workerIdentity: 'w', isSticky: false };
      const permit = await wrapped.reserveSlot(ctx, new AbortController().signal);
      expect(supplier.snapshot()).toMatchObject({ issued: 1, used: 0 });
      expect(wrapped.tryReserveSlot(ctx)).toBeNull();
      wrapped.markSlotUsed({ permit, slotInfo: activityInfo() });
      expect(supplier.snapshot()).toMatchObject({ issued: 1, used: 1 });
      wrapped.releaseSlot({ permit, slotInfo: activityInfo() });
      expect(supplier.snapshot()).toMatchObject({ issued: 0, used: 0, waiting: 0, errors: 0 });
      expect(logger.messages('error')).toEqual([]);
    });

    it('reserveSlot() resolves at once while capacity remains, then waits', async () => {
      const { supplier } = make(3);
      const permits = await Promise.all([reserve(supplier), reserve(supplier), reserve(supplier)]);
      expect(new Set(permits.map((p) => p.id)).size).toBe(3);
      const fourth = track(reserve(supplier));
      await flush();
      expect(fourth.settled()).toBe(false);
      expect(supplier.snapshot()).toMatchObject({ issued: 3, used: 0, waiting: 1 });
      supplier.releaseSlot({ permit: permits[0]! });
      await flush();
      expect(fourth.settled()).toBe(true);
      expect(supplier.snapshot()).toMatchObject({ issued: 3, used: 0, waiting: 0 });
    });

    it('tryReserveSlot() returns a permit while capacity remains and null at capacity, synchronously', () => {
      const { supplier } = make(2);
      const a = supplier.tryReserveSlot(reserveCtx());
      const b = supplier.tryReserveSlot(reserveCtx());
      expect(a).not.toBeNull();
      expect(b).not.toBeNull();
      expect(supplier.tryReserveSlot(reserveCtx())).toBeNull();
      expect(supplier.snapshot()).toMatchObject({ issued: 2, waiting: 0 });
      supplier.releaseSlot({ permit: a! });
      expect(supplier.tryReserveSlot(reserveCtx())).not.toBeNull();
      expect(supplier.snapshot()).toMatchObject({ issued: 2 });
    });

    it('tryReserveSlot() does not jump ahead of waiting reservations', async () => {
      const { supplier } = make(1);
      const held = await reserve(supplier);
      const waiter = track(reserve(supplier));
      supplier.releaseSlot({ permit: held });
      expect(supplier.tryReserveSlot(reserveCtx())).toBeNull();
      await flush();
      expect(waiter.value()).toBeDefined();
    });

    it('reserveSlot() rejects at once with the reason of an already-aborted signal', async () => {
      const { supplier } = make(1);
      const controller = new AbortController();
      controller.abort('Request Cancelled');
      await expect(reserve(supplier, 'q', controller.signal)).rejects.toBe('Request Cancelled');
      expect(supplier.snapshot()).toMatchObject({ issued: 0, waiting: 0 });
    });

    it('reserveSlot() removes an aborted waiter and rejects with signal.reason', async () => {
      const { supplier } = make(1);
      const held = await reserve(supplier);
      const controller = new AbortController();
      const waiting = reserve(supplier, 'q', controller.signal);
      expect(supplier.snapshot().waiting).toBe(1);
      controller.abort('Request Cancelled');
      await expect(waiting).rejects.toBe('Request Cancelled');
      expect(supplier.snapshot()).toMatchObject({ issued: 1, waiting: 0 });
      supplier.releaseSlot({ permit: held });
      expect(supplier.snapshot()).toMatchObject({ issued: 0, waiting: 0 });
    });

    it('reserveSlot() takes back a granted permit whose signal fires before it is used', async () => {
      const { supplier } = make(1);
      const controller = new AbortController();
      await reserve(supplier, 'q', controller.signal);
      expect(supplier.snapshot().issued).toBe(1);
      controller.abort('Request Cancelled');
      expect(supplier.snapshot()).toMatchObject({ issued: 0, waiting: 0 });
      expect(await reserve(supplier)).toBeDefined();
    });

    it('reserveSlot() takes back a permit granted from the queue when its signal then fires', async () => {
      const { supplier } = make(1);
      const held = await reserve(supplier);
      const controller = new AbortController();
      const waiting = reserve(supplier, 'q', controller.signal);
      supplier.releaseSlot({ permit: held });
      await waiting;
      controller.abort('Request Cancelled');
      expect(supplier.snapshot()).toMatchObject({ issued: 0, waiting: 0 });
    });

    it('reserveSlot() keeps a permit whose signal fires after it was marked used', async () => {
      const { supplier } = make(1);
      const controller = new AbortController();
      const permit = await reserve(supplier, 'q', controller.signal);
      supplier.markSlotUsed({ permit, slotInfo: activityInfo() });
      controller.abort('Request Cancelled');
      expect(supplier.snapshot()).toMatchObject({ issued: 1, used: 1 });
      supplier.releaseSlot({ permit, slotInfo: activityInfo() });
      expect(supplier.snapshot()).toMatchObject({ issued: 0, used: 0 });
    });

    it('markSlotUsed() and releaseSlot() count used and issued exactly', async () => {
      const { supplier } = make(2);
      const a = await reserve(supplier);
      const b = await reserve(supplier);
      supplier.markSlotUsed({ permit: a, slotInfo: activityInfo() });
      expect(supplier.snapshot()).toMatchObject({ issued: 2, used: 1, waiting: 0 });
      supplier.releaseSlot({ permit: b }); // released without ever being used (poll timed out)
      expect(supplier.snapshot()).toMatchObject({ issued: 1, used: 1 });
      supplier.releaseSlot({ permit: a, slotInfo: activityInfo() });
      expect(supplier.snapshot()).toMatchObject({ issued: 0, used: 0, errors: 0 });
    });

    it('releaseSlot() a second time is a no-op', async () => {
      const { supplier, logger } = make(2);
      const a = await reserve(supplier);
      await reserve(supplier);
      supplier.releaseSlot({ permit: a });
      supplier.releaseSlot({ permit: a });
      supplier.releaseSlot({ permit: a });
      expect(supplier.snapshot()).toMatchObject({ issued: 1, errors: 0 });
      expect(logger.messages('error')).toEqual([]);
    });

    it('markSlotUsed() and releaseSlot() never throw on bad input, and log and count it', () => {
      const { supplier, logger } = make(1);
      const foreign: SlotPermit = { id: 999_999 };
      const bad: unknown[] = [
        undefined,
        null,
        {},
        { permit: undefined },
        { permit: null },
        { permit: foreign },
        42,
      ];
      for (const ctx of bad) {
        expect(() => supplier.markSlotUsed(ctx as never)).not.toThrow();
        expect(() => supplier.releaseSlot(ctx as never)).not.toThrow();
      }
      expect(supplier.snapshot()).toMatchObject({ issued: 0, used: 0, errors: bad.length * 2 });
      expect(logger.messages('error')).toHaveLength(bad.length * 2);
      expect(logger.messages('error')[0]).toContain(`'${supplier.name}'`);
    });

    it('markSlotUsed() twice on one permit logs and leaves counts alone', async () => {
      const { supplier, logger } = make(1);
      const permit = await reserve(supplier);
      supplier.markSlotUsed({ permit, slotInfo: activityInfo() });
      supplier.markSlotUsed({ permit, slotInfo: activityInfo() });
      expect(supplier.snapshot()).toMatchObject({ issued: 1, used: 1, errors: 1 });
      expect(logger.messages('error')[0]).toContain('already used');
    });

    it('reserveSlot() with a malformed context rejects, logs, and does not throw synchronously', async () => {
      const { supplier } = make(1);
      let result: Promise<unknown> | undefined;
      expect(() => {
        result = supplier.reserveSlot(undefined as never, new AbortController().signal);
      }).not.toThrow();
      await expect(result).rejects.toThrow(/SlotReserveContext/);
      expect(supplier.snapshot()).toMatchObject({ issued: 0, errors: 1 });
    });

    it('reserveSlot() wakes waiters round-robin across (slotType, taskQueue), FIFO within each', async () => {
      const { supplier } = make(1);
      let current = await reserve(supplier, 'a');
      const order: string[] = [];
      const granted = new Map<string, SlotwisePermit>();
      const wait = (name: string, queue: string, slotType: 'activity' | 'workflow' = 'activity') =>
        supplier.reserveSlot(reserveCtx(queue, slotType), new AbortController().signal).then((permit) => {
          order.push(name);
          granted.set(name, permit);
        });
      for (const name of ['a1', 'a2', 'a3', 'a4']) void wait(name, 'a');
      for (const name of ['b1', 'b2']) void wait(name, 'b');
      void wait('wf-a', 'a', 'workflow');
      expect(supplier.snapshot().waiting).toBe(7);
      for (let i = 0; i < 7; i++) {
        supplier.releaseSlot({ permit: current });
        await flush();
        expect(order).toHaveLength(i + 1);
        current = granted.get(order[i]!)!;
      }
      expect(order).toEqual(['a1', 'b1', 'wf-a', 'a2', 'b2', 'a3', 'a4']);
      expect(supplier.snapshot()).toMatchObject({ issued: 1, waiting: 0 });
    });

    it('snapshot() reports name, capacity, issued, used, waiting and errors', () => {
      const { supplier } = make(2);
      const snapshot = supplier.snapshot();
      expect(Object.keys(snapshot).sort()).toEqual(
        expect.arrayContaining(['capacity', 'errors', 'issued', 'name', 'used', 'waiting']),
      );
      expect(snapshot).toMatchObject({ capacity: 2, issued: 0, used: 0, waiting: 0, errors: 0 });
      expect(typeof snapshot.name).toBe('string');
    });

    it('permits carry their id, supplier, slot type and task queue', async () => {
      const { supplier } = make(1);
      const permit = await supplier.reserveSlot(
        reserveCtx('jobs', 'local-activity'),
        new AbortController().signal,
      );
      expect(permit).toMatchObject({
        supplier: supplier.name,
        slotType: 'local-activity',
        taskQueue: 'jobs',
      });
      expect(Number.isInteger(permit.id)).toBe(true);
    });
  });
}
