import { CONFIG_SLOT_TYPES } from './schema.js';

/** A path inside config data: keys and list indices. */
export type DataPath = readonly (string | number)[];

/**
 * Config data with its invalid parts taken out, so that the checks spanning several fields
 * (references, names, minimum <= maximum) still run on the rest and every problem is reported at
 * once, not one stage after another. An invalid supplier is replaced by a stand-in (a fixed supplier
 * of 2 slots, so that whatever names it still resolves); any other invalid value is removed, and
 * its default applies. Problems found on the repaired data are reported only when they do not
 * involve a repaired place (see {@link involvesRepaired}).
 */
export interface RepairedData {
  /** The repaired copy (the input is not changed). */
  data: unknown;
  /** The places repaired: stand-ins put in and values removed. */
  repaired: DataPath[];
}

/** A stand-in's name: distinct from every name a user would write, and naming the place. */
function standInName(path: DataPath): string {
  return `(invalid supplier at ${path.join('.')})`.slice(0, 100);
}

/**
 * Whether `path` is where a supplier is written: `<slotType>.supplier`, `suppliers.<name>`, or a
 * part of a composite written at one of those.
 */
export function isSupplierPlace(path: DataPath): boolean {
  return supplierPrefixLength(path) === path.length;
}

/** The length of the longest prefix of `path` that is a supplier place; 0 for none. */
function supplierPrefixLength(path: DataPath): number {
  let at: number;
  if (path.length >= 2 && path[0] === 'suppliers') at = 2;
  else if (path.length >= 2 && CONFIG_SLOT_TYPES.includes(path[0] as never) && path[1] === 'supplier') at = 2;
  else return 0;
  let longest = at;
  while (path.length >= at + 2 && path[at] === 'parts' && typeof path[at + 1] === 'number') {
    at += 2;
    longest = at;
  }
  return longest;
}

/**
 * Repairs `data` at each of `paths` (the places problems were found): a value that is there is
 * removed (its default applies); a supplier that is itself the problem (not a supplier, a bad `type`,
 * a required setting missing) is replaced by a stand-in. Returns the copy with what was repaired so
 * far (`previous` included), or `null` when the root itself is the problem.
 *
 * @example
 * ```ts
 * import { repairAt } from 'slotwise/internal/config/config-repair.js';
 * repairAt({ activity: { supplier: { type: 'cpu', minSlots: -1 } } }, [['activity', 'supplier', 'minSlots']]);
 * // => { data: { activity: { supplier: { type: 'cpu' } } }, repaired: [['activity', 'supplier', 'minSlots']] }
 * repairAt({ activity: { supplier: 5 } }, [['activity', 'supplier']]);
 * // => { data: { activity: { supplier: { type: 'fixed', slots: 2, name: '(invalid supplier at activity.supplier)' } } }, repaired: [['activity', 'supplier']] }
 * ```
 */
export function repairAt(
  data: unknown,
  paths: readonly DataPath[],
  previous: readonly DataPath[] = [],
): RepairedData | null {
  if (!isContainer(data)) return null;
  const copy = structuredClone(data) as Record<string, unknown>;
  const repaired: DataPath[] = [...previous];
  const standIns = new Set(previous.filter(isSupplierPlace).map(keyOf));
  const standIn = (place: DataPath): boolean => {
    if (standIns.has(keyOf(place))) return false;
    standIns.add(keyOf(place));
    const value: Record<string, unknown> = { type: 'fixed', slots: 2 };
    if (place[0] !== 'suppliers' || place.length > 2) value.name = standInName(place);
    if (!set(copy, place, value)) return false;
    repaired.push(place);
    return true;
  };
  for (const path of paths) {
    if (path.length === 0) return null;
    const place = path.slice(0, supplierPrefixLength(path));
    const whole =
      place.length > 0 &&
      (path.length === place.length || (path.length === place.length + 1 && path[place.length] === 'type'));
    if (whole && standIn(place)) continue;
    if (!whole && remove(copy, path)) {
      repaired.push(path);
      continue;
    }
    // A required setting is missing, or a stand-in is refused too (a bad key under `suppliers`).
    if (place.length > 0 && standIn(place)) continue;
    const target = place.length > 0 ? place : path;
    if (remove(copy, target)) repaired.push(target);
  }
  return { data: copy, repaired };
}

const keyOf = (path: DataPath): string => path.join('\u0000');

/**
 * Whether a problem that depends on the values at `paths` involves a repaired place: one of them is
 * inside, or contains, a place that was repaired. Such a problem is an artifact of the repair (a
 * default standing in for a value the user wrote) and is not reported.
 */
export function involvesRepaired(paths: readonly DataPath[], repaired: readonly DataPath[]): boolean {
  const prefix = (a: DataPath, b: DataPath) =>
    a.length <= b.length && a.every((segment, i) => segment === b[i]);
  return paths.some((path) => repaired.some((place) => prefix(place, path) || prefix(path, place)));
}

function isContainer(value: unknown): value is Record<string | number, unknown> {
  return typeof value === 'object' && value !== null;
}

/** The container holding the last segment of `path`, or `undefined`. */
function parentOf(
  root: Record<string, unknown>,
  path: DataPath,
): Record<string | number, unknown> | undefined {
  let node: unknown = root;
  for (const segment of path.slice(0, -1)) {
    if (!isContainer(node)) return undefined;
    node = node[segment];
  }
  return isContainer(node) ? node : undefined;
}

function set(root: Record<string, unknown>, path: DataPath, value: unknown): boolean {
  const parent = parentOf(root, path);
  if (parent === undefined) return false;
  parent[path[path.length - 1]!] = value;
  return true;
}

function remove(root: Record<string, unknown>, path: DataPath): boolean {
  const parent = parentOf(root, path);
  const key = path[path.length - 1]!;
  if (parent === undefined || !(key in parent)) return false;
  if (Array.isArray(parent)) {
    // Keep the indices of the other items: a removed list item becomes a stand-in-free hole the
    // schema reports again, so lists are repaired through their supplier instead.
    return false;
  }
  delete parent[key];
  return true;
}
