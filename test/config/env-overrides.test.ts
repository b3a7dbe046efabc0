import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.js';
import { applyEnvOverrides, SLOTWISE_OTHER_VARIABLES } from '../../src/config/env-overrides.js';
import { parseConfig } from '../../src/config/parse-config.js';

const file = {
  activity: {
    supplier: { type: 'composite', parts: [{ type: 'fixed', slots: 2 }, { type: 'memory' }] },
    costs: { activities: { renderVideo: { cpu: 1 } } },
  },
};

function rejection(data: unknown, env: NodeJS.ProcessEnv): string {
  try {
    parseConfig(data, { source: 'slotwise.yaml', env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error('expected a ConfigError');
}

describe('applyEnvOverrides', () => {
  it('applyEnvOverrides() maps SLOTWISE_A__B__C to a.b.c, parsing values as JSON when it can', () => {
    const { data, overrides, issues } = applyEnvOverrides(file, {
      SLOTWISE_ACTIVITY__SUPPLIER__PARTS__0__SLOTS: '8',
      SLOTWISE_ACTIVITY__SUPPLIER__PARTS__1__TARGET_UTILIZATION: '0.7',
      SLOTWISE_ACTIVITY__COSTS__ACTIVITIES__RENDERVIDEO__MEMORY_BYTES: '2GiB',
      SLOTWISE_LOCAL_ACTIVITY__SUPPLIER: '{"type":"fixed","slots":3}',
      SLOTWISE_TEMPORAL__ADDRESS: 'localhost:7233',
      SLOTWISE_METRICS__LISTEN: 'false',
      SLOTWISE_TEMPORAL__NAMESPACE: '"123"',
      SLOTWISE_CACHE_DIR: '/tmp/cache',
      PATH: '/usr/bin',
    });
    expect(issues).toEqual([]);
    expect(data).toEqual({
      activity: {
        supplier: {
          type: 'composite',
          parts: [
            { type: 'fixed', slots: 8 },
            { type: 'memory', targetUtilization: 0.7 },
          ],
        },
        costs: { activities: { renderVideo: { cpu: 1, memoryBytes: '2GiB' } } },
      },
      localActivity: { supplier: { type: 'fixed', slots: 3 } },
      temporal: { address: 'localhost:7233', namespace: '123' },
      metrics: { listen: false },
    });
    expect(overrides).toEqual([
      {
        variable: 'SLOTWISE_ACTIVITY__COSTS__ACTIVITIES__RENDERVIDEO__MEMORY_BYTES',
        path: ['activity', 'costs', 'activities', 'renderVideo', 'memoryBytes'],
        value: '2GiB',
      },
      {
        variable: 'SLOTWISE_ACTIVITY__SUPPLIER__PARTS__0__SLOTS',
        path: ['activity', 'supplier', 'parts', 0, 'slots'],
        value: 8,
      },
      {
        variable: 'SLOTWISE_ACTIVITY__SUPPLIER__PARTS__1__TARGET_UTILIZATION',
        path: ['activity', 'supplier', 'parts', 1, 'targetUtilization'],
        value: 0.7,
      },
      {
        variable: 'SLOTWISE_LOCAL_ACTIVITY__SUPPLIER',
        path: ['localActivity', 'supplier'],
        value: { type: 'fixed', slots: 3 },
      },
      { variable: 'SLOTWISE_METRICS__LISTEN', path: ['metrics', 'listen'], value: false },
      { variable: 'SLOTWISE_TEMPORAL__ADDRESS', path: ['temporal', 'address'], value: 'localhost:7233' },
      { variable: 'SLOTWISE_TEMPORAL__NAMESPACE', path: ['temporal', 'namespace'], value: '123' },
    ]);
    // The input is not changed.
    expect(file.activity.supplier.parts[0]).toEqual({ type: 'fixed', slots: 2 });
  });

  it('applyEnvOverrides() reports a path through a value that is not a mapping, an index out of range and an empty segment', () => {
    const { overrides, issues } = applyEnvOverrides(file, {
      SLOTWISE_ACTIVITY__SUPPLIER__TYPE__X: '1',
      SLOTWISE_ACTIVITY__SUPPLIER__PARTS__5__SLOTS: '1',
      SLOTWISE_ACTIVITY____SLOTS: '1',
    });
    expect(overrides).toEqual([]);
    expect(issues).toEqual([
      {
        path: 'activity.supplier.parts',
        variable: 'SLOTWISE_ACTIVITY__SUPPLIER__PARTS__5__SLOTS',
        message: 'expected a list index in [0, 2), got "5"',
      },
      {
        path: 'activity.supplier.type',
        variable: 'SLOTWISE_ACTIVITY__SUPPLIER__TYPE__X',
        message: 'cannot set activity.supplier.type.x: activity.supplier.type is "composite", not a mapping',
      },
      {
        path: '',
        variable: 'SLOTWISE_ACTIVITY____SLOTS',
        message:
          'expected a path of non-empty segments joined by "__", like SLOTWISE_ACTIVITY__SUPPLIER__SLOTS',
      },
    ]);
  });
});

describe('parseConfig with environment overrides', () => {
  it('parseConfig() applies SLOTWISE_* overrides on top of the data', () => {
    const config = parseConfig(file, {
      env: {
        SLOTWISE_ACTIVITY__SUPPLIER__PARTS__0__SLOTS: '8',
        SLOTWISE_TEMPORAL__ADDRESS: 'localhost:7233',
      },
    });
    expect(config.activity?.supplier).toEqual({
      type: 'composite',
      parts: [{ type: 'fixed', slots: 8 }, { type: 'memory' }],
    });
    expect(config.temporal).toEqual({ address: 'localhost:7233' });
  });

  it('parseConfig() names the variable of an override with an unknown path', () => {
    expect(rejection(file, { SLOTWISE_ACTIVITY__SUPPLIER__PARTS__0__SLOT: '8' })).toBe(
      'slotwise.yaml: SLOTWISE_ACTIVITY__SUPPLIER__PARTS__0__SLOT (activity.supplier.parts[0].slot): unknown key; did you mean `slots`? (expected one of: type, name, slots, floors, ceilings)',
    );
    expect(rejection(file, { SLOTWISE_ACTIVTY__SUPPLIER__SLOTS: '8' })).toBe(
      'slotwise.yaml: SLOTWISE_ACTIVTY__SUPPLIER__SLOTS (activty): unknown key; did you mean `activity`? (expected one of: sampler, suppliers, workflow, activity, localActivity, resourceBased, metrics, temporal)',
    );
  });

  it('parseConfig() names the variable of an override with an invalid value, and of one that cannot apply', () => {
    expect(
      rejection(file, {
        SLOTWISE_ACTIVITY__SUPPLIER__PARTS__1__TARGET_UTILIZATION: '80',
        SLOTWISE_ACTIVITY__SUPPLIER__TYPE__X: '1',
      }),
    ).toBe(
      [
        'slotwise.yaml: SLOTWISE_ACTIVITY__SUPPLIER__TYPE__X (activity.supplier.type): cannot set activity.supplier.type.x: activity.supplier.type is "composite", not a mapping',
        'slotwise.yaml: SLOTWISE_ACTIVITY__SUPPLIER__PARTS__1__TARGET_UTILIZATION (activity.supplier.parts[1].targetUtilization): expected a ratio in (0, 1], got 80. Did you mean 0.8?',
      ].join('\n'),
    );
  });

  it('parseConfig() names the variable that replaced a whole supplier for problems inside it', () => {
    expect(rejection({}, { SLOTWISE_WORKFLOW__SUPPLIER: '{"type":"fixed","slots":1}' })).toBe(
      'slotwise.yaml: SLOTWISE_WORKFLOW__SUPPLIER (workflow.supplier.slots): expected an integer >= 2, as it serves workflow tasks (core holds a sticky and a non-sticky workflow slot), got 1',
    );
  });

  it('parseConfig() refuses a single-segment SLOTWISE_FOO variable as an unknown key, naming it', () => {
    expect(rejection(file, { SLOTWISE_FOO: '1', SLOTWISE_CACHE_DIR: '/tmp/cache' })).toBe(
      'slotwise.yaml: SLOTWISE_FOO (foo): unknown key (expected one of: sampler, suppliers, workflow, activity, localActivity, resourceBased, metrics, temporal). Every SLOTWISE_* variable sets a config key, except SLOTWISE_CACHE_DIR',
    );
    expect(rejection(file, { SLOTWISE_ACTIVTY: '{}' })).toBe(
      'slotwise.yaml: SLOTWISE_ACTIVTY (activty): unknown key; did you mean `activity`? (expected one of: sampler, suppliers, workflow, activity, localActivity, resourceBased, metrics, temporal). Every SLOTWISE_* variable sets a config key, except SLOTWISE_CACHE_DIR',
    );
  });

  it('parseConfig() applies a single-segment variable naming a section, and ignores SLOTWISE_CACHE_DIR and SLOTWISE_CHROMIUM', () => {
    const config = parseConfig(file, {
      env: {
        SLOTWISE_METRICS: '{"listen":"127.0.0.1:9464"}',
        SLOTWISE_CACHE_DIR: '/tmp/cache',
        SLOTWISE_CHROMIUM: '/usr/bin/chromium',
      },
    });
    expect(config.metrics).toEqual({ listen: '127.0.0.1:9464' });
  });

  it("parseConfig() ignores the variables of slotwise's own test harness and scripts, and does not offer them to users", () => {
    const harness = {
      SLOTWISE_CHROMIUM: '/usr/bin/chromium',
      SLOTWISE_KEEP_CONSUMER: '1',
      SLOTWISE_REUSE_CONSUMER: '/tmp/consumer',
      SLOTWISE_SLOW_CHECK_MS: '800',
    };
    const config = parseConfig(file, { env: { ...harness, SLOTWISE_TEMPORAL__ADDRESS: 'localhost:7233' } });
    expect(config.temporal?.address).toBe('localhost:7233');
    const message = rejection(file, { ...harness, SLOTWISE_FOO: '1' });
    expect(message.split('\n')).toHaveLength(1);
    for (const name of Object.keys(harness)) expect(message).not.toContain(name);
    expect(SLOTWISE_OTHER_VARIABLES).toEqual(['SLOTWISE_CACHE_DIR']);
  });
});
