import { z } from 'zod';
import {
  checkOption,
  integerRule,
  integerWhat,
  millisecondsRule,
  millisecondsWhat,
  type SupplierOptionRule,
} from '../option-rules.js';

// The one source of the sampling options: how often resources are read, whose memory, and which
// nvidia-smi. ResourceSampler, the monitors it creates, the suppliers that create their own sampler
// (`sampleIntervalMs`, `scope`, `limitBytes`, `nvidiaSmi`), the config file's `sampler:` section (and
// so the JSON Schema) and `validate`'s effective view read rules and defaults from here.
// Internal: not exported from the package.

/** The memory scopes a MemoryMonitor measures. */
export const MEMORY_SCOPES = ['cgroup', 'host', 'process'] as const;

/** Sampling options, by their name on ResourceSampler (and in the config's `sampler:` section). */
export const SAMPLER_OPTION_RULES = {
  intervalMs: {
    what: millisecondsWhat(1),
    schema: millisecondsRule(1),
    default: 100,
    doc: 'Milliseconds between CPU, memory and heap samples.',
  },
  gpuIntervalMs: {
    what: millisecondsWhat(1),
    schema: millisecondsRule(1),
    default: 1000,
    doc: 'Milliseconds between GPU readings: the -lms interval of the one nvidia-smi loop (or between calls where nvidia-smi has no loop mode).',
  },
} as const satisfies Record<string, SupplierOptionRule<number>>;

/** Memory sampling options, by their name on MemoryMonitor (and in the config's `sampler.memory`). */
export const MEMORY_OPTION_RULES = {
  scope: {
    what: `one of ${MEMORY_SCOPES.map((s) => `'${s}'`).join(', ')}`,
    schema: (error) => z.enum(MEMORY_SCOPES, { error }),
    default: 'cgroup',
    doc: "Whose memory: the container's cgroup (working set against its limit), the whole host, or this process's RSS.",
  },
  limitBytes: {
    what: integerWhat(1),
    schema: integerRule(1),
    doc: 'Measure against this limit instead of the cgroup limit or host total.',
  },
} as const satisfies Record<string, SupplierOptionRule>;

/** GPU sampling options, by their name on GpuMonitor (and in the config's `sampler.gpu`). */
export const GPU_OPTION_RULES = {
  nvidiaSmi: {
    what: 'a program name or path',
    schema: (error) => z.string({ error }).min(1, { error }),
    default: 'nvidia-smi',
    doc: 'The nvidia-smi program (a name looked up on PATH, or a path).',
  },
} as const satisfies Record<string, SupplierOptionRule<string>>;

/**
 * A supplier's `sampleIntervalMs` (the interval of the sampler it creates for itself), checked under
 * the supplier's name against the sampler's `key` rule; its default when `undefined`.
 */
export function checkSampleInterval(
  owner: string,
  value: unknown,
  key: keyof typeof SAMPLER_OPTION_RULES,
): number {
  return checkOption(owner, 'sampleIntervalMs', SAMPLER_OPTION_RULES[key], value) as number;
}
