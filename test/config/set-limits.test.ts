import { describe, expect, it } from 'vitest';
import { SlotwiseOptionsError } from '../../src/errors.js';
import { MemorySlotSupplier } from '../../src/suppliers/memory-slot-supplier.js';
import { flush } from '../helpers/fakes.js';
import { GiB } from '../suppliers/fixtures/fake-sampler.js';
import { burst, grantedOf, resourceSupplierSetup } from '../suppliers/fixtures/resource-supplier-setup.js';

// ResourceSlotSupplier.setLimits() is what config hot reload calls on cpu, memory and gpu suppliers.

const { make: memorySupplier } = resourceSupplierSetup(MemorySlotSupplier, 'memory', {
  minSlots: 1,
  rampThrottleMs: 0,
  targetUtilization: 0.75,
  costs: { default: { memoryBytes: GiB / 2 } },
});

const granted = (reservations: ReturnType<typeof burst>) => grantedOf(reservations).length;

describe('ResourceSlotSupplier.setLimits', () => {
  it('setLimits() raises targetUtilization live: waiting reservations are granted at once', async () => {
    const { supplier, sampler } = memorySupplier();
    sampler.memoryUsed(GiB, 4 * GiB);
    const reservations = burst(supplier, 10);
    await flush();
    // 1 GiB used + 0.5 GiB per permit under 0.75 x 4 GiB: 4 permits.
    expect(granted(reservations)).toBe(4);
    supplier.setLimits({ targetUtilization: 1 });
    await flush();
    // Under 4 GiB: 1 + 6 x 0.5 = 4.
    expect(granted(reservations)).toBe(6);
    expect(supplier.limits).toEqual({ minSlots: 1, maxSlots: 1000, targetUtilization: 1 });
    expect(supplier.snapshot()).toMatchObject({ issued: 6, waiting: 4, capacity: 6 });
  });

  it('setLimits() lowers maxSlots without taking back permits in flight', async () => {
    const { supplier, sampler } = memorySupplier();
    sampler.memoryUsed(GiB, 4 * GiB);
    const reservations = burst(supplier, 6);
    await flush();
    expect(granted(reservations)).toBe(4);
    supplier.setLimits({ maxSlots: 2 });
    expect(supplier.snapshot()).toMatchObject({ issued: 4, waiting: 2, capacity: 2 });
    const permits = reservations.filter((r) => r.settled()).map((r) => r.value());
    supplier.releaseSlot({ permit: permits[0]! });
    supplier.releaseSlot({ permit: permits[1]! });
    await flush();
    expect(supplier.snapshot()).toMatchObject({ issued: 2, waiting: 2 });
    supplier.releaseSlot({ permit: permits[2]! });
    await flush();
    expect(supplier.snapshot()).toMatchObject({ issued: 2, waiting: 1 });
  });

  it.each([
    [{ maxSlots: 0 }, 'MemorySlotSupplier: expected `maxSlots` to be an integer >= 1, got `0` (number).'],
    [
      { minSlots: 5, maxSlots: 3 },
      'MemorySlotSupplier: expected `maxSlots` to be an integer >= minSlots (5), got `3` (number).',
    ],
    [
      { targetUtilization: 80 },
      'MemorySlotSupplier: expected `targetUtilization` to be a ratio in (0, 1], got `80` (number). Did you mean 0.8?',
    ],
    [
      { targetUtilization: 0.05 },
      'MemorySlotSupplier: expected `targetUtilization` to be a ratio above hysteresis (0.05), got `0.05` (number).',
    ],
    [{ hysteresis: 0.1 }, 'MemorySlotSupplier: unknown option `hysteresis`.'],
  ])('setLimits() rejects %j and changes nothing', (limits, message) => {
    const { supplier } = memorySupplier();
    expect(() => supplier.setLimits(limits as never)).toThrow(SlotwiseOptionsError);
    expect(() => supplier.setLimits(limits as never)).toThrow(message);
    expect(supplier.limits).toEqual({ minSlots: 1, maxSlots: 1000, targetUtilization: 0.75 });
  });
});
