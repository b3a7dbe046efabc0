import { describe, expect, it, vi } from 'vitest';
import { FixedSlotSupplier } from '../../src/suppliers/fixed-slot-supplier.js';
import { flush, recordingLogger, reserveCtx, track } from '../helpers/fakes.js';
import { itRejectsOptions } from '../helpers/option-errors.js';

describe('FixedSlotSupplier', () => {
  itRejectsOptions(
    (options) => new FixedSlotSupplier(options),
    [
      [{ slots: 0 }, 'FixedSlotSupplier: expected `slots` to be an integer >= 1, got `0` (number).'],
      [{ slots: 2.5 }, 'FixedSlotSupplier: expected `slots` to be an integer >= 1, got `2.5` (number).'],
      [{ slots: '3' }, 'FixedSlotSupplier: expected `slots` to be an integer >= 1, got `"3"` (string).'],
      [{}, 'FixedSlotSupplier: expected `slots` to be an integer >= 1, got `undefined`.'],
      [
        { slot: 3 },
        'FixedSlotSupplier: unknown option `slot`. Did you mean `slots`? Known options: slots, name, logger, now, floors, ceilings, serves.',
      ],
      [
        { slots: 3, name: '' },
        'fixed: expected `name` to be a non-empty string of at most 100 characters, got `""` (string).',
      ],
      [undefined, 'FixedSlotSupplier: expected an options object, got `undefined`.'],
    ],
  );

  it('constructor() names instances per kind unless a name is given', () => {
    const a = new FixedSlotSupplier({ slots: 1 });
    const b = new FixedSlotSupplier({ slots: 1 });
    expect(a.name).toMatch(/^fixed-\d+$/);
    expect(Number(b.name.slice(6))).toBe(Number(a.name.slice(6)) + 1);
    expect(new FixedSlotSupplier({ slots: 1, name: 'gpu-jobs' }).name).toBe('gpu-jobs');
  });

  it('setSlots() grows capacity and lets waiters through at once', async () => {
    const supplier = new FixedSlotSupplier({ slots: 1 });
    await supplier.reserveSlot(reserveCtx(), new AbortController().signal);
    const waiters = [1, 2, 3].map(() =>
      track(supplier.reserveSlot(reserveCtx(), new AbortController().signal)),
    );
    supplier.setSlots(3);
    await flush();
    expect(waiters.map((w) => w.settled())).toEqual([true, true, false]);
    expect(supplier.snapshot()).toMatchObject({ capacity: 3, issued: 3, waiting: 1 });
  });

  it('setSlots() shrinks capacity without taking back permits in flight', async () => {
    const supplier = new FixedSlotSupplier({ slots: 3 });
    const permits = await Promise.all(
      [1, 2, 3].map(() => supplier.reserveSlot(reserveCtx(), new AbortController().signal)),
    );
    supplier.setSlots(1);
    expect(supplier.snapshot()).toMatchObject({ capacity: 1, issued: 3 });
    supplier.releaseSlot({ permit: permits[0]! });
    supplier.releaseSlot({ permit: permits[1]! });
    expect(supplier.tryReserveSlot(reserveCtx())).toBeNull();
    supplier.releaseSlot({ permit: permits[2]! });
    expect(supplier.tryReserveSlot(reserveCtx())).not.toBeNull();
    expect(() => supplier.setSlots(-1)).toThrow('expected `slots` to be an integer >= 1, got `-1` (number).');
  });

  it('reserveSlot() warns once when it serves workflow tasks with fewer than 2 slots', async () => {
    const logger = recordingLogger();
    const supplier = new FixedSlotSupplier({ slots: 1, logger });
    const permit = await supplier.reserveSlot(reserveCtx('q', 'workflow'), new AbortController().signal);
    supplier.releaseSlot({ permit });
    await supplier.reserveSlot(reserveCtx('q', 'workflow', true), new AbortController().signal);
    expect(logger.messages('warn')).toHaveLength(1);
    expect(logger.messages('warn')[0]).toContain('core needs at least 2 workflow slots');
  });

  it('releaseEarly() frees capacity at once and makes the later release from core a no-op', async () => {
    const supplier = new FixedSlotSupplier({ slots: 1 });
    const permit = await supplier.reserveSlot(reserveCtx(), new AbortController().signal);
    supplier.markSlotUsed({ permit, slotInfo: { type: 'activity', activityType: 'a' } });
    const next = track(supplier.reserveSlot(reserveCtx(), new AbortController().signal));
    expect(supplier.releaseEarly(permit)).toBe(true);
    expect(supplier.releaseEarly(permit)).toBe(false);
    await flush();
    expect(next.settled()).toBe(true);
    supplier.releaseSlot({ permit, slotInfo: { type: 'activity', activityType: 'a' } });
    expect(supplier.snapshot()).toMatchObject({ issued: 1, used: 0, errors: 0 });
  });
});

describe('option messages', () => {
  it('describeValue() shows NaN and Infinity as themselves', async () => {
    const { describeValue } = await import('../../src/describe-value.js');
    expect([describeValue(Number.NaN), describeValue(Number.POSITIVE_INFINITY)]).toEqual([
      '`NaN` (number)',
      '`Infinity` (number)',
    ]);
  });

  it('checkResourceOption() suggests a ratio only for whole percentages', async () => {
    const { checkResourceOption } = await import('../../src/suppliers/resource-supplier-options.js');
    expect(() => checkResourceOption('X', 'targetUtilization', 80)).toThrow(
      'X: expected `targetUtilization` to be a ratio in (0, 1], got `80` (number). Did you mean 0.8?',
    );
    expect(() => checkResourceOption('X', 'targetUtilization', 1.5)).toThrow(
      'X: expected `targetUtilization` to be a ratio in (0, 1], got `1.5` (number).',
    );
    expect(() => checkResourceOption('X', 'targetUtilization', 1.5)).not.toThrow('Did you mean');
  });
});

describe('workflow slots', () => {
  it('reserveSlot() keeps the last workflow slot for the poll kind (sticky or not) that has none', async () => {
    const supplier = new FixedSlotSupplier({ slots: 3, serves: ['workflow'] });
    const sticky = () =>
      supplier.reserveSlot(reserveCtx('q', 'workflow', true), new AbortController().signal);
    const normal = () =>
      supplier.reserveSlot(reserveCtx('q', 'workflow', false), new AbortController().signal);
    await sticky();
    await sticky();
    const third = track(sticky());
    const other = track(normal());
    await flush();
    // A third sticky poll would leave core no non-sticky slot: the non-sticky one, queued later, goes first.
    expect([third.settled(), other.settled()]).toEqual([false, true]);
    expect(supplier.snapshot()).toMatchObject({ issued: 3, waiting: 1 });
    expect(supplier.tryReserveSlot(reserveCtx('other-queue', 'workflow', true))).toBeNull();
  });

  it('tryReserveSlot() for a workflow poll reads the counts of its task queue, and walks no permit', () => {
    // Before: every workflow decision walked every live permit (1000 activity permits here) to count
    // the workflow permits of its task queue by kind.
    const supplier = new FixedSlotSupplier({ slots: 1003, floors: false });
    for (let i = 0; i < 1000; i++) expect(supplier.tryReserveSlot(reserveCtx())).not.toBeNull();
    const ledger = (supplier as unknown as { ledger: { records(): unknown } }).ledger;
    const walks = vi.spyOn(ledger, 'records');
    expect(supplier.tryReserveSlot(reserveCtx('q', 'workflow', true))).not.toBeNull();
    expect(supplier.tryReserveSlot(reserveCtx('q', 'workflow', false))).not.toBeNull();
    expect(supplier.tryReserveSlot(reserveCtx('q', 'workflow', true))).not.toBeNull();
    expect(walks).toHaveBeenCalledTimes(0);
    expect(supplier.snapshot()).toMatchObject({ issued: 1003 });
  });
});
