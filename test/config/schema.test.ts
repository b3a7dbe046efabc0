import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.js';
import { type EffectiveSupplier, effectiveConfig } from '../../src/config/effective-config.js';
import { parseListenAddress } from '../../src/config/listen-address.js';
import { parseConfig } from '../../src/config/parse-config.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

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

const activity = (supplier: unknown, extra: object = {}) => ({ activity: { supplier, ...extra } });
const line = (path: string, message: string) => `slotwise.yaml: ${path}: ${message}`;

describe('slotwise config schema', () => {
  it('parseConfig() accepts every supplier type and converts sizes to bytes', () => {
    const config = parseConfig({
      $schema: './schema/slotwise.schema.json',
      sampler: { intervalMs: 200, gpuIntervalMs: 2000, memory: { scope: 'host', limitBytes: '8GiB' } },
      suppliers: { gpus: { type: 'gpu', slotsPerDevice: 2 } },
      workflow: { supplier: { type: 'temporal-fixed-size', numSlots: 20 } },
      activity: {
        supplier: {
          type: 'composite',
          name: 'acts',
          parts: [
            { type: 'fixed', slots: 8 },
            { type: 'cpu', targetUtilization: 0.9 },
            { type: 'memory' },
            'gpus',
          ],
        },
        costs: {
          default: { memoryBytes: '512MiB', cpu: 0.5 },
          activities: { render: { memoryBytes: '1.5 GiB', gpus: 0.5, gpuMemoryBytes: '100MB' } },
        },
      },
      localActivity: {
        supplier: { type: 'temporal-resource-based', targetCpuUsage: 0.8, targetMemoryUsage: 0.7 },
      },
      metrics: { listen: '0.0.0.0:9464' },
      temporal: { address: 'localhost:7233', namespace: 'default', taskQueue: 'q' },
    });
    expect(config.sampler?.memory?.limitBytes).toBe(8 * GiB);
    expect(config.activity?.costs).toEqual({
      default: { memoryBytes: 512 * MiB, cpu: 0.5 },
      activities: { render: { memoryBytes: 1.5 * GiB, gpus: 0.5, gpuMemoryBytes: 100_000_000 } },
    });
    expect(config.metrics).toEqual({ listen: '0.0.0.0:9464' });
    // A parsed config is valid input again (buildTuner re-validates what it is given).
    expect(parseConfig(config)).toEqual(config);
  });

  it('parseConfig() accepts an empty mapping: Temporal defaults everywhere', () => {
    expect(parseConfig({})).toEqual({});
  });

  it.each([
    [
      activity({ type: 'cpu', targetUtilization: 80 }),
      line('activity.supplier.targetUtilization', 'expected a ratio in (0, 1], got 80. Did you mean 0.8?'),
    ],
    [
      activity({ type: 'memory', targetUtilization: 0 }),
      line('activity.supplier.targetUtilization', 'expected a ratio in (0, 1], got 0'),
    ],
    [
      activity({ type: 'gpu', targetUtilization: '80%' }),
      line('activity.supplier.targetUtilization', 'expected a ratio in (0, 1], got "80%"'),
    ],
    [
      activity({ type: 'temporal-resource-based', targetCpuUsage: 90, targetMemoryUsage: 0.8 }),
      line('activity.supplier.targetCpuUsage', 'expected a ratio in (0, 1], got 90. Did you mean 0.9?'),
    ],
    [
      activity({ type: 'temporal-resource-based', targetCpuUsage: 0.8 }),
      line('activity.supplier.targetMemoryUsage', 'expected a ratio in (0, 1], but it is missing'),
    ],
    [
      activity({ type: 'cpu', hysteresis: 1 }),
      line('activity.supplier.hysteresis', 'expected a ratio in [0, 1), got 1'),
    ],
  ])('parseConfig() rejects a ratio out of range: %j', (data, message) => {
    expect(rejection(data)).toBe(message);
  });

  it.each([
    [
      { activty: {} },
      line(
        'activty',
        'unknown key; did you mean `activity`? (expected one of: sampler, suppliers, workflow, activity, localActivity, resourceBased, metrics, temporal)',
      ),
    ],
    [
      activity({ type: 'fixed', slot: 4 }),
      `${line('activity.supplier.slots', 'expected an integer >= 1, but it is missing')}\n${line('activity.supplier.slot', 'unknown key; did you mean `slots`? (expected one of: type, name, slots, floors, ceilings)')}`,
    ],
    [
      activity({ type: 'memory', limitBytes: '2GiB' }),
      line(
        'activity.supplier.limitBytes',
        'unknown key: set it once for all memory suppliers as sampler.memory.limitBytes',
      ),
    ],
    [
      activity({ type: 'cpu', sampleIntervalMs: 50 }),
      line(
        'activity.supplier.sampleIntervalMs',
        'unknown key: one sampler serves every supplier: set sampler.intervalMs (or sampler.gpuIntervalMs)',
      ),
    ],
    [
      activity({ type: 'fixed', slots: 2, costs: {} }),
      line(
        'activity.supplier.costs',
        'unknown key: only cpu, memory and gpu suppliers (and slot types) have `costs`',
      ),
    ],
    [
      { sampler: { interval: 100 } },
      line(
        'sampler.interval',
        'unknown key; did you mean `intervalMs`? (expected one of: intervalMs, gpuIntervalMs, memory, gpu)',
      ),
    ],
    [
      activity({ type: 'fixed', slots: 2 }, { costs: { default: { cores: 1 } } }),
      line(
        'activity.costs.default.cores',
        'unknown key (expected one of: cpu, memoryBytes, gpus, gpuMemoryBytes, heapBytes)',
      ),
    ],
  ])('parseConfig() rejects an unknown key: %j', (data, message) => {
    expect(rejection(data)).toBe(message);
  });

  it.each([
    [
      activity({ type: 'cpux' }),
      line(
        'activity.supplier.type',
        'expected one of fixed, cpu, memory, gpu, heap, fleet, composite, temporal-fixed-size, temporal-resource-based, got "cpux"',
      ),
    ],
    [
      activity({ slots: 2 }),
      line(
        'activity.supplier.type',
        'expected one of fixed, cpu, memory, gpu, heap, fleet, composite, temporal-fixed-size, temporal-resource-based, but it is missing',
      ),
    ],
    [
      activity(5),
      line(
        'activity.supplier',
        'expected a supplier: a mapping with `type` (fixed, cpu, memory, gpu, heap, fleet, composite, temporal-fixed-size, temporal-resource-based) or the name of a shared supplier, got 5',
      ),
    ],
    [
      { activity: {} },
      line(
        'activity.supplier',
        'expected a supplier: a mapping with `type` (fixed, cpu, memory, gpu, heap, fleet, composite, temporal-fixed-size, temporal-resource-based) or the name of a shared supplier, but it is missing',
      ),
    ],
    [{ activity: 'fixed' }, line('activity', 'expected a mapping, got "fixed"')],
    [
      activity({ type: 'composite', parts: [{ type: 'temporal-fixed-size', numSlots: 4 }] }),
      line(
        'activity.supplier.parts[0].type',
        'expected one of fixed, cpu, memory, gpu, heap, fleet, composite, got "temporal-fixed-size". Temporal\'s own suppliers can only be the supplier of a slot type, not a composite part or a shared supplier.',
      ),
    ],
    [
      activity({ type: 'composite', parts: [] }),
      line('activity.supplier.parts', 'expected a non-empty list of suppliers, got []'),
    ],
    [
      activity({ type: 'composite', parts: [{ type: 'composite', parts: [{ type: 'fixed', slots: 0 }] }] }),
      line('activity.supplier.parts[0].parts[0].slots', 'expected an integer >= 1, got 0'),
    ],
  ])('parseConfig() rejects a malformed supplier: %j', (data, message) => {
    expect(rejection(data)).toBe(message);
  });

  it.each([
    [
      activity({ type: 'fixed', slots: 0 }),
      line('activity.supplier.slots', 'expected an integer >= 1, got 0'),
    ],
    [
      activity({ type: 'fixed', slots: 1.5 }),
      line('activity.supplier.slots', 'expected an integer >= 1, got 1.5'),
    ],
    [
      activity({ type: 'fixed', slots: '4' }),
      line('activity.supplier.slots', 'expected an integer >= 1, got "4"'),
    ],
    [
      activity({ type: 'cpu', minSlots: -1 }),
      line('activity.supplier.minSlots', 'expected an integer >= 0, got -1'),
    ],
    [
      activity({ type: 'cpu', rampThrottleMs: -5 }),
      line(
        'activity.supplier.rampThrottleMs',
        'expected a whole number of milliseconds in [0, 2147483647], got -5',
      ),
    ],
    [
      activity({ type: 'gpu', slotsPerDevice: 0 }),
      line('activity.supplier.slotsPerDevice', 'expected an integer >= 1, got 0'),
    ],
    [
      activity({ type: 'temporal-fixed-size', numSlots: 0 }),
      line('activity.supplier.numSlots', 'expected an integer >= 1, got 0'),
    ],
    [
      { sampler: { intervalMs: 0 } },
      line('sampler.intervalMs', 'expected a whole number of milliseconds in [1, 2147483647], got 0'),
    ],
    [
      activity({ type: 'fixed', name: '' }),
      `${line('activity.supplier.name', 'expected a non-empty name, got ""')}\n${line('activity.supplier.slots', 'expected an integer >= 1, but it is missing')}`,
    ],
    [
      { sampler: { intervalMs: 1e12 } },
      line(
        'sampler.intervalMs',
        'expected a whole number of milliseconds in [1, 2147483647], got 1000000000000',
      ),
    ],
    [
      activity({ type: 'cpu', rampThrottleMs: 2 ** 31 }),
      line(
        'activity.supplier.rampThrottleMs',
        'expected a whole number of milliseconds in [0, 2147483647], got 2147483648',
      ),
    ],
    [
      activity({ type: 'fixed', slots: 2, name: '   ' }),
      line('activity.supplier.name', 'expected a name that is not blank, got "   "'),
    ],
    [
      { suppliers: { ' ': { type: 'fixed', slots: 2 } } },
      line('suppliers[" "]', 'expected a name that is not blank, got " "'),
    ],
    [
      activity({ type: 'composite', name: 'x'.repeat(97), parts: [{ type: 'fixed', slots: 2 }] }),
      line(
        'activity.supplier.parts[0]',
        `expected a name of at most 100 characters, but the default name of this part, "${'x'.repeat(56)}..., has 103: give it a shorter \`name\``,
      ),
    ],
  ])('parseConfig() rejects a bad number: %j', (data, message) => {
    expect(rejection(data)).toBe(message);
  });

  it.each([
    [
      activity({ type: 'memory' }, { costs: { default: { memoryBytes: '2 gigs' } } }),
      line(
        'activity.costs.default.memoryBytes',
        'expected a size: a number of bytes or a string like "512MiB" or "2GiB", got "2 gigs"',
      ),
    ],
    [
      activity({ type: 'memory' }, { costs: { default: { memoryBytes: -1 } } }),
      line(
        'activity.costs.default.memoryBytes',
        'expected a size: a number of bytes or a string like "512MiB" or "2GiB", got -1',
      ),
    ],
    [
      activity({ type: 'memory' }, { costs: { activities: { render: { cpu: -1 } } } }),
      line('activity.costs.activities.render.cpu', 'expected a number of CPU cores >= 0, got -1'),
    ],
    [
      activity({ type: 'memory' }, { costs: { activities: [] } }),
      line('activity.costs.activities', 'expected a mapping of activity type to cost, got []'),
    ],
    [
      { sampler: { memory: { limitBytes: '0MiB' } } },
      line('sampler.memory.limitBytes', 'expected a size of at least 1 byte, got "0MiB"'),
    ],
    [
      { sampler: { memory: { limitBytes: '0.5 B' } } },
      line('sampler.memory.limitBytes', 'expected a size of at least 1 byte, got "0.5 B"'),
    ],
    [
      { sampler: { memory: { scope: 'container' } } },
      line('sampler.memory.scope', `expected one of 'cgroup', 'host', 'process', got "container"`),
    ],
  ])('parseConfig() rejects a bad size or cost: %j', (data, message) => {
    expect(rejection(data)).toBe(message);
  });

  const TOO_BIG = 'expected a size of at most 9007199254740991 bytes (8 PiB - 1 B)';
  it.each([
    [
      activity({ type: 'memory' }, { costs: { default: { memoryBytes: '99999999TiB' } } }),
      line('activity.costs.default.memoryBytes', `${TOO_BIG}, got "99999999TiB"`),
    ],
    [
      { sampler: { memory: { limitBytes: '8193TiB' } } },
      line('sampler.memory.limitBytes', `${TOO_BIG}, got "8193TiB"`),
    ],
    [
      activity({ type: 'gpu' }, { costs: { activities: { train: { gpuMemoryBytes: '9007199.3 GB' } } } }),
      line('activity.costs.activities.train.gpuMemoryBytes', `${TOO_BIG}, got "9007199.3 GB"`),
    ],
  ])('parseConfig() rejects a size beyond 2^53 - 1 bytes with the value as written: %j', (data, message) => {
    expect(rejection(data)).toBe(message);
  });

  it('parseConfig() accepts the largest size, 8192 TiB - 1 B, as exact bytes', () => {
    const largest = Number.MAX_SAFE_INTEGER;
    expect(parseConfig({ sampler: { memory: { limitBytes: largest } } }).sampler?.memory?.limitBytes).toBe(
      largest,
    );
    expect(parseConfig({ sampler: { memory: { limitBytes: '8191TiB' } } }).sampler?.memory?.limitBytes).toBe(
      8191 * 2 ** 40,
    );
  });

  it.each([
    [
      { metrics: { listen: 'localhost' } },
      line('metrics.listen', 'expected "host:port" (e.g. "127.0.0.1:9464") or false, got "localhost"'),
    ],
    [
      { metrics: { listen: true } },
      line('metrics.listen', 'expected "host:port" (e.g. "127.0.0.1:9464") or false, got true'),
    ],
    [
      { metrics: { listen: '0.0.0.0:70000' } },
      line(
        'metrics.listen',
        'expected "host:port" (e.g. "127.0.0.1:9464") or false, got "0.0.0.0:70000". The port is above 65535.',
      ),
    ],
    [{ temporal: { address: '' } }, line('temporal.address', 'expected "host:port", got ""')],
    [{ temporal: { namespace: 7 } }, line('temporal.namespace', 'expected a namespace name, got 7')],
  ])('parseConfig() rejects bad metrics and temporal settings: %j', (data, message) => {
    expect(rejection(data)).toBe(message);
  });

  it('parseConfig() accepts "[::1]:9464" and false for metrics.listen', () => {
    expect(parseConfig({ metrics: { listen: '[::1]:9464' } }).metrics?.listen).toBe('[::1]:9464');
    expect(parseConfig({ metrics: { listen: false } }).metrics?.listen).toBe(false);
  });

  it.each([
    [[1], 'slotwise.yaml: expected a mapping, got [1]'],
    [null, 'slotwise.yaml: expected a mapping, got null'],
  ])('parseConfig() rejects a root that is not a mapping: %j', (data, message) => {
    expect(rejection(data)).toBe(message);
  });

  it('parseConfig() lists every problem, not only the first, and names them in ConfigError.issues', () => {
    let error: ConfigError | undefined;
    try {
      parseConfig(
        {
          workflow: { supplier: { type: 'fixed', slots: 0 } },
          activity: { supplier: { type: 'cpu', targetUtilization: 80, maxSlot: 3 } },
          metrics: { listen: 9464 },
        },
        { source: 'slotwise.yaml' },
      );
    } catch (caught) {
      error = caught as ConfigError;
    }
    expect(error?.name).toBe('ConfigError');
    expect(error?.source).toBe('slotwise.yaml');
    expect(error?.message).toBe(
      [
        line('workflow.supplier.slots', 'expected an integer >= 1, got 0'),
        line('activity.supplier.targetUtilization', 'expected a ratio in (0, 1], got 80. Did you mean 0.8?'),
        line(
          'activity.supplier.maxSlot',
          'unknown key; did you mean `maxSlots`? (expected one of: type, name, minSlots, maxSlots, targetUtilization, hysteresis, rampThrottleMs, settleMs, staleAfterMs, costs, floors, ceilings)',
        ),
        line('metrics.listen', 'expected "host:port" (e.g. "127.0.0.1:9464") or false, got 9464'),
      ].join('\n'),
    );
    expect(error?.issues.map((issue) => issue.path)).toEqual([
      'workflow.supplier.slots',
      'activity.supplier.targetUtilization',
      'activity.supplier.maxSlot',
      'metrics.listen',
    ]);
  });
});

describe('slotwise config cross-checks', () => {
  it.each([
    [
      activity({ type: 'cpu', minSlots: 5, maxSlots: 3 }),
      line('activity.supplier.maxSlots', 'expected an integer >= minSlots (5), got 3'),
    ],
    [
      activity({ type: 'memory', targetUtilization: 0.5, hysteresis: 0.5 }),
      line('activity.supplier.hysteresis', 'expected a ratio in [0, targetUtilization) = [0, 0.5), got 0.5'),
    ],
    [
      activity({
        type: 'temporal-resource-based',
        targetCpuUsage: 0.8,
        targetMemoryUsage: 0.8,
        minimumSlots: 9,
        maximumSlots: 3,
      }),
      line('activity.supplier.maximumSlots', 'expected an integer >= minimumSlots (9), got 3'),
    ],
  ])('parseConfig() rejects limits that contradict each other: %j', (data, message) => {
    expect(rejection(data)).toBe(message);
  });

  const WORKFLOW = 'as it serves workflow tasks (core holds a sticky and a non-sticky workflow slot)';
  it.each([
    [
      { workflow: { supplier: { type: 'fixed', slots: 1 } } },
      line('workflow.supplier.slots', `expected an integer >= 2, ${WORKFLOW}, got 1`),
    ],
    [
      { workflow: { supplier: { type: 'temporal-fixed-size', numSlots: 1 } } },
      line('workflow.supplier.numSlots', `expected an integer >= 2, ${WORKFLOW}, got 1`),
    ],
    [
      { workflow: { supplier: { type: 'cpu', maxSlots: 1 } } },
      `${line('workflow.supplier.maxSlots', 'expected an integer >= minSlots (2), got 1')}\n${line('workflow.supplier.maxSlots', `expected an integer >= 2, ${WORKFLOW}, got 1`)}`,
    ],
    [
      { workflow: { supplier: { type: 'memory', minSlots: 1, floors: false } } },
      line('workflow.supplier.minSlots', `expected an integer >= 2, ${WORKFLOW}, got 1`),
    ],
    [
      {
        workflow: {
          supplier: {
            type: 'temporal-resource-based',
            targetCpuUsage: 0.8,
            targetMemoryUsage: 0.8,
            maximumSlots: 1,
            minimumSlots: 1,
          },
        },
      },
      `${line('workflow.supplier.minimumSlots', `expected an integer >= 2, ${WORKFLOW}, got 1`)}\n${line('workflow.supplier.maximumSlots', `expected an integer >= 2, ${WORKFLOW}, got 1`)}`,
    ],
    [
      {
        workflow: {
          supplier: {
            type: 'composite',
            parts: [
              { type: 'fixed', slots: 4 },
              { type: 'fixed', slots: 1 },
            ],
          },
        },
      },
      line('workflow.supplier.parts[1].slots', `expected an integer >= 2, ${WORKFLOW}, got 1`),
    ],
    [
      { suppliers: { tiny: { type: 'fixed', slots: 1 } }, workflow: { supplier: 'tiny' } },
      line('suppliers.tiny.slots', `expected an integer >= 2, ${WORKFLOW}, got 1`),
    ],
  ])("parseConfig() enforces Temporal's 2 workflow slots: %j", (data, message) => {
    expect(rejection(data)).toBe(message);
  });

  it('parseConfig() accepts a resource supplier of workflow tasks without minSlots, which then defaults to 2', () => {
    // A GPU supplier's own default is 0 minimum slots, below what workflow tasks need.
    const effective = effectiveConfig(
      parseConfig({ workflow: { supplier: { type: 'gpu' } }, activity: { supplier: { type: 'gpu' } } }),
    );
    const minSlots = (node: EffectiveSupplier) => ('minSlots' in node ? node.minSlots : undefined);
    expect(minSlots(effective.workflow)).toBe(2);
    expect(minSlots(effective.activity)).toBe(0);
    expect(effective.workflow.defaults).toContain('minSlots');
  });

  it('parseConfig() rejects temporal-resource-based suppliers with different targets (one controller per Worker)', () => {
    expect(
      rejection({
        workflow: {
          supplier: { type: 'temporal-resource-based', targetCpuUsage: 0.8, targetMemoryUsage: 0.8 },
        },
        activity: {
          supplier: { type: 'temporal-resource-based', targetCpuUsage: 0.7, targetMemoryUsage: 0.8 },
        },
        localActivity: {
          supplier: { type: 'temporal-resource-based', targetCpuUsage: 0.8, targetMemoryUsage: 0.6 },
        },
      }),
    ).toBe(
      [
        line(
          'activity.supplier.targetCpuUsage',
          'expected 0.8, the targetCpuUsage of workflow.supplier (a Worker runs one resource-based controller, so every temporal-resource-based supplier has the same targets), got 0.7',
        ),
        line(
          'localActivity.supplier.targetMemoryUsage',
          'expected 0.8, the targetMemoryUsage of workflow.supplier (a Worker runs one resource-based controller, so every temporal-resource-based supplier has the same targets), got 0.6',
        ),
      ].join('\n'),
    );
  });

  it.each([
    [
      activity('pool'),
      line(
        'activity.supplier',
        'expected the name of a shared supplier, got "pool", but there are none: define it under `suppliers`',
      ),
    ],
    [
      { suppliers: { a: { type: 'fixed', slots: 2 }, b: { type: 'cpu' } }, activity: { supplier: 'c' } },
      line('activity.supplier', 'expected the name of a shared supplier (a, b), got "c"'),
    ],
    [
      {
        suppliers: { a: { type: 'fixed', slots: 2 } },
        activity: { supplier: { type: 'composite', parts: ['a', 'a'] } },
      },
      line('activity.supplier.parts[1]', 'expected each part once, but "a" is also parts[0]'),
    ],
    [
      { suppliers: { a: { type: 'fixed', name: 'x', slots: 2 } } },
      line('suppliers.a.name', 'expected no `name`: a shared supplier is named by its key ("a")'),
    ],
    [
      {
        suppliers: {
          a: { type: 'composite', parts: [{ type: 'fixed', slots: 2 }, 'b'] },
          b: { type: 'composite', parts: [{ type: 'composite', parts: ['a'] }] },
        },
      },
      line(
        'suppliers.b.parts[0].parts[0]',
        'expected a supplier that does not contain itself, got "a": a -> b -> a',
      ),
    ],
  ])('parseConfig() checks shared suppliers: %j', (data, message) => {
    expect(rejection(data)).toBe(message);
  });

  it.each([
    [
      {
        workflow: { supplier: { type: 'fixed', slots: 2, name: 'x' } },
        activity: { supplier: { type: 'fixed', slots: 2, name: 'x' } },
      },
      line(
        'activity.supplier.name',
        'expected a distinct name, but "x" is also the name of workflow.supplier: give each supplier its own `name`',
      ),
    ],
    [
      {
        workflow: { supplier: { type: 'fixed', slots: 2, name: 'activity' } },
        activity: { supplier: { type: 'fixed', slots: 2 } },
      },
      line(
        'activity.supplier',
        'expected a distinct name, but "activity" is also the name of workflow.supplier: give each supplier its own `name`',
      ),
    ],
  ])('parseConfig() rejects two suppliers with one name: %j', (data, message) => {
    expect(rejection(data)).toBe(message);
  });
});

describe('slotwise config: every problem at once', () => {
  it.each([
    [
      'a bad number and a bad shared supplier name',
      {
        suppliers: { pool: { type: 'fixed', slots: 4 } },
        activity: { supplier: { type: 'fixed', slots: 0 } },
        localActivity: { supplier: 'poool' },
      },
      [
        line('activity.supplier.slots', 'expected an integer >= 1, got 0'),
        line('localActivity.supplier', 'expected the name of a shared supplier (pool), got "poool"'),
      ],
    ],
    [
      'a bad shared supplier name and limits that contradict each other',
      {
        activity: { supplier: 'missing' },
        localActivity: { supplier: { type: 'cpu', minSlots: 5, maxSlots: 3 } },
      },
      [
        line(
          'activity.supplier',
          'expected the name of a shared supplier, got "missing", but there are none: define it under `suppliers`',
        ),
        line('localActivity.supplier.maxSlots', 'expected an integer >= minSlots (5), got 3'),
      ],
    ],
    [
      'a bad value, two suppliers with one name and too few workflow slots',
      {
        workflow: { supplier: { type: 'fixed', slots: 1, name: 'x' } },
        activity: { supplier: { type: 'fixed', slots: 2, name: 'x' } },
        metrics: { listen: 9464 },
      },
      [
        line('metrics.listen', 'expected "host:port" (e.g. "127.0.0.1:9464") or false, got 9464'),
        line(
          'activity.supplier.name',
          'expected a distinct name, but "x" is also the name of workflow.supplier: give each supplier its own `name`',
        ),
        line(
          'workflow.supplier.slots',
          'expected an integer >= 2, as it serves workflow tasks (core holds a sticky and a non-sticky workflow slot), got 1',
        ),
      ],
    ],
    [
      'a cycle and a bad shared supplier name',
      {
        suppliers: {
          a: { type: 'composite', parts: ['b'] },
          b: { type: 'composite', parts: ['a'] },
        },
        activity: { supplier: 'nope' },
      },
      [
        line('activity.supplier', 'expected the name of a shared supplier (a, b), got "nope"'),
        line(
          'suppliers.b.parts[0]',
          'expected a supplier that does not contain itself, got "a": a -> b -> a',
        ),
      ],
    ],
    [
      'a bad value in a composite part and a bad setting of another part',
      {
        activity: {
          supplier: {
            type: 'composite',
            parts: [
              { type: 'fixed', slots: -1 },
              { type: 'memory', minSlots: 4, maxSlots: 2 },
            ],
          },
        },
      },
      [
        line('activity.supplier.parts[0].slots', 'expected an integer >= 1, got -1'),
        line('activity.supplier.parts[1].maxSlots', 'expected an integer >= minSlots (4), got 2'),
      ],
    ],
  ])('parseConfig() reports %s at once', (_, data, lines) => {
    expect(rejection(data)).toBe(lines.join('\n'));
  });

  it.each([
    [
      'a limit compared with the default of a refused one',
      activity({ type: 'cpu', minSlots: 5000, maxSlots: 'many' }),
      line('activity.supplier.maxSlots', 'expected an integer >= 1, got "many"'),
    ],
    [
      'names that do not resolve because `suppliers` is refused',
      { suppliers: 5, activity: { supplier: 'pool' } },
      line('suppliers', 'expected a mapping of supplier name to supplier, got 5'),
    ],
    [
      'a refused shared supplier as a bad name',
      { suppliers: { pool: { type: 'fixed', slots: 0 } }, activity: { supplier: 'pool' } },
      line('suppliers.pool.slots', 'expected an integer >= 1, got 0'),
    ],
    [
      'a default name that clashes once a refused name is dropped',
      {
        workflow: { supplier: { type: 'fixed', slots: 2, name: '' } },
        activity: { supplier: { type: 'fixed', slots: 2, name: 'workflow' } },
      },
      line('workflow.supplier.name', 'expected a non-empty name, got ""'),
    ],
  ])('parseConfig() does not report %s', (_, data, message) => {
    expect(rejection(data)).toBe(message);
  });
});

describe('parseListenAddress', () => {
  it.each([
    ['127.0.0.1:9464', { host: '127.0.0.1', port: 9464 }],
    ['[::1]:9464', { host: '::1', port: 9464 }],
    ['metrics.internal:80', { host: 'metrics.internal', port: 80 }],
    ['localhost', null],
    ['host:70000', null],
    [':9464', null],
  ])('parseListenAddress(%j) => %j', (address, expected) => {
    expect(parseListenAddress(address)).toEqual(expected);
  });
});
