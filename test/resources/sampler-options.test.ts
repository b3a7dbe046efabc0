import { describe, expect, it } from 'vitest';
import { effectiveConfig } from '../../src/config/effective-config.js';
import { slotwiseJsonSchema } from '../../src/config/json-schema.js';
import { parseConfig } from '../../src/config/parse-config.js';
import { SlotwiseOptionsError } from '../../src/errors.js';
import { MemoryMonitor } from '../../src/resources/memory-monitor.js';
import { ResourceSampler } from '../../src/resources/sampler.js';
import {
  GPU_OPTION_RULES,
  MEMORY_OPTION_RULES,
  SAMPLER_OPTION_RULES,
} from '../../src/resources/sampler-options.js';
import { CpuSlotSupplier } from '../../src/suppliers/cpu-slot-supplier.js';
import { GpuSlotSupplier } from '../../src/suppliers/gpu-slot-supplier.js';
import { HeapSlotSupplier } from '../../src/suppliers/heap-slot-supplier.js';
import { MemorySlotSupplier } from '../../src/suppliers/memory-slot-supplier.js';

type JsonObject = { properties: Record<string, JsonObject & { default?: unknown; description?: string }> };

/** The JSON Schema of the config's `sampler:` section. */
function jsonSampler(): JsonObject {
  const schema = slotwiseJsonSchema() as unknown as {
    properties: { sampler: JsonObject & { $ref?: string } };
  };
  const sampler = schema.properties.sampler;
  if (sampler.$ref) {
    const defs = (slotwiseJsonSchema() as unknown as { $defs: Record<string, JsonObject> }).$defs;
    return defs[sampler.$ref.split('/').at(-1)!]!;
  }
  return sampler;
}

describe('sampling options: one source of rules and defaults', () => {
  it('the sampler a constructor builds, validate and the JSON Schema use the rules defaults', () => {
    const sampler = new ResourceSampler({ cpu: false, memory: false });
    expect([sampler.intervalMs, sampler.gpuIntervalMs]).toEqual([
      SAMPLER_OPTION_RULES.intervalMs.default,
      SAMPLER_OPTION_RULES.gpuIntervalMs.default,
    ]);
    sampler.stop();
    const effective = effectiveConfig(
      parseConfig({
        activity: { supplier: { type: 'memory' } },
        workflow: { supplier: { type: 'gpu' } },
      }),
    ).sampler!;
    expect(effective).toMatchObject({
      intervalMs: SAMPLER_OPTION_RULES.intervalMs.default,
      gpuIntervalMs: SAMPLER_OPTION_RULES.gpuIntervalMs.default,
      memory: { scope: MEMORY_OPTION_RULES.scope.default, limitBytes: null },
      gpu: { nvidiaSmi: GPU_OPTION_RULES.nvidiaSmi.default },
    });
    const json = jsonSampler();
    expect({
      intervalMs: json.properties.intervalMs?.default,
      gpuIntervalMs: json.properties.gpuIntervalMs?.default,
      scope: json.properties.memory?.properties.scope?.default,
      nvidiaSmi: json.properties.gpu?.properties.nvidiaSmi?.default,
    }).toEqual({
      intervalMs: SAMPLER_OPTION_RULES.intervalMs.default,
      gpuIntervalMs: SAMPLER_OPTION_RULES.gpuIntervalMs.default,
      scope: MEMORY_OPTION_RULES.scope.default,
      nvidiaSmi: GPU_OPTION_RULES.nvidiaSmi.default,
    });
    expect(json.properties.intervalMs?.description).toContain(
      `Default ${SAMPLER_OPTION_RULES.intervalMs.default}.`,
    );
  });

  it('a supplier that creates its own sampler samples at the rules default interval', () => {
    const made = [
      new CpuSlotSupplier(),
      new MemorySlotSupplier(),
      new HeapSlotSupplier(),
      new GpuSlotSupplier({ env: { PATH: '/nonexistent' } }),
    ];
    const intervals = made.map((s) => {
      const sampler = (s as unknown as { sampler: ResourceSampler }).sampler;
      return [sampler.intervalMs, sampler.gpuIntervalMs];
    });
    for (const s of made) s.close();
    const { intervalMs, gpuIntervalMs } = SAMPLER_OPTION_RULES;
    expect(intervals).toEqual([
      [intervalMs.default, gpuIntervalMs.default],
      [intervalMs.default, gpuIntervalMs.default],
      [intervalMs.default, gpuIntervalMs.default],
      [intervalMs.default, gpuIntervalMs.default],
    ]);
  });

  it.each([
    [() => new MemorySlotSupplier({ sampleIntervalMs: 0 }), 'MemorySlotSupplier'],
    [() => new CpuSlotSupplier({ sampleIntervalMs: 1.5 }), 'CpuSlotSupplier'],
    [() => new HeapSlotSupplier({ sampleIntervalMs: -1 }), 'HeapSlotSupplier'],
    [() => new GpuSlotSupplier({ sampleIntervalMs: 2 ** 31 }), 'GpuSlotSupplier'],
  ])('a bad sampleIntervalMs is named under the supplier it was given to (%#)', (make, owner) => {
    expect(make).toThrow(SlotwiseOptionsError);
    expect(make).toThrow(
      `${owner}: expected \`sampleIntervalMs\` to be a whole number of milliseconds in [1, 2147483647], got`,
    );
  });

  it('MemoryMonitor and the config refuse the same scopes and limits', () => {
    for (const scope of ['pod', '', 3]) {
      expect(() => new MemoryMonitor({ scope } as never)).toThrow(
        "MemoryMonitor: expected `scope` to be one of 'cgroup', 'host', 'process', got",
      );
      expect(() => parseConfig({ sampler: { memory: { scope } } })).toThrow(/sampler\.memory\.scope/);
    }
    expect(() => new MemoryMonitor({ limitBytes: 0.5 })).toThrow('MemoryMonitor: expected `limitBytes`');
    expect(() => parseConfig({ sampler: { memory: { limitBytes: 0 } } })).toThrow(
      /sampler\.memory\.limitBytes/,
    );
  });
});
