import { describe, expect, it } from 'vitest';
import { installedPackage, MODULE_FORMATS } from './installed-package.js';

interface FleetBudgetResult {
  ran: number;
  maxRunning: number;
  whileRunning: { slots: number; leased: number; holders: number[] };
  afterWorkers: { issued: number; used: number; errors: number };
  afterClose: { slots: number; leased: number; holders: number[] };
  returnedAll: boolean;
}

describe.each(MODULE_FORMATS)('FleetSlotSupplier from the installed package, loaded as %s', (format) => {
  it('two Workers share a fleet of 2 whose lease manager the supplier hosts itself; close() gives every lease back', async () => {
    const result = await installedPackage().runScenario<FleetBudgetResult>('fleet-budget.mjs', format);
    expect(result).toEqual({
      ran: 6,
      maxRunning: 2,
      // The Workers' idle pollers (4) hold a permit each while they poll: the fleet stays full.
      whileRunning: { slots: 2, leased: 2, holders: [2] },
      afterWorkers: { issued: 0, used: 0, errors: 0 },
      afterClose: { slots: 2, leased: 0, holders: [] },
      returnedAll: true,
    });
  });
});
