import { NO_CEILINGS, slotTypeKey } from './slot-type-limits.js';
import type { PerSlotType, ReservationContext, SlotGroupSnapshot, SlotType } from './types.js';

/** What a permit tells about its group. */
interface PermitGroup {
  readonly slotType: string;
  readonly taskQueue: string;
  readonly sticky: boolean;
}

interface Group {
  readonly slotType: SlotType;
  readonly taskQueue: string;
  issued: number;
  sticky: number;
  waiting: number;
  /** Clock reading when it last had neither a permit nor a waiter. */
  idleSince: number;
}

/**
 * How long a group that holds no permit and waits for none still has its floor kept free (ms).
 * Core releases a poll's permit and reserves the next one moments later; a Worker that stopped
 * polling a task queue stops reserving room on the supplier after this long.
 */
export const GROUP_LINGER_MS = 5000;

const groupKey = (slotType: string, taskQueue: string): string => `${slotType}\u0000${taskQueue}`;

/**
 * The permits of each `(slot type, task queue)` a supplier serves, against the floor and ceiling of
 * its slot type. The ledger asks it whether a reservation is a floor permit (one the group is owed
 * whatever the readings), whether the group is at its ceiling, and how many floor permits other
 * groups are still owed, so that permits above the floors leave room for them under the supplier's
 * maximum.
 *
 * A workflow floor counts sticky and non-sticky polls together but always includes one of each:
 * core cannot make progress without both, so with a floor of 2 a second sticky permit is not a floor
 * permit while no non-sticky one is out.
 *
 * Room is kept on each task queue for the slot types it will ask for, not only those that asked:
 * core reserves a local activity's slot only when the workflow schedules one, by which time workflow
 * polls may hold every permit for as long as a long poll lasts. The types are those
 * {@link declare | declared}; without a declaration, those that asked on the queue, and with
 * workflow tasks activity and local activity tasks too (one supplier for a whole Worker).
 *
 * @example
 * ```ts
 * import { SlotGroups } from 'slotwise/internal/suppliers/slot-groups.js';
 * const groups = new SlotGroups({ workflow: 2, activity: 1, localActivity: 1 });
 * const sticky = { slotType: 'workflow', taskQueue: 'q', isSticky: true } as const;
 * groups.isFloorPermit(sticky); // => true
 * groups.issued({ slotType: 'workflow', taskQueue: 'q', sticky: true });
 * groups.isFloorPermit(sticky); // => false (the other floor permit is the non-sticky poll's)
 * ```
 */
export class SlotGroups {
  #floors: PerSlotType<number>;
  #ceilings: PerSlotType<number | null>;
  readonly #now: () => number;
  readonly #lingerMs: number;
  readonly #groups = new Map<string, Group>();
  #declared: Set<SlotType> | null = null;
  /** The group found last: a supplier mostly serves one, and finding it again then builds no key. */
  #last: Group | undefined;

  constructor(
    floors: PerSlotType<number>,
    ceilings: PerSlotType<number | null> = NO_CEILINGS,
    now: () => number = () => performance.now(),
    lingerMs = GROUP_LINGER_MS,
  ) {
    this.#floors = { ...floors };
    this.#ceilings = { ...ceilings };
    this.#now = now;
    this.#lingerMs = lingerMs;
  }

  /** The floor of each slot type. */
  get floors(): Readonly<PerSlotType<number>> {
    return this.#floors;
  }

  /** The ceiling of each slot type (`null`: none). */
  get ceilings(): Readonly<PerSlotType<number | null>> {
    return this.#ceilings;
  }

  /** Replaces floors and ceilings (already checked); permits in flight are kept. */
  setLimits(floors: PerSlotType<number>, ceilings: PerSlotType<number | null>): void {
    this.#floors = { ...floors };
    this.#ceilings = { ...ceilings };
  }

  /**
   * Declares the slot types the supplier serves, so that room is kept for their floors on every
   * task queue it serves before they ask (adds to earlier declarations).
   */
  declare(slotTypes: Iterable<SlotType>): void {
    this.#declared ??= new Set();
    for (const slotType of slotTypes) this.#declared.add(slotType);
  }

  /** The slot types {@link declare | declared}, or `null` when they are learned. */
  get declared(): ReadonlySet<SlotType> | null {
    return this.#declared;
  }

  /** Notes that `request`'s group is asking now (it counts as served from here on). */
  touch(request: ReservationContext): void {
    this.#group(request.slotType, request.taskQueue);
  }

  /** Permits of `(slotType, taskQueue)` issued and not released. */
  issuedIn(slotType: string, taskQueue: string): number {
    return this.#find(slotType, taskQueue)?.issued ?? 0;
  }

  /** Of those, the sticky ones (workflow polls of a Worker's sticky queue). */
  stickyIn(slotType: string, taskQueue: string): number {
    return this.#find(slotType, taskQueue)?.sticky ?? 0;
  }

  /** Counts a permit issued. */
  issued(permit: PermitGroup): void {
    const group = this.#group(permit.slotType, permit.taskQueue);
    group.issued++;
    if (permit.sticky) group.sticky++;
  }

  /** Counts a permit released. */
  released(permit: PermitGroup): void {
    const group = this.#find(permit.slotType, permit.taskQueue);
    if (group === undefined) return;
    group.issued--;
    if (permit.sticky) group.sticky--;
    this.#settle(group);
  }

  /** Counts a reservation that starts waiting. */
  waitStarted(request: ReservationContext): void {
    this.#group(request.slotType, request.taskQueue).waiting++;
  }

  /** Counts a waiting reservation that was granted or aborted. */
  waitEnded(request: ReservationContext): void {
    const group = this.#find(request.slotType, request.taskQueue);
    if (group === undefined) return;
    group.waiting--;
    this.#settle(group);
  }

  /** Whether a permit for `request` would be one of its group's floor permits. */
  isFloorPermit(request: ReservationContext): boolean {
    const group = this.#find(request.slotType, request.taskQueue);
    const sticky = request.isSticky === true;
    if (group === undefined)
      return this.#unmet(request.slotType, 0, 0) > this.#unmet(request.slotType, 1, +sticky);
    return this.#unmetOf(group) > this.#unmet(group.slotType, group.issued + 1, group.sticky + +sticky);
  }

  /** Whether `request`'s group holds as many permits as its ceiling allows. */
  atCeiling(request: ReservationContext): boolean {
    const key = slotTypeKey(request.slotType);
    const ceiling = key === undefined ? null : this.#ceilings[key];
    if (ceiling === null) return false;
    const group = this.#find(request.slotType, request.taskQueue);
    return (group?.issued ?? 0) >= ceiling;
  }

  /**
   * Whether one more permit for `request` (not a floor permit) leaves `free` permits, enough for
   * every floor permit still owed ({@link unmetAfter}). Cheap while `free` exceeds what all groups
   * could be owed at most.
   */
  leavesRoom(request: ReservationContext, free: number): boolean {
    const { workflow, activity, localActivity } = this.#floors;
    if (free >= this.#groups.size * (workflow + activity + localActivity)) return true;
    return this.unmetAfter(request) <= free;
  }

  /**
   * The floor permits every group would still be owed after one more permit for `request` (not a
   * floor permit) were issued: what permits above the floors must leave room for. Groups that have
   * not asked yet count with their whole floor (see the class docs).
   */
  unmetAfter(request: ReservationContext): number {
    let total = 0;
    const sticky = request.isSticky === true;
    for (const [taskQueue, groups] of this.#byQueue()) {
      for (const slotType of this.#keptTypes(groups)) {
        const group = groups.get(slotType);
        const issued = group?.issued ?? 0;
        const stickyIssued = group?.sticky ?? 0;
        total +=
          taskQueue === request.taskQueue && slotType === request.slotType
            ? this.#unmet(slotType, issued + 1, stickyIssued + +sticky)
            : this.#unmet(slotType, issued, stickyIssued);
      }
    }
    return total;
  }

  /**
   * The groups served lately (holding permits or waiting, or idle for less than the linger time),
   * and those room is kept for on the same task queues.
   */
  snapshot(): SlotGroupSnapshot[] {
    const snapshots: SlotGroupSnapshot[] = [];
    for (const [taskQueue, groups] of this.#byQueue()) {
      const types = new Set([...groups.keys(), ...this.#keptTypes(groups)]);
      for (const slotType of types) {
        const group = groups.get(slotType);
        const slotKey = slotTypeKey(slotType);
        snapshots.push({
          slotType,
          taskQueue,
          floor: slotKey === undefined ? 0 : this.#floors[slotKey],
          ceiling: slotKey === undefined ? null : this.#ceilings[slotKey],
          issued: group?.issued ?? 0,
          sticky: group?.sticky ?? 0,
          waiting: group?.waiting ?? 0,
          unmet: this.#unmet(slotType, group?.issued ?? 0, group?.sticky ?? 0),
        });
      }
    }
    return snapshots;
  }

  /** The active groups by task queue, in the order they were first served; forgets stale ones. */
  #byQueue(): Map<string, Map<SlotType, Group>> {
    const now = this.#now();
    const byQueue = new Map<string, Map<SlotType, Group>>();
    for (const [key, group] of this.#groups) {
      if (!this.#active(group, now)) {
        this.#groups.delete(key);
        if (group === this.#last) this.#last = undefined;
        continue;
      }
      let groups = byQueue.get(group.taskQueue);
      if (groups === undefined) {
        groups = new Map();
        byQueue.set(group.taskQueue, groups);
      }
      groups.set(group.slotType, group);
    }
    return byQueue;
  }

  /** The slot types room is kept for on a task queue whose active groups are `groups`. */
  #keptTypes(groups: ReadonlyMap<SlotType, Group>): SlotType[] {
    const types = new Set<SlotType>(this.#declared ?? []);
    for (const slotType of groups.keys()) types.add(slotType);
    if (this.#declared === null && groups.has('workflow')) {
      types.add('activity');
      types.add('local-activity');
    }
    return [...types];
  }

  /** The group of `(slotType, taskQueue)`, if it is kept. */
  #find(slotType: string, taskQueue: string): Group | undefined {
    const last = this.#last;
    if (last !== undefined && last.slotType === slotType && last.taskQueue === taskQueue) return last;
    const group = this.#groups.get(groupKey(slotType, taskQueue));
    if (group !== undefined) this.#last = group;
    return group;
  }

  #group(slotType: string, taskQueue: string): Group {
    let group = this.#find(slotType, taskQueue);
    if (group === undefined) {
      group = { slotType: slotType as SlotType, taskQueue, issued: 0, sticky: 0, waiting: 0, idleSince: 0 };
      this.#groups.set(groupKey(slotType, taskQueue), group);
      this.#last = group;
    }
    if (group.issued === 0 && group.waiting === 0) group.idleSince = this.#now();
    return group;
  }

  #settle(group: Group): void {
    if (group.issued === 0 && group.waiting === 0) group.idleSince = this.#now();
  }

  #active(group: Group, now: number): boolean {
    return group.issued > 0 || group.waiting > 0 || now - group.idleSince < this.#lingerMs;
  }

  #unmetOf(group: Group): number {
    return this.#unmet(group.slotType, group.issued, group.sticky);
  }

  /** Floor permits a group of `slotType` holding `issued` permits (`sticky` of them sticky) is owed. */
  #unmet(slotType: string, issued: number, sticky: number): number {
    const key = slotTypeKey(slotType);
    const floor = key === undefined ? 0 : this.#floors[key];
    if (floor === 0) return 0;
    if (key !== 'workflow') return Math.max(0, floor - issued);
    const kindsMissing = (sticky === 0 ? 1 : 0) + (issued - sticky === 0 ? 1 : 0);
    return Math.max(floor - issued, kindsMissing);
  }
}
