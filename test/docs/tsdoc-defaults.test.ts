import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FLEET_OPTION_RULES } from '../../src/fleet/fleet-supplier-options.js';
import {
  GPU_OPTION_RULES,
  MEMORY_OPTION_RULES,
  SAMPLER_OPTION_RULES,
} from '../../src/resources/sampler-options.js';
import {
  RESOURCE_OPTION_RULES,
  resourceOptionDefault,
} from '../../src/suppliers/resource-supplier-options.js';

/** The `@default` of each option of the interface `name` in `file`, as written (`30_000`, `'default'`). */
function tsdocDefaults(file: string, name: string): Record<string, string> {
  const source = readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');
  const start = source.indexOf(`export interface ${name} `);
  if (start < 0) throw new Error(`${file} has no interface ${name}`);
  const body = source.slice(start, source.indexOf('\n}\n', start));
  const found: Record<string, string> = {};
  for (const match of body.matchAll(/@default ([^\n]+)\n(?:\s*\*[^\n]*\n)*?\s*\*\/\n\s*(\w+)\??:/g)) {
    found[match[2]!] = match[1]!.trim();
  }
  return found;
}

/** A written default as a value: `30_000` -> 30000, `'default'` -> 'default'; anything else as written. */
const writtenValue = (written: string): unknown =>
  /^[\d_.]+$/.test(written) ? Number(written.replaceAll('_', '')) : written.replace(/^'(.*)'$/, '$1');

describe('TSDoc @default lines', () => {
  it('FleetSlotSupplierOptions: each @default of an option with a rule is the rule default', () => {
    const written = tsdocDefaults('src/fleet/fleet-slot-supplier.ts', 'FleetSlotSupplierOptions');
    const ruled = Object.keys(written).filter((key) => key in FLEET_OPTION_RULES);
    // namespace, leaseTtlMs, lingerMs, managerTaskQueue, minSyncIntervalMs: a parse that finds none would pass.
    expect(ruled.sort()).toEqual(
      Object.entries(FLEET_OPTION_RULES)
        .filter(([, rule]) => 'default' in rule)
        .map(([key]) => key)
        .sort(),
    );
    for (const key of ruled) {
      const rule = FLEET_OPTION_RULES[key as keyof typeof FLEET_OPTION_RULES];
      expect({ key, tsdoc: writtenValue(written[key]!) }).toEqual({
        key,
        tsdoc: 'default' in rule ? rule.default : undefined,
      });
    }
  });

  it('GpuSlotSupplierOptions: @default of slotsPerDevice is the rule default', () => {
    const written = tsdocDefaults('src/suppliers/gpu-slot-supplier.ts', 'GpuSlotSupplierOptions');
    expect(RESOURCE_OPTION_RULES.slotsPerDevice.defaults.gpu).toBeDefined();
    expect(writtenValue(written.slotsPerDevice!)).toBe(resourceOptionDefault('gpu', 'slotsPerDevice'));
  });

  it('sampling options: each @default is the rule default, on the sampler, the monitors and the suppliers', () => {
    const sampler = tsdocDefaults('src/resources/sampler.ts', 'ResourceSamplerOptions');
    const memory = tsdocDefaults('src/resources/memory-monitor.ts', 'MemoryMonitorOptions');
    const gpu = tsdocDefaults('src/resources/gpu-monitor.ts', 'GpuMonitorOptions');
    const own = (file: string, name: string) => writtenValue(tsdocDefaults(file, name).sampleIntervalMs!);
    expect({
      intervalMs: writtenValue(sampler.intervalMs!),
      gpuIntervalMs: writtenValue(sampler.gpuIntervalMs!),
      scope: writtenValue(memory.scope!),
      command: writtenValue(gpu.command!),
      cpu: own('src/suppliers/cpu-slot-supplier.ts', 'CpuSlotSupplierOptions'),
      memory: own('src/suppliers/memory-slot-supplier.ts', 'MemorySlotSupplierOptions'),
      heap: own('src/suppliers/heap-slot-supplier.ts', 'HeapSlotSupplierOptions'),
      gpu: own('src/suppliers/gpu-slot-supplier.ts', 'GpuSlotSupplierOptions'),
    }).toEqual({
      intervalMs: SAMPLER_OPTION_RULES.intervalMs.default,
      gpuIntervalMs: SAMPLER_OPTION_RULES.gpuIntervalMs.default,
      scope: MEMORY_OPTION_RULES.scope.default,
      command: GPU_OPTION_RULES.nvidiaSmi.default,
      cpu: SAMPLER_OPTION_RULES.intervalMs.default,
      memory: SAMPLER_OPTION_RULES.intervalMs.default,
      heap: SAMPLER_OPTION_RULES.intervalMs.default,
      gpu: SAMPLER_OPTION_RULES.gpuIntervalMs.default,
    });
  });
});
