import { describe, expect, it } from 'vitest';
import { buildTuner } from '../../src/config/build-tuner.js';
import { ConfigError } from '../../src/config/config-error.js';
import { effectiveConfig } from '../../src/config/effective-config.js';
import { parseConfig } from '../../src/config/parse-config.js';
import { FleetSlotSupplier } from '../../src/fleet/fleet-slot-supplier.js';
import type { FleetTransport } from '../../src/fleet/fleet-transport.js';

/** A transport the constructor accepts; the tests here never reach it. */
const fakeTransport = {
  sync: () => Promise.reject(new Error('not reached')),
  setSlots: () => Promise.resolve(),
} as unknown as FleetTransport;

/** The message of the ConfigError `data` is rejected with (source `slotwise.yaml`). */
function rejection(data: unknown): string {
  try {
    parseConfig(data, { source: 'slotwise.yaml' });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error('expected a ConfigError');
}

describe('type: fleet in a config', () => {
  it('effectiveConfig() fills in the fleet defaults', () => {
    const effective = effectiveConfig(
      parseConfig({ activity: { supplier: { type: 'fleet', fleet: 'licensed-api', slots: 40 } } }),
    );
    expect(effective.activity).toEqual({
      type: 'fleet',
      path: 'activity.supplier',
      name: 'activity',
      shared: false,
      fleet: 'licensed-api',
      slots: 40,
      leaseTtlMs: 30_000,
      lingerMs: 1_000,
      managerTaskQueue: 'slotwise-fleet',
      floors: { workflow: 0, activity: 0, localActivity: 0 },
      ceilings: { workflow: null, activity: null, localActivity: null },
      defaults: ['name', 'leaseTtlMs', 'lingerMs', 'managerTaskQueue'],
    });
  });

  it('parseConfig() accepts a fleet as a composite part and as a shared supplier', () => {
    const effective = effectiveConfig(
      parseConfig({
        suppliers: { render: { type: 'fleet', fleet: 'render-farm', slots: 8, leaseTtlMs: 10_000 } },
        activity: { supplier: { type: 'composite', parts: [{ type: 'cpu' }, 'render'] } },
        localActivity: { supplier: { type: 'fleet', fleet: 'db', slots: 5, lingerMs: 0 } },
      }),
    );
    expect(effective.shared.render).toMatchObject({
      type: 'fleet',
      fleet: 'render-farm',
      leaseTtlMs: 10_000,
    });
    expect(effective.localActivity).toMatchObject({ type: 'fleet', fleet: 'db', lingerMs: 0 });
  });

  it('parseConfig() names every bad fleet setting with its path', () => {
    expect(
      rejection({
        activity: {
          supplier: { type: 'fleet', fleet: '', slots: 0, leaseTtlMs: 100, lingerMs: -1, queue: 'x' },
        },
      }).split('\n'),
    ).toEqual([
      'slotwise.yaml: activity.supplier.fleet: expected a non-empty string of at most 200 characters, got ""',
      'slotwise.yaml: activity.supplier.slots: expected an integer in [1, 1000000], got 0',
      'slotwise.yaml: activity.supplier.leaseTtlMs: expected a whole number of milliseconds in [800, 2147483647], got 100',
      'slotwise.yaml: activity.supplier.lingerMs: expected a whole number of milliseconds in [0, 2147483647], got -1',
      'slotwise.yaml: activity.supplier.queue: unknown key (expected one of: type, name, fleet, slots, leaseTtlMs, lingerMs, managerTaskQueue)',
    ]);
  });

  it('parseConfig() refuses what the FleetSlotSupplier refuses: a blank fleet, a fleet above 1000000 slots, a blank task queue', () => {
    expect(
      rejection({
        activity: {
          supplier: { type: 'fleet', fleet: '  ', slots: 1_000_001, managerTaskQueue: ' ' },
        },
      }).split('\n'),
    ).toEqual([
      'slotwise.yaml: activity.supplier.fleet: expected a non-empty string of at most 200 characters, got "  "',
      'slotwise.yaml: activity.supplier.slots: expected an integer in [1, 1000000], got 1000001',
      'slotwise.yaml: activity.supplier.managerTaskQueue: expected a non-empty string of at most 1000 characters, got " "',
    ]);
    expect(() => new FleetSlotSupplier({ fleet: 'f', slots: 1_000_001, transport: fakeTransport })).toThrow(
      'FleetSlotSupplier: expected `slots` to be an integer in [1, 1000000], got `1000001` (number).',
    );
  });

  it('parseConfig() refuses lease and linger times a Node timer cannot hold', () => {
    expect(
      rejection({
        activity: {
          supplier: { type: 'fleet', fleet: 'f', slots: 1, leaseTtlMs: 2_147_483_648, lingerMs: 2 ** 40 },
        },
      }).split('\n'),
    ).toEqual([
      'slotwise.yaml: activity.supplier.leaseTtlMs: expected a whole number of milliseconds in [800, 2147483647], got 2147483648',
      'slotwise.yaml: activity.supplier.lingerMs: expected a whole number of milliseconds in [0, 2147483647], got 1099511627776',
    ]);
  });

  it('parseConfig() rejects a fleet budget for workflow tasks', () => {
    expect(rejection({ workflow: { supplier: { type: 'fleet', fleet: 'f', slots: 10 } } })).toBe(
      'slotwise.yaml: workflow.supplier.type: expected a supplier without a fleet budget for workflow tasks, got "fleet": a workflow task that waits for a lease of a fleet can stall the Worker; use fleet suppliers for activities',
    );
  });

  it('buildTuner() without a connection says how to give it one', () => {
    expect(() => buildTuner({ activity: { supplier: { type: 'fleet', fleet: 'f', slots: 2 } } })).toThrow(
      'config: activity.supplier: a fleet supplier needs a Temporal connection: buildTuner(config, { fleet: { connection } }) with the NativeConnection of your Workers (withSlotwise() and `slotwise worker` pass theirs)',
    );
  });
});
