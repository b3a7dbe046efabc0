import { describe, expect, it } from 'vitest';
import { installedPackage, MODULE_FORMATS } from './installed-package.js';

interface SlotView {
  supplier: string;
  permitId: number;
  releasedEarly: boolean;
}

interface ManualReleaseResult {
  results: [
    {
      order: 0;
      slot: SlotView | null;
      released: boolean;
      releasedAgain: boolean;
      secondRan: boolean;
      slotAfterRelease: SlotView | null;
    },
    { order: 1; slot: SlotView | null },
  ];
  snapshot: { issued: number; used: number; waiting: number; errors: number };
}

interface CapacityEvictionResult {
  quickResult: string[];
  waiterResult: string;
  events: Array<[string, string]>;
  attempts: number[];
  startedFrom: number[];
  evictedAt: number[];
  evictionSeries: string[];
  snapshot: { issued: number; used: number; waiting: number; errors: number };
}

describe.each(MODULE_FORMATS)('the installed package, loaded as %s', (format) => {
  it('releaseSlot() lets a second activity start on a 1-slot FixedSlotSupplier while the first runs; currentSlot() returns the permit', async () => {
    const { results, snapshot } = await installedPackage().runScenario<ManualReleaseResult>(
      'manual-release.mjs',
      format,
    );
    const [first, second] = results;
    expect(first).toEqual({
      order: 0,
      slot: { supplier: 'one-slot', permitId: expect.any(Number), releasedEarly: false },
      released: true,
      releasedAgain: false,
      secondRan: true,
      slotAfterRelease: { supplier: 'one-slot', permitId: first.slot?.permitId, releasedEarly: true },
    });
    expect(second).toEqual({
      order: 1,
      slot: { supplier: 'one-slot', permitId: expect.any(Number), releasedEarly: false },
    });
    expect(second.slot?.permitId).not.toBe(first.slot?.permitId);
    expect(snapshot).toMatchObject({ issued: 0, used: 0, waiting: 0, errors: 0 });
  });

  it('evictableWait() is evicted for capacity when new work arrives, resumes on its signal from its last checkpoint, and the eviction is counted in slotwise_evictions_total', async () => {
    const result = await installedPackage().runScenario<CapacityEvictionResult>(
      'capacity-eviction.mjs',
      format,
    );
    expect(result.evictedAt).toHaveLength(1);
    expect(result.evictedAt[0]).toBeGreaterThan(0);
    expect(result).toEqual({
      quickResult: ['quick 0'],
      waiterResult: 'waiter done',
      events: [['capacity', 'evictable-slot']],
      // proxyEvictableActivities ends an evicted call and makes a new one: no server retry, no attempt used.
      attempts: [1, 1],
      startedFrom: [0, result.evictedAt[0]],
      evictedAt: [expect.any(Number)],
      evictionSeries: [expect.stringMatching(/supplier="evictable-slot",reason="capacity"\} 1$/)],
      snapshot: expect.objectContaining({ issued: 0, used: 0, waiting: 0, errors: 0 }),
    });
  });
});

interface WithSlotwiseResult {
  completed: number;
  mostAtOnce: number;
  eagerReservations: number;
  taskQueueFromConfig: boolean;
  snapshot: { issued: number; used: number; waiting: number; errors: number };
}

describe('withSlotwise() from the installed package', () => {
  it('withSlotwise() connects from the config and completes one workflow task of 200 activities on 2 slots under default eager dispatch', async () => {
    const result = await installedPackage().runScenario<WithSlotwiseResult>(
      'with-slotwise.mjs',
      'cjs',
      { activities: 200 },
      { timeoutMs: 300_000 },
    );
    expect(result).toEqual({
      completed: 200,
      mostAtOnce: 2,
      eagerReservations: 0,
      taskQueueFromConfig: true,
      snapshot: expect.objectContaining({ issued: 0, used: 0, waiting: 0, errors: 0 }),
    });
  }, 320_000);
});
