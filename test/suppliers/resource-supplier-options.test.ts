import { describe, expect, it } from 'vitest';
import { effectiveConfig } from '../../src/config/effective-config.js';
import { slotwiseJsonSchema } from '../../src/config/json-schema.js';
import { parseConfig } from '../../src/config/parse-config.js';
import {
  cpuSupplierSpecSchema,
  gpuSupplierSpecSchema,
  heapSupplierSpecSchema,
  memorySupplierSpecSchema,
} from '../../src/config/schema.js';
import { CpuSlotSupplier } from '../../src/suppliers/cpu-slot-supplier.js';
import { GpuSlotSupplier } from '../../src/suppliers/gpu-slot-supplier.js';
import { HeapSlotSupplier } from '../../src/suppliers/heap-slot-supplier.js';
import { MemorySlotSupplier } from '../../src/suppliers/memory-slot-supplier.js';
import type { ResourceSlotSupplier } from '../../src/suppliers/resource-slot-supplier.js';
import {
  RESOURCE_KINDS,
  RESOURCE_OPTION_RULES,
  type ResourceKind,
  type ResourceOptionKey,
  type ResourceOptionRule,
  resourceOptionDefault,
  resourceOptionKeys,
} from '../../src/suppliers/resource-supplier-options.js';
import { recordingLogger } from '../helpers/fakes.js';

const SPEC_SCHEMAS = {
  cpu: cpuSupplierSpecSchema,
  memory: memorySupplierSpecSchema,
  gpu: gpuSupplierSpecSchema,
  heap: heapSupplierSpecSchema,
};

/** A supplier of `kind` with no options but a quiet logger (and no nvidia-smi for the GPU). */
function construct(
  kind: ResourceKind,
): CpuSlotSupplier | MemorySlotSupplier | GpuSlotSupplier | HeapSlotSupplier {
  const logger = recordingLogger();
  switch (kind) {
    case 'cpu':
      return new CpuSlotSupplier({ logger });
    case 'memory':
      return new MemorySlotSupplier({ logger });
    case 'gpu':
      return new GpuSlotSupplier({ logger, env: { PATH: '' } });
    case 'heap':
      return new HeapSlotSupplier({ logger });
  }
}

/** The defaults a constructed supplier applied, read from its fields (protected ones included). */
function appliedDefaults(supplier: Pick<ResourceSlotSupplier, 'limits'>): Record<string, number> {
  const settings = supplier as unknown as { hysteresis: number; settleMs: number };
  return { ...supplier.limits, hysteresis: settings.hysteresis, settleMs: settings.settleMs };
}

/** The `properties` of the JSON Schema's supplier object of `kind`. */
function jsonProperties(kind: ResourceKind): Record<string, { default?: unknown; description?: string }> {
  const defs = slotwiseJsonSchema().$defs as Record<string, { oneOf?: unknown[]; anyOf?: unknown[] }>;
  const variants = (defs.slotwiseSupplier!.oneOf ?? defs.slotwiseSupplier!.anyOf ?? []) as Array<{
    properties: Record<string, { const?: string; default?: unknown; description?: string }>;
  }>;
  const variant = variants.find((v) => v.properties.type?.const === kind);
  if (!variant) throw new Error(`no ${kind} supplier in the JSON Schema`);
  return variant.properties;
}

describe('resource supplier options: one source of rules and defaults', () => {
  it.each(RESOURCE_KINDS)(
    'the %s supplier applies the defaults validate shows and the JSON Schema documents',
    (kind) => {
      const supplier = construct(kind);
      const applied = appliedDefaults(supplier);
      supplier.close();
      const effective = effectiveConfig(parseConfig({ activity: { supplier: { type: kind } } }))
        .activity as unknown as Record<string, unknown>;
      const json = jsonProperties(kind);
      for (const key of ['minSlots', 'maxSlots', 'targetUtilization', 'hysteresis', 'settleMs'] as const) {
        const expected = resourceOptionDefault(kind, key);
        expect({ kind, key, constructor: applied[key] }).toEqual({ kind, key, constructor: expected });
        expect({ kind, key, validate: effective[key] }).toEqual({ kind, key, validate: expected });
        const rule: ResourceOptionRule = RESOURCE_OPTION_RULES[key];
        if (rule.workflowDefault === undefined) {
          expect({ kind, key, json: json[key]?.default }).toEqual({ kind, key, json: expected });
          expect(json[key]?.description).toContain(`Default ${expected}.`);
        } else {
          // Two defaults: no JSON `default` (it would be wrong for one of them), both in the description.
          expect({ kind, key, json: json[key]?.default }).toEqual({ kind, key, json: undefined });
          expect(json[key]?.description).toContain(
            `Default ${expected}, ${rule.workflowDefault} for a supplier of workflow tasks from a config file.`,
          );
        }
      }
      const workflow = effectiveConfig(parseConfig({ workflow: { supplier: { type: kind } } }))
        .workflow as unknown as Record<string, unknown>;
      for (const key of resourceOptionKeys(kind)) {
        const expected = resourceOptionDefault(kind, key);
        const rule: ResourceOptionRule = RESOURCE_OPTION_RULES[key];
        expect({ kind, key, validate: effective[key] }).toEqual({ kind, key, validate: expected });
        expect({ kind, key, workflow: workflow[key] }).toEqual({
          kind,
          key,
          workflow: rule.workflowDefault ?? expected,
        });
        expect({ kind, key, json: json[key]?.default }).toEqual({
          kind,
          key,
          json: expected === null || rule.workflowDefault !== undefined ? undefined : expected,
        });
      }
    },
  );

  it('the config schema of each supplier has exactly the options its rules give it', () => {
    for (const kind of RESOURCE_KINDS) {
      const configKeys = Object.keys(SPEC_SCHEMAS[kind].shape).filter(
        (key) => key in RESOURCE_OPTION_RULES,
      ) as ResourceOptionKey[];
      expect({ kind, keys: configKeys.sort() }).toEqual({ kind, keys: resourceOptionKeys(kind).sort() });
    }
  });

  it('a constructor and the config file refuse a value with the same words', () => {
    const config = () => parseConfig({ activity: { supplier: { type: 'cpu', targetUtilization: 80 } } });
    expect(config).toThrow(
      'activity.supplier.targetUtilization: expected a ratio in (0, 1], got 80. Did you mean 0.8?',
    );
    expect(() => new CpuSlotSupplier({ targetUtilization: 80 })).toThrow(
      'CpuSlotSupplier: expected `targetUtilization` to be a ratio in (0, 1], got `80` (number). Did you mean 0.8?',
    );
    expect(() => new CpuSlotSupplier({ rampThrottleMs: 2 ** 31 })).toThrow(
      'CpuSlotSupplier: expected `rampThrottleMs` to be a whole number of milliseconds in [0, 2147483647], got `2147483648` (number).',
    );
  });
});
