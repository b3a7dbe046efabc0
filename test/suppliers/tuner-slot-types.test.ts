import { describe, expect, it } from 'vitest';
import { FixedSlotSupplier } from '../../src/suppliers/fixed-slot-supplier.js';
import { declareTunerSlotTypes } from '../../src/suppliers/tuner-slot-types.js';
import { slotwiseWorkerOptions } from '../../src/worker/slotwise-worker-options.js';
import { reserveCtx } from '../helpers/fakes.js';

/** Which groups a supplier keeps room for on queue `q` once an activity poll asked there. */
function keptOnQueue(supplier: FixedSlotSupplier): string[] {
  supplier.tryReserveSlot(reserveCtx('q', 'activity'));
  return supplier.snapshot().groups.map((g) => g.slotType);
}

describe('declareTunerSlotTypes()', () => {
  it('declareTunerSlotTypes() tells each slotwise supplier the slot types it serves in the tuner', () => {
    const shared = new FixedSlotSupplier({ slots: 10 });
    const workflows = new FixedSlotSupplier({ slots: 10 });
    declareTunerSlotTypes({
      workflowTaskSlotSupplier: workflows,
      activityTaskSlotSupplier: shared,
      localActivityTaskSlotSupplier: shared,
      nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
    });
    // Before any workflow or local activity asked, room is kept for the local activity floor.
    expect(keptOnQueue(shared)).toEqual(['activity', 'local-activity']);
    expect(keptOnQueue(new FixedSlotSupplier({ slots: 10 }))).toEqual(['activity']);
    workflows.tryReserveSlot(reserveCtx('q', 'workflow', true));
    expect(workflows.snapshot().groups.map((g) => g.slotType)).toEqual(['workflow']); // none for the others
  });

  it('slotwiseWorkerOptions() declares them for a hand-wired Worker', () => {
    const shared = new FixedSlotSupplier({ slots: 4 });
    slotwiseWorkerOptions({
      taskQueue: 'q',
      tuner: {
        workflowTaskSlotSupplier: shared,
        activityTaskSlotSupplier: shared,
        localActivityTaskSlotSupplier: shared,
        nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
      },
    });
    expect(keptOnQueue(shared)).toEqual(['activity', 'workflow', 'local-activity']);
    // Ten more activity polls would take the room of the workflow and local activity floors: none gets one.
    for (let i = 0; i < 10; i++) shared.tryReserveSlot(reserveCtx('q', 'activity'));
    expect(shared.snapshot()).toMatchObject({ issued: 1 });
  });

  it('declareTunerSlotTypes() ignores a missing tuner and suppliers that are not slotwise ones', () => {
    expect(() => declareTunerSlotTypes(undefined)).not.toThrow();
    expect(() =>
      declareTunerSlotTypes({
        workflowTaskSlotSupplier: { type: 'fixed-size', numSlots: 2 },
        activityTaskSlotSupplier: { type: 'fixed-size', numSlots: 2 },
        localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: 2 },
        nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 2 },
      }),
    ).not.toThrow();
  });
});
