import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildTuner } from '../../src/config/build-tuner.js';
import { ConfigError } from '../../src/config/config-error.js';
import { parseConfig } from '../../src/config/parse-config.js';
import { recordingLogger } from '../helpers/fakes.js';
import { FAKE_NVIDIA_SMI } from '../resources/fixtures/fake-root.js';

// Whatever `slotwise validate` (parseConfig) accepts, buildTuner must build: a value validate
// passes and the Worker then refuses at start (sampler.intervalMs: 1e12) is a defect.

/** Numbers at and around every bound a config or a constructor has (a typical one most often). */
const EDGES = [-1, 0, 0.5, 1.5, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 1e12, Number.MAX_SAFE_INTEGER, 2 ** 53, 1e300];
const number = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(2, 3, 10, 100) },
  { weight: 1, arbitrary: fc.constantFrom(...EDGES) },
);
const ratio = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(0.5, 0.8, 0.9) },
  { weight: 1, arbitrary: fc.constantFrom(-0.1, 0, 0.05, 1, 1.01, 80) },
);
const name = fc.constantFrom(
  'a',
  'b',
  ' ',
  '  x  ',
  'x'.repeat(94),
  'x'.repeat(95),
  'x'.repeat(100),
  'x'.repeat(101),
);
const size = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(1024, '512MiB', '1.5 GiB') },
  { weight: 1, arbitrary: fc.constantFrom(0, '8191TiB', '8192TiB', '99999999TiB', Number.MAX_SAFE_INTEGER) },
);
const optional = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });
/** Mostly absent (a default applies), sometimes one of `arbitrary`. */
const rarely = <T>(arbitrary: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary });

const cost = fc.record(
  {
    cpu: optional(number),
    memoryBytes: optional(size),
    gpus: optional(number),
    gpuMemoryBytes: optional(size),
  },
  { requiredKeys: [] },
);
const costs = fc.record(
  { default: optional(cost), activities: optional(fc.dictionary(fc.constantFrom('a', 'b'), cost)) },
  { requiredKeys: [] },
);
const resource = (type: 'cpu' | 'memory' | 'gpu') =>
  fc.record(
    {
      type: fc.constant(type),
      name: rarely(name),
      minSlots: optional(number),
      maxSlots: optional(number),
      targetUtilization: optional(ratio),
      hysteresis: optional(ratio),
      rampThrottleMs: optional(number),
      settleMs: optional(number),
      costs: rarely(costs),
      ...(type === 'gpu' ? { slotsPerDevice: optional(number) } : {}),
    },
    { requiredKeys: ['type'] },
  );
const sharedName = fc.oneof(
  { weight: 6, arbitrary: fc.constant('pool') },
  { weight: 1, arbitrary: fc.constantFrom(' ', 'x'.repeat(100), 'x'.repeat(101), 'missing') },
);
const { supplier } = fc.letrec<{ supplier: unknown; part: unknown }>((tie) => ({
  supplier: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record(
      { type: fc.constant('fixed'), name: rarely(name), slots: number },
      { requiredKeys: ['type', 'slots'] },
    ),
    resource('cpu'),
    resource('memory'),
    resource('gpu'),
    fc.record(
      {
        type: fc.constant('composite'),
        name: rarely(name),
        parts: fc.array(tie('part'), { minLength: 1, maxLength: 3 }),
      },
      { requiredKeys: ['type', 'parts'] },
    ),
  ),
  part: fc.oneof(tie('supplier'), sharedName),
}));
const temporal = fc.oneof(
  fc.record({ type: fc.constant('temporal-fixed-size'), numSlots: number }),
  fc.record(
    {
      type: fc.constant('temporal-resource-based'),
      targetCpuUsage: fc.constant(0.8),
      targetMemoryUsage: fc.constant(0.8),
      minimumSlots: optional(number),
      maximumSlots: optional(number),
      rampThrottleMs: optional(number),
    },
    { requiredKeys: ['type', 'targetCpuUsage', 'targetMemoryUsage'] },
  ),
);
const slotType = fc.record(
  { supplier: fc.oneof(supplier, temporal, sharedName), costs: rarely(costs) },
  { requiredKeys: ['supplier'] },
);
const config = fc.record(
  {
    sampler: optional(
      fc.record(
        {
          intervalMs: optional(number),
          gpuIntervalMs: optional(number),
          memory: optional(fc.record({ limitBytes: optional(size) }, { requiredKeys: [] })),
        },
        { requiredKeys: [] },
      ),
    ),
    // `pool` is always there for the names that refer to it; other keys test the key rules.
    suppliers: fc
      .tuple(fc.dictionary(sharedName, supplier, { maxKeys: 1 }), number)
      .map(([more, slots]) => ({ ...more, pool: { type: 'fixed', slots } })),
    workflow: optional(slotType),
    activity: optional(slotType),
    localActivity: optional(slotType),
  },
  { requiredKeys: [] },
);

describe('a config parseConfig accepts', () => {
  it('buildTuner() builds every config parseConfig() accepts (generated at every numeric and name bound)', () => {
    let accepted = 0;
    fc.assert(
      fc.property(config, (data) => {
        const withFakeGpu = {
          ...data,
          sampler: { ...(data.sampler ?? {}), gpu: { nvidiaSmi: FAKE_NVIDIA_SMI } },
        };
        let parsed: ReturnType<typeof parseConfig>;
        try {
          parsed = parseConfig(withFakeGpu);
        } catch (error) {
          if (error instanceof ConfigError) return;
          throw error;
        }
        accepted++;
        buildTuner(parsed, { logger: recordingLogger() }).close();
      }),
      { numRuns: 300, seed: 13 },
    );
    // The generator must reach accepted configs, or the property says nothing.
    expect(accepted).toBeGreaterThan(50);
  });
});
