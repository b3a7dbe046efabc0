import { describe, expect, it } from 'vitest';
import { GROUP_LINGER_MS, SlotGroups } from '../../src/suppliers/slot-groups.js';
import { TEMPORAL_FLOORS } from '../../src/suppliers/slot-type-limits.js';

const workflow = (isSticky: boolean, taskQueue = 'q') =>
  ({ slotType: 'workflow', taskQueue, isSticky }) as const;
const activity = (taskQueue = 'q') => ({ slotType: 'activity', taskQueue }) as const;
const permitOf = (request: { slotType: string; taskQueue: string; isSticky?: boolean }) => ({
  slotType: request.slotType,
  taskQueue: request.taskQueue,
  sticky: request.isSticky === true,
});

function issue(groups: SlotGroups, request: { slotType: string; taskQueue: string; isSticky?: boolean }) {
  groups.touch(request as never);
  const floor = groups.isFloorPermit(request as never);
  groups.issued(permitOf(request));
  return floor;
}

describe('SlotGroups', () => {
  it('isFloorPermit() is true for an activity group below its floor only', () => {
    const groups = new SlotGroups({ workflow: 2, activity: 2, localActivity: 0 });
    expect([issue(groups, activity()), issue(groups, activity()), issue(groups, activity())]).toEqual([
      true,
      true,
      false,
    ]);
    expect(groups.isFloorPermit({ slotType: 'local-activity', taskQueue: 'q' })).toBe(false);
    expect(groups.isFloorPermit(activity('other'))).toBe(true);
  });

  it('isFloorPermit() keeps one of a workflow floor of 2 for each poll kind', () => {
    const groups = new SlotGroups(TEMPORAL_FLOORS);
    expect(issue(groups, workflow(true))).toBe(true);
    expect(issue(groups, workflow(true))).toBe(false); // the other one is the non-sticky poll's
    expect(issue(groups, workflow(false))).toBe(true);
    expect(issue(groups, workflow(false))).toBe(false);
  });

  it('isFloorPermit() gives a workflow floor of 3 to either kind once each kind has one', () => {
    const groups = new SlotGroups({ ...TEMPORAL_FLOORS, workflow: 3 });
    expect([true, true, false].map(() => issue(groups, workflow(false)))).toEqual([true, true, false]);
    expect(issue(groups, workflow(true))).toBe(true);
    expect(issue(groups, workflow(true))).toBe(false);
  });

  it('unmetAfter() counts the floor permits every served group is still owed', () => {
    const groups = new SlotGroups(TEMPORAL_FLOORS);
    groups.touch(activity());
    groups.touch(workflow(true));
    groups.waitStarted({ slotType: 'local-activity', taskQueue: 'q' });
    // activity 1 + workflow 2 + local activity 1; a permit for the activity group itself meets its 1.
    expect(groups.unmetAfter(activity())).toBe(3);
    expect(groups.unmetAfter(activity('new'))).toBe(4);
    issue(groups, workflow(true));
    expect(groups.unmetAfter(activity('new'))).toBe(3);
    // A second sticky permit would not meet the non-sticky poll's floor permit.
    expect(groups.unmetAfter(workflow(true))).toBe(3);
  });

  it('unmetAfter() forgets a group that held nothing and waited for nothing for GROUP_LINGER_MS', () => {
    const now = { value: 0 };
    const groups = new SlotGroups(TEMPORAL_FLOORS, undefined, () => now.value);
    issue(groups, activity('gone'));
    now.value = 10 * GROUP_LINGER_MS;
    expect(groups.unmetAfter(activity('q'))).toBe(0); // it still holds its permit: floor met
    groups.released(permitOf(activity('gone')));
    expect(groups.snapshot().map((g) => [g.taskQueue, g.unmet])).toEqual([['gone', 1]]);
    now.value += GROUP_LINGER_MS - 1;
    expect(groups.unmetAfter(activity('q'))).toBe(1);
    now.value += 1;
    expect(groups.unmetAfter(activity('q'))).toBe(0);
    expect(groups.snapshot()).toEqual([]);
  });

  it('leavesRoom() is unmetAfter() <= free, whether free is above the bound or not', () => {
    const groups = new SlotGroups(TEMPORAL_FLOORS);
    issue(groups, workflow(true)); // q owes: workflow 1, activity 1, local activity 1
    expect([0, 1, 2, 3, 4, 100].map((free) => groups.leavesRoom(workflow(true), free))).toEqual([
      false,
      false,
      false,
      true,
      true,
      true,
    ]);
    expect(groups.leavesRoom(workflow(true), -1)).toBe(false);
  });

  it('atCeiling() is true once a group holds its ceiling', () => {
    const groups = new SlotGroups(TEMPORAL_FLOORS, { workflow: null, activity: 2, localActivity: null });
    issue(groups, activity());
    expect(groups.atCeiling(activity())).toBe(false);
    issue(groups, activity());
    expect([groups.atCeiling(activity()), groups.atCeiling(activity('other'))]).toEqual([true, false]);
    expect(groups.atCeiling(workflow(true))).toBe(false);
  });

  it('unmetAfter() keeps room on a queue serving workflow tasks for its activity and local activity floors before they ask', () => {
    const groups = new SlotGroups(TEMPORAL_FLOORS);
    issue(groups, workflow(true));
    issue(groups, workflow(false));
    // A third workflow permit must leave the activity and local activity floors of the queue free.
    expect(groups.unmetAfter(workflow(true))).toBe(2);
    issue(groups, activity('activities-only'));
    expect(groups.unmetAfter(workflow(true))).toBe(2); // nothing kept for workflow tasks on that queue
  });

  it('declare() keeps room for the declared slot types only, on every queue served', () => {
    const groups = new SlotGroups(TEMPORAL_FLOORS);
    groups.declare(['workflow']);
    issue(groups, workflow(true));
    expect(groups.unmetAfter(workflow(true))).toBe(1); // the non-sticky poll's floor permit only
    groups.declare(['local-activity']);
    groups.touch(activity('other'));
    // q: workflow 1 + local activity 1; other: workflow 2, local activity 1 (activity asked: its own permit meets it)
    expect(groups.unmetAfter(activity('other'))).toBe(5);
    expect(groups.declared).toEqual(new Set(['workflow', 'local-activity']));
  });

  it('snapshot() reports floor, ceiling, permits, waiters and unmet floor per group, and the groups room is kept for', () => {
    const groups = new SlotGroups(TEMPORAL_FLOORS, { workflow: 10, activity: null, localActivity: null });
    issue(groups, workflow(true));
    groups.waitStarted(workflow(true));
    const kept = { ceiling: null, issued: 0, sticky: 0, waiting: 0, unmet: 1, floor: 1, taskQueue: 'q' };
    expect(groups.snapshot()).toEqual([
      {
        slotType: 'workflow',
        taskQueue: 'q',
        floor: 2,
        ceiling: 10,
        issued: 1,
        sticky: 1,
        waiting: 1,
        unmet: 1,
      },
      { ...kept, slotType: 'activity' },
      { ...kept, slotType: 'local-activity' },
    ]);
  });
});
