import { describe, expect, it } from 'vitest';
import { EAGER_STALL_CALLS, EagerRefusalWatch } from '../../src/suppliers/eager-refusal-watch.js';
import { FixedSlotSupplier } from '../../src/suppliers/fixed-slot-supplier.js';
import { recordingLogger, reserveCtx } from '../helpers/fakes.js';

describe('EagerRefusalWatch', () => {
  it('record() logs one error at the 128th refusal in a row, and no more', () => {
    const logger = recordingLogger();
    const watch = new EagerRefusalWatch('acts', logger);
    for (let i = 0; i < EAGER_STALL_CALLS - 1; i++) watch.record(false);
    expect(logger.messages('error')).toEqual([]);
    watch.record(false);
    expect(logger.messages('error')).toHaveLength(1);
    expect(logger.messages('error')[0]).toContain(
      "slotwise supplier 'acts' answered 128 eager activity reservations (tryReserveSlot) in a row with fewer than 3 permits",
    );
    expect(logger.messages('error')[0]).toContain('maxEagerActivityReservationsPerWorkflowTask: 0');
    for (let i = 0; i < 300; i++) watch.record(false);
    expect(logger.messages('error')).toHaveLength(1);
  });

  it('record() counts a run with up to 2 grants in it, as one stalled workflow task makes', () => {
    const logger = recordingLogger();
    const watch = new EagerRefusalWatch('acts', logger);
    watch.record(true);
    watch.record(true);
    for (let i = 0; i < 125; i++) watch.record(false);
    expect(watch.callsInARow).toBe(127);
    expect(logger.messages('error')).toEqual([]);
    watch.record(false);
    expect(logger.messages('error')).toHaveLength(1);
  });

  it('record() starts over after the third grant: core stops asking a workflow task then', () => {
    const logger = recordingLogger();
    const watch = new EagerRefusalWatch('acts', logger);
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 50; i++) watch.record(false);
      watch.record(true);
      watch.record(true);
      watch.record(true);
    }
    expect(watch.callsInARow).toBe(0);
    for (let i = 0; i < 127; i++) watch.record(false);
    expect(logger.messages('error')).toEqual([]);
  });
});

describe('the eager refusal run on a supplier', () => {
  it('tryReserveSlot() for activities logs the stall error once at 128 refusals, answering null each time', () => {
    const logger = recordingLogger();
    const supplier = new FixedSlotSupplier({ slots: 1, logger });
    expect(supplier.tryReserveSlot(reserveCtx('q', 'activity'))).not.toBeNull();
    const answers = Array.from({ length: 200 }, () => supplier.tryReserveSlot(reserveCtx('q', 'activity')));
    expect(answers.every((answer) => answer === null)).toBe(true);
    expect(logger.messages('error')).toHaveLength(1);
    expect(logger.messages('error')[0]).toContain('answered 128 eager activity reservations');
    expect(supplier.snapshot()).toMatchObject({ issued: 1, errors: 0 });
  });

  it('tryReserveSlot() for workflow and local-activity slots is not counted', () => {
    const logger = recordingLogger();
    const supplier = new FixedSlotSupplier({ slots: 1, logger });
    supplier.tryReserveSlot(reserveCtx('q', 'local-activity'));
    for (let i = 0; i < 200; i++) {
      supplier.tryReserveSlot(reserveCtx('q', 'local-activity'));
      supplier.tryReserveSlot(reserveCtx('q', 'workflow'));
    }
    expect(logger.messages('error')).toEqual([]);
  });
});
