import { checkInteger, checkKnownKeys, checkOptionsObject, optionError } from '../option-checks.js';
import type { PerSlotType, SlotType } from './types.js';

/** A key of {@link PerSlotType}: `workflow`, `activity` or `localActivity`. */
export type SlotTypeKey = keyof PerSlotType<unknown>;

/**
 * Floors: how many permits each `(slot type, task queue)` a supplier serves gets whatever its
 * readings say, like the `minimumSlots` of each slot type in Temporal's resource-based tuner.
 * A workflow floor of `n` always includes one sticky and one non-sticky permit (core needs both to
 * make progress), so it is `0` (none) or at least `2`. Keys left out take their default.
 */
export type SlotTypeFloors = Partial<PerSlotType<number>>;

/**
 * Ceilings: the most permits one `(slot type, task queue)` may hold at once, like the
 * `maximumSlots` of each slot type in Temporal's resource-based tuner. Keys left out have none.
 */
export type SlotTypeCeilings = Partial<PerSlotType<number>>;

/**
 * The floors of Temporal's resource-based tuner, slotwise's default: 2 workflow permits (one
 * sticky, one non-sticky), 1 activity, 1 local activity, per task queue.
 *
 * @example
 * ```ts
 * import { TEMPORAL_FLOORS } from 'slotwise/internal/suppliers/slot-type-limits.js';
 * TEMPORAL_FLOORS; // => { workflow: 2, activity: 1, localActivity: 1 }
 * ```
 */
export const TEMPORAL_FLOORS: Readonly<PerSlotType<number>> = Object.freeze({
  workflow: 2,
  activity: 1,
  localActivity: 1,
});

/** No floors at all: every permit waits for the supplier's own admission rule. */
export const NO_FLOORS: Readonly<PerSlotType<number>> = Object.freeze({
  workflow: 0,
  activity: 0,
  localActivity: 0,
});

/** No ceilings. */
export const NO_CEILINGS: Readonly<PerSlotType<number | null>> = Object.freeze({
  workflow: null,
  activity: null,
  localActivity: null,
});

/** The slot type keys, in the order they are reported. */
export const SLOT_TYPE_KEYS: readonly SlotTypeKey[] = ['workflow', 'activity', 'localActivity'];

/**
 * The {@link PerSlotType} key of a slot type (`'local-activity'` -> `'localActivity'`), or
 * `undefined` for one slotwise does not serve (Nexus).
 */
export function slotTypeKey(slotType: string): SlotTypeKey | undefined {
  switch (slotType) {
    case 'workflow':
      return 'workflow';
    case 'activity':
      return 'activity';
    case 'local-activity':
      return 'localActivity';
    default:
      return undefined;
  }
}

/** The slot type of a {@link PerSlotType} key (`'localActivity'` -> `'local-activity'`). */
export function slotTypeOfKey(key: SlotTypeKey): SlotType {
  return key === 'localActivity' ? 'local-activity' : key;
}

const NEXUS_HINT =
  'Nexus tasks cannot use a custom supplier in the TypeScript SDK, so slotwise has no Nexus floor or ceiling.';

function checkKeys(owner: string, option: string, value: object): void {
  if ('nexus' in value) {
    optionError(owner, `${option}.nexus`, 'absent', (value as { nexus: unknown }).nexus, NEXUS_HINT);
  }
  checkKnownKeys(`${owner}: \`${option}\``, value, SLOT_TYPE_KEYS);
}

/**
 * Checks a `floors` option and fills in `defaults` for the keys it leaves out; `false` means no
 * floors at all.
 */
export function checkFloors(
  owner: string,
  value: unknown,
  defaults: Readonly<PerSlotType<number>>,
): PerSlotType<number> {
  if (value === undefined) return { ...defaults };
  if (value === false) return { ...NO_FLOORS };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    optionError(owner, 'floors', 'an object such as { workflow: 2, activity: 1 }, or false for none', value);
  }
  checkKeys(owner, 'floors', value);
  const given = value as SlotTypeFloors;
  const floors = { ...defaults };
  for (const key of SLOT_TYPE_KEYS) {
    const floor = given[key];
    if (floor === undefined) continue;
    floors[key] = checkInteger(owner, `floors.${key}`, floor, 0);
    if (key === 'workflow' && floor === 1) {
      optionError(
        owner,
        'floors.workflow',
        '0 or an integer >= 2 (a workflow floor holds one sticky and one non-sticky permit)',
        floor,
      );
    }
  }
  return floors;
}

/** Checks a `ceilings` option against the floors it must not be below. */
export function checkCeilings(
  owner: string,
  value: unknown,
  floors: Readonly<PerSlotType<number>>,
): PerSlotType<number | null> {
  if (value === undefined) return { ...NO_CEILINGS };
  checkOptionsObject(`${owner}: \`ceilings\``, value);
  checkKeys(owner, 'ceilings', value as object);
  const given = value as SlotTypeCeilings;
  const ceilings: PerSlotType<number | null> = { ...NO_CEILINGS };
  for (const key of SLOT_TYPE_KEYS) {
    const ceiling = given[key];
    if (ceiling === undefined) continue;
    const least = Math.max(key === 'workflow' ? 2 : 1, floors[key]);
    const why =
      floors[key] >= least && floors[key] > (key === 'workflow' ? 2 : 1)
        ? ` (floors.${key} is ${floors[key]})`
        : key === 'workflow'
          ? ' (core holds a sticky and a non-sticky workflow poll)'
          : '';
    if (typeof ceiling !== 'number' || !Number.isInteger(ceiling) || ceiling < least) {
      optionError(owner, `ceilings.${key}`, `an integer >= ${least}${why}`, ceiling);
    }
    ceilings[key] = ceiling;
  }
  return ceilings;
}
