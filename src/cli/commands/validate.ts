import { formatByteSize } from '../../config/byte-size.js';
import { ConfigError } from '../../config/config-error.js';
import { formatConfigPath } from '../../config/config-path.js';
import type { EffectiveConfig, EffectiveSupplier } from '../../config/effective-config.js';
import { type LoadedConfig, loadConfig } from '../../config/load-config.js';
import { CONFIG_SLOT_TYPES, type ConfigSlotType } from '../../config/schema.js';
import type { TaskCost, TaskCosts } from '../../suppliers/task-cost.js';
import { type CliIo, UsageError } from '../cli-io.js';
import { parseCommandArgs, usageError } from '../parse-args.js';
import { textTable } from '../text-table.js';

/** The text of `slotwise validate --help`. */
export const VALIDATE_HELP = `Usage: slotwise validate <config> [options]

Checks a slotwise config file (.yaml, .yml or .json) with the SLOTWISE_* environment overrides
applied, and prints the effective limits of each slot type (defaults filled in) or every problem
found, each with the path in the file and what was expected.

Environment overrides: SLOTWISE_<KEY>__<KEY>...=<value> sets a value, e.g.
SLOTWISE_ACTIVITY__SUPPLIER__SLOTS=8 sets activity.supplier.slots; values are parsed as JSON when
they can be (8, 0.8, false), else taken as text (SLOTWISE_TEMPORAL__ADDRESS=localhost:7233).

Options:
  --json       print the result as JSON on stdout
  -h, --help   show this help

Exit codes: 0 valid, 1 invalid or unreadable, 2 usage error.`;

const SLOT_TYPE_TITLES: Readonly<Record<ConfigSlotType, string>> = {
  workflow: 'workflow tasks',
  activity: 'activity tasks',
  localActivity: 'local activity tasks',
};

/**
 * `slotwise validate <config>`: checks a config and prints its effective limits, or every problem.
 * Returns the exit code: 0 valid, 1 invalid; bad usage throws a {@link UsageError} (exit 2).
 *
 * @example
 * ```ts
 * import { processIo } from 'slotwise/internal/cli/cli-io.js';
 * import { validateCommand } from 'slotwise/internal/cli/commands/validate.js';
 * const code = await validateCommand(['slotwise.yaml', '--json'], processIo); // => 0
 * ```
 */
export async function validateCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs('validate', argv, { json: { type: 'boolean' } }, true);
  if (values.help) {
    io.out(VALIDATE_HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    throw usageError(
      'validate',
      `expected one config file, got ${positionals.length === 0 ? 'none' : positionals.length}.`,
    );
  }
  const file = positionals[0]!;
  let loaded: LoadedConfig;
  try {
    loaded = await loadConfig(file, { env: io.env });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    if (values.json) {
      io.out(JSON.stringify({ valid: false, file, errors: error.issues }, null, 2));
    } else {
      for (const line of error.message.split('\n')) io.err(line);
      const n = error.issues.length;
      io.err(`slotwise validate: ${file} is invalid (${n} problem${n === 1 ? '' : 's'})`);
    }
    return 1;
  }
  const overrides = loaded.overrides.map((o) => ({
    variable: o.variable,
    path: formatConfigPath(o.path),
    value: o.value,
  }));
  if (values.json) {
    io.out(JSON.stringify({ valid: true, file, overrides, effective: loaded.effective }, null, 2));
    return 0;
  }
  io.out(`${file}: valid`);
  if (overrides.length > 0) {
    io.out('');
    io.out('environment overrides');
    for (const line of textTable([
      ['VARIABLE', 'SETS', 'VALUE'],
      ...overrides.map((o) => [o.variable, o.path, JSON.stringify(o.value)]),
    ])) {
      io.out(`  ${line}`);
    }
  }
  for (const line of describeEffective(loaded.effective)) io.out(line);
  return 0;
}

/** The effective limits as tables: one per slot type, then nexus, sampler, metrics and Temporal. */
function describeEffective(effective: EffectiveConfig): string[] {
  const lines: string[] = [];
  for (const slotType of CONFIG_SLOT_TYPES) {
    const node = effective[slotType];
    lines.push('', `${slotType}: ${SLOT_TYPE_TITLES[slotType]} (${slotType}.supplier)`);
    const rows: string[][] = [['SUPPLIER', 'SETTING', 'VALUE']];
    supplierRows(node, 0, rows);
    for (const line of textTable(rows)) lines.push(`  ${line}`);
  }
  const shared = Object.values(effective.shared);
  if (shared.length > 0) {
    const places = new Map<string, string[]>();
    const visit = (node: EffectiveSupplier, place: string): void => {
      if ('shared' in node && node.shared) {
        places.set(node.name, [...(places.get(node.name) ?? []), place]);
        return; // its parts are visited once, below
      }
      if (node.type === 'composite') {
        for (const [i, part] of node.parts.entries()) visit(part, `${node.path}.parts[${i}]`);
      }
    };
    for (const slotType of CONFIG_SLOT_TYPES) visit(effective[slotType], `${slotType}.supplier`);
    for (const node of shared) {
      if (node.type !== 'composite') continue;
      for (const [i, part] of node.parts.entries()) visit(part, `${node.path}.parts[${i}]`);
    }
    lines.push('', 'shared suppliers');
    for (const line of textTable([
      ['NAME', 'USED BY'],
      ...shared.map((node) => [
        node.name,
        places.get(node.name)?.join(', ') ?? 'nothing (built, but unused)',
      ]),
    ])) {
      lines.push(`  ${line}`);
    }
  }
  lines.push('', 'nexus tasks');
  for (const line of textTable([
    ['SUPPLIER', 'SETTING', 'VALUE'],
    ['temporal-fixed-size', 'numSlots', `${effective.nexus.numSlots} (always)`],
  ])) {
    lines.push(`  ${line}`);
  }
  const other: string[][] = [['SETTING', 'VALUE']];
  const sampler = effective.sampler;
  if (sampler === null) {
    other.push(['sampler', 'none (no cpu, memory or gpu supplier)']);
  } else {
    const d = (key: string, value: string) => (sampler.defaults.includes(key) ? `${value} (default)` : value);
    const reads = [
      sampler.cpu && 'cpu',
      sampler.memory && 'memory',
      sampler.gpu && 'gpu',
      sampler.heap && 'heap',
    ].filter(Boolean);
    other.push(['sampler', `one, reading ${reads.join(', ')}`]);
    other.push(['sampler.intervalMs', d('intervalMs', String(sampler.intervalMs))]);
    if (sampler.memory) {
      other.push(['sampler.memory.scope', d('memory.scope', sampler.memory.scope)]);
      other.push([
        'sampler.memory.limitBytes',
        sampler.memory.limitBytes === null
          ? 'the cgroup limit, else the host total (default)'
          : formatByteSize(sampler.memory.limitBytes),
      ]);
    }
    if (sampler.gpu) {
      other.push(['sampler.gpuIntervalMs', d('gpuIntervalMs', String(sampler.gpuIntervalMs))]);
      other.push(['sampler.gpu.nvidiaSmi', d('gpu.nvidiaSmi', sampler.gpu.nvidiaSmi)]);
    }
  }
  other.push([
    'metrics.listen',
    effective.metrics.listen === false ? 'off (default)' : effective.metrics.listen,
  ]);
  other.push([
    'temporal.address',
    effective.temporal.address ?? 'not set ($TEMPORAL_ADDRESS, else an embedded dev server)',
  ]);
  other.push(['temporal.namespace', effective.temporal.namespace ?? 'not set ("default")']);
  other.push(['temporal.taskQueue', effective.temporal.taskQueue ?? 'not set']);
  lines.push('', 'other settings');
  for (const line of textTable(other)) lines.push(`  ${line}`);
  return lines;
}

function supplierRows(node: EffectiveSupplier, depth: number, rows: string[][]): void {
  const indent = '  '.repeat(depth);
  const label =
    node.type === 'temporal-fixed-size' || node.type === 'temporal-resource-based'
      ? node.type
      : `${node.type} "${node.name}"${node.shared ? ` (shared: ${node.path})` : ''}`;
  const settings: [string, string][] = [];
  const d = (key: string, value: unknown) =>
    settings.push([key, `${String(value)}${node.defaults.includes(key) ? ' (default)' : ''}`]);
  switch (node.type) {
    case 'fixed':
      d('slots', node.slots);
      break;
    case 'temporal-fixed-size':
      d('numSlots', node.numSlots);
      break;
    case 'temporal-resource-based':
      d('targetCpuUsage', node.targetCpuUsage);
      d('targetMemoryUsage', node.targetMemoryUsage);
      d('minimumSlots', node.minimumSlots);
      d('maximumSlots', node.maximumSlots);
      d('rampThrottleMs', node.rampThrottleMs);
      break;
    case 'composite':
      settings.push(['parts', `${node.parts.length}: a permit takes one from each`]);
      break;
    case 'fleet':
      d('fleet', node.fleet);
      d('slots', `${node.slots} across the fleet`);
      d('leaseTtlMs', node.leaseTtlMs);
      d('lingerMs', node.lingerMs);
      d('managerTaskQueue', node.managerTaskQueue);
      break;
    default:
      d('minSlots', node.minSlots);
      d('maxSlots', node.maxSlots);
      d('targetUtilization', node.targetUtilization);
      d('hysteresis', node.hysteresis);
      d('rampThrottleMs', node.rampThrottleMs);
      d('settleMs', node.settleMs);
      if (node.slotsPerDevice !== null) d('slotsPerDevice', node.slotsPerDevice);
      settings.push(...costRows(node.costs, node.costsPath));
  }
  if (
    node.type === 'fixed' ||
    node.type === 'composite' ||
    node.type === 'cpu' ||
    node.type === 'memory' ||
    node.type === 'gpu'
  ) {
    // Floors and ceilings per slot type: shown when written, and always for resourceBased.
    const perSlotType = (values: object) =>
      Object.entries(values)
        .filter(([, value]) => value !== null && value !== 0)
        .map(([key, value]) => `${key} ${value}`)
        .join(', ') || 'none';
    for (const key of ['floors', 'ceilings'] as const) {
      if (node.defaults.includes(key) && node.path !== 'resourceBased') continue;
      d(key, perSlotType(node[key]));
    }
  }
  settings.forEach(([key, value], i) => {
    rows.push([i === 0 ? `${indent}${label}` : '', key, value]);
  });
  if (node.type === 'composite') for (const part of node.parts) supplierRows(part, depth + 1, rows);
}

function costRows(costs: TaskCosts, from: string | null): [string, string][] {
  if (from === null) return [['costs', 'none declared']];
  const rows: [string, string][] = [];
  const push = (key: string, cost: TaskCost) => rows.push([key, formatCost(cost)]);
  if (costs.default) push('costs.default', costs.default);
  for (const [type, cost] of Object.entries(costs.activities ?? {})) {
    push(formatConfigPath(['costs', 'activities', type]), cost);
  }
  for (const [type, cost] of Object.entries(costs.workflows ?? {})) {
    push(formatConfigPath(['costs', 'workflows', type]), cost);
  }
  if (rows.length === 0) return [['costs', `none declared (${from} is empty)`]];
  rows[0]![1] += ` (from ${from})`;
  return rows;
}

function formatCost(cost: TaskCost): string {
  const parts: string[] = [];
  if (cost.cpu !== undefined) parts.push(`cpu ${cost.cpu}`);
  if (cost.memoryBytes !== undefined) parts.push(`memoryBytes ${formatByteSize(cost.memoryBytes)}`);
  if (cost.gpus !== undefined) parts.push(`gpus ${cost.gpus}`);
  if (cost.gpuMemoryBytes !== undefined) parts.push(`gpuMemoryBytes ${formatByteSize(cost.gpuMemoryBytes)}`);
  return parts.length > 0 ? parts.join(', ') : 'nothing declared';
}
