import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/parse-config.js';
import { taskCostSchema } from '../../src/config/schema.js';
import { CpuSlotSupplier } from '../../src/suppliers/cpu-slot-supplier.js';
import { COST_DIMENSIONS, checkTaskCosts } from '../../src/suppliers/task-cost.js';

/** Numbers at and around every rule's edges (sizes as strings are a config file's form only). */
const VALUES = [
  0,
  1,
  0.5,
  2.25,
  -0.5,
  -1,
  2 ** 53 - 1,
  2 ** 53,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  null,
  true,
];

const accepts = (check: () => unknown): boolean => {
  try {
    check();
    return true;
  } catch {
    return false;
  }
};

describe('checkTaskCosts()', () => {
  it.each(COST_DIMENSIONS)(
    'a constructor and the config file accept and refuse the same values of %s',
    (dimension) => {
      for (const value of VALUES) {
        const byConstructor = accepts(() =>
          checkTaskCosts('CpuSlotSupplier', { default: { [dimension]: value } }),
        );
        const config = taskCostSchema.safeParse({ [dimension]: value }).success;
        expect({ dimension, value, constructor: byConstructor }).toEqual({
          dimension,
          value,
          constructor: config,
        });
      }
    },
  );

  it('a constructor and the config file refuse a fractional number of bytes with the same words', () => {
    expect(() => new CpuSlotSupplier({ costs: { default: { memoryBytes: 0.5 } } })).toThrow(
      'CpuSlotSupplier: expected `costs.default.memoryBytes` to be a whole number of bytes >= 0, got `0.5` (number).',
    );
    expect(() =>
      parseConfig({ activity: { supplier: { type: 'cpu' }, costs: { default: { cpu: -1 } } } }),
    ).toThrow('activity.costs.default.cpu: expected a number of CPU cores >= 0, got -1');
    expect(() => new CpuSlotSupplier({ costs: { default: { cpu: -1 } } })).toThrow(
      'CpuSlotSupplier: expected `costs.default.cpu` to be a number of CPU cores >= 0, got `-1` (number).',
    );
  });
});
