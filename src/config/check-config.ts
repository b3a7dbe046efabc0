import { describeValue } from '../describe-value.js';
import { MAX_NAME_LENGTH } from '../option-checks.js';
import { resourceOptionConflicts } from '../suppliers/resource-supplier-options.js';
import { SLOT_TYPE_KEYS } from '../suppliers/slot-type-limits.js';
import { type DataPath, involvesRepaired, repairAt } from './config-repair.js';
import {
  type EffectiveConfig,
  type EffectiveSupplier,
  effectiveConfig,
  slotwiseSuppliersOf,
} from './effective-config.js';
import {
  CONFIG_SLOT_TYPES,
  type SlotwiseConfig,
  type SlotwiseSupplierSpec,
  type SupplierSpec,
} from './schema.js';

/** A problem found by {@link checkConfig}, at a path given as segments. */
export interface CheckIssue {
  path: (string | number)[];
  message: string;
  /**
   * The values the problem is about (`minSlots` and `maxSlots` for "maxSlots below minSlots"), when
   * more than `path`: the problem is dropped when one of them was repaired (see `config-repair.ts`).
   */
  dependsOn?: DataPath[];
}

/** The longest supplier name the suppliers accept. */

const WORKFLOW_NOTE = 'as it serves workflow tasks (core holds a sticky and a non-sticky workflow slot)';

/**
 * The checks that span several fields of a config that passed the schema: shared suppliers exist,
 * do not contain themselves and are named by their key; supplier names are distinct; minimum <=
 * maximum; hysteresis below the target; and Temporal's constraints: at least 2 workflow slots, and
 * one set of targets for every `temporal-resource-based` supplier (core runs one controller per
 * Worker). Returns every problem; the effective config when there is none.
 *
 * @example
 * ```ts
 * import { checkConfig } from 'slotwise/internal/config/check-config.js';
 * checkConfig({ workflow: { supplier: { type: 'fixed', slots: 1 } } }).issues;
 * // => [{ path: ['workflow', 'supplier', 'slots'], message: 'expected an integer >= 2, as it serves workflow tasks (...), got 1' }]
 * ```
 */
export function checkConfig(config: SlotwiseConfig): {
  issues: CheckIssue[];
  effective: EffectiveConfig | null;
} {
  const issues = checkReferences(config);
  // A reference that does not resolve (or makes a cycle) is replaced by a stand-in, so that the
  // other checks still run and every problem is reported at once.
  let checked = config;
  let repaired: DataPath[] = [];
  if (issues.length > 0) {
    const repair = repairAt(
      config,
      issues.map((issue) => issue.path),
    );
    if (repair === null) return { issues: [...issues, ...checkResourceBased(config)], effective: null };
    checked = repair.data as SlotwiseConfig;
    repaired = repair.repaired;
  }
  issues.push(...checkResourceBased(config));
  let effective: EffectiveConfig;
  try {
    effective = effectiveConfig(checked);
  } catch {
    return { issues, effective: null };
  }
  const more: CheckIssue[] = [];
  checkNames(effective, more);
  for (const node of slotwiseSuppliersOf(effective)) {
    for (const key of SLOT_TYPE_KEYS) {
      const ceiling = node.ceilings[key];
      if (ceiling !== null && ceiling < node.floors[key]) {
        more.push({
          path: [...at(node.path), 'ceilings', key],
          message: `expected an integer >= the floor of ${key} (${node.floors[key]}), got ${ceiling}`,
          dependsOn: [
            [...at(node.path), 'ceilings', key],
            [...at(node.path), 'floors', key],
          ],
        });
      }
    }
    if (node.type === 'cpu' || node.type === 'memory' || node.type === 'gpu' || node.type === 'heap') {
      // The same rules between options as the suppliers' constructors check.
      for (const conflict of resourceOptionConflicts(node)) {
        more.push({
          path: [...at(node.path), conflict.key],
          message: `expected ${conflict.what}, got ${conflict.value}`,
          dependsOn: conflict.between.map((key) => [...at(node.path), key]),
        });
      }
    }
  }
  let targets: { path: string; cpu: number; memory: number } | undefined;
  for (const slotType of CONFIG_SLOT_TYPES) {
    const node = effective[slotType];
    if (node.type !== 'temporal-resource-based') continue;
    if (node.maximumSlots < node.minimumSlots) {
      more.push({
        path: [...at(node.path), 'maximumSlots'],
        message: `expected an integer >= minimumSlots (${node.minimumSlots}), got ${node.maximumSlots}`,
        dependsOn: [
          [...at(node.path), 'minimumSlots'],
          [...at(node.path), 'maximumSlots'],
        ],
      });
    }
    if (targets === undefined) {
      targets = { path: node.path, cpu: node.targetCpuUsage, memory: node.targetMemoryUsage };
      continue;
    }
    for (const [key, expected, got] of [
      ['targetCpuUsage', targets.cpu, node.targetCpuUsage],
      ['targetMemoryUsage', targets.memory, node.targetMemoryUsage],
    ] as const) {
      if (expected !== got) {
        more.push({
          path: [...at(node.path), key],
          message: `expected ${expected}, the ${key} of ${targets.path} (a Worker runs one resource-based controller, so every temporal-resource-based supplier has the same targets), got ${got}`,
          dependsOn: [
            [...at(node.path), key],
            [...at(targets.path), key],
          ],
        });
      }
    }
  }
  checkWorkflow(effective.workflow, more);
  for (const issue of more) {
    if (!involvesRepaired(issue.dependsOn ?? [issue.path], repaired)) issues.push(issue);
  }
  return { issues, effective: issues.length === 0 ? effective : null };
}

/**
 * `resourceBased` serves every slot type, so it stands alone; each slot type's maximum is at least
 * its minimum.
 */
function checkResourceBased(config: SlotwiseConfig): CheckIssue[] {
  const section = config.resourceBased;
  if (section === undefined) return [];
  const issues: CheckIssue[] = [];
  for (const slotType of CONFIG_SLOT_TYPES) {
    if (config[slotType] === undefined) continue;
    issues.push({
      path: [slotType],
      message: `expected no \`${slotType}\` section next to \`resourceBased\`, which serves workflow, activity and local activity tasks: remove one of them`,
    });
  }
  for (const key of SLOT_TYPE_KEYS) {
    const option = `${key}TaskSlotOptions` as const;
    const { minimumSlots, maximumSlots } = section[option] ?? {};
    if (minimumSlots !== undefined && maximumSlots !== undefined && maximumSlots < minimumSlots) {
      issues.push({
        path: ['resourceBased', option, 'maximumSlots'],
        message: `expected an integer >= minimumSlots (${minimumSlots}), got ${maximumSlots}`,
      });
    }
  }
  return issues;
}

/** Shared suppliers: named by their key, every reference resolves, no composite contains itself. */
function checkReferences(config: SlotwiseConfig): CheckIssue[] {
  const issues: CheckIssue[] = [];
  const specs = config.suppliers ?? {};
  const names = Object.keys(specs);
  const checkRef = (name: string, path: (string | number)[]) => {
    if (specs[name] !== undefined) return true;
    issues.push({
      path,
      dependsOn: [path, ['suppliers', name]],
      message:
        names.length === 0
          ? `expected the name of a shared supplier, got ${describeValue(name, 'as-written')}, but there are none: define it under \`suppliers\``
          : `expected the name of a shared supplier (${names.join(', ')}), got ${describeValue(name, 'as-written')}`,
    });
    return false;
  };
  const walk = (spec: SupplierSpec, path: (string | number)[]) => {
    if (typeof spec === 'string') {
      checkRef(spec, path);
      return;
    }
    if (spec.type !== 'composite') return;
    const seen = new Map<string, number>();
    spec.parts.forEach((part, i) => {
      const partPath = [...path, 'parts', i];
      if (typeof part === 'string') {
        const first = seen.get(part);
        if (first !== undefined) {
          issues.push({
            path: partPath,
            message: `expected each part once, but ${describeValue(part, 'as-written')} is also parts[${first}]`,
          });
        }
        seen.set(part, i);
      }
      walk(part, partPath);
    });
  };
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.name !== undefined) {
      issues.push({
        path: ['suppliers', name, 'name'],
        message: `expected no \`name\`: a shared supplier is named by its key (${describeValue(name, 'as-written')})`,
      });
    }
    walk(spec, ['suppliers', name]);
  }
  for (const slotType of CONFIG_SLOT_TYPES) {
    const section = config[slotType];
    if (section) walk(section.supplier, [slotType, 'supplier']);
  }
  // Cycles: a shared composite that contains itself through other shared suppliers (names that
  // do not resolve were reported above).
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, trail: string[]): void => {
    const spec = specs[name];
    if (spec === undefined || state.get(name) === 'done') return;
    state.set(name, 'visiting');
    const refs = directRefs(spec);
    for (const { ref, path } of refs) {
      if (state.get(ref) === 'visiting') {
        const cycle = [...trail.slice(trail.indexOf(ref)), name, ref];
        issues.push({
          path: ['suppliers', name, ...path],
          message: `expected a supplier that does not contain itself, got ${describeValue(ref, 'as-written')}: ${cycle.join(' -> ')}`,
        });
      } else {
        visit(ref, [...trail, name]);
      }
    }
    state.set(name, 'done');
  };
  for (const name of names) visit(name, []);
  return issues;
}

/** The shared names a spec's composite parts name, with their paths relative to the spec. */
function directRefs(
  spec: SlotwiseSupplierSpec,
  path: (string | number)[] = [],
): { ref: string; path: (string | number)[] }[] {
  if (spec.type !== 'composite') return [];
  return spec.parts.flatMap((part, i) =>
    typeof part === 'string'
      ? [{ ref: part, path: [...path, 'parts', i] }]
      : directRefs(part, [...path, 'parts', i]),
  );
}

function checkNames(effective: EffectiveConfig, issues: CheckIssue[]): void {
  const byName = new Map<string, string>();
  for (const node of slotwiseSuppliersOf(effective)) {
    if (node.name.length > MAX_NAME_LENGTH) {
      // Only a default name can be this long: "<composite name>-<type>".
      issues.push({
        path: at(node.path),
        message: `expected a name of at most ${MAX_NAME_LENGTH} characters, but the default name of this part, ${describeValue(node.name, 'as-written')}, has ${node.name.length}: give it a shorter \`name\``,
      });
    }
    const first = byName.get(node.name);
    if (first === undefined) {
      byName.set(node.name, node.path);
      continue;
    }
    const path = node.defaults.includes('name') ? at(node.path) : [...at(node.path), 'name'];
    issues.push({
      path,
      dependsOn: [path, at(first)],
      message: `expected a distinct name, but ${describeValue(node.name, 'as-written')} is also the name of ${first}: give each supplier its own \`name\``,
    });
  }
}

/**
 * Core needs two workflow slots: every part of the workflow supplier must allow at least 2, and
 * issue them whatever its readings say, through a workflow floor (one sticky and one non-sticky
 * permit) or else `minSlots`.
 */
function checkWorkflow(node: EffectiveSupplier, issues: CheckIssue[], floored = false): void {
  const low = (key: string, value: number) =>
    issues.push({
      path: [...at(node.path), key],
      message: `expected an integer >= 2, ${WORKFLOW_NOTE}, got ${value}`,
    });
  switch (node.type) {
    case 'fixed':
      if (node.slots < 2) low('slots', node.slots);
      break;
    case 'temporal-fixed-size':
      if (node.numSlots < 2) low('numSlots', node.numSlots);
      break;
    case 'temporal-resource-based':
      if (node.minimumSlots < 2) low('minimumSlots', node.minimumSlots);
      if (node.maximumSlots < 2) low('maximumSlots', node.maximumSlots);
      break;
    case 'composite':
      // A composite's floor permits are floor permits in every part.
      for (const part of node.parts) checkWorkflow(part, issues, floored || node.floors.workflow >= 2);
      break;
    case 'fleet':
      issues.push({
        path: [...at(node.path), 'type'],
        message:
          'expected a supplier without a fleet budget for workflow tasks, got "fleet": a workflow task that waits for a lease of a fleet can stall the Worker; use fleet suppliers for activities',
      });
      break;
    default:
      if (!floored && node.floors.workflow < 2 && node.minSlots < 2) low('minSlots', node.minSlots);
      if (node.maxSlots < 2) low('maxSlots', node.maxSlots);
  }
}

/** Segments of a formatted path (`activity.supplier.parts[0]` -> `['activity', 'supplier', 'parts', 0]`). */
function at(path: string): (string | number)[] {
  const segments: (string | number)[] = [];
  for (const match of path.matchAll(/([^.[\]]+)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]/g)) {
    if (match[1] !== undefined) segments.push(match[1]);
    else if (match[2] !== undefined) segments.push(Number(match[2]));
    else segments.push(JSON.parse(`"${match[3]}"`) as string);
  }
  return segments;
}
