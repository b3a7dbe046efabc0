import type { Client } from '@temporalio/client';

/**
 * How many partitions of a task queue {@link activityBacklog} reads: Temporal's default
 * `matching.numTaskqueueReadPartitions`. The dev server uses it too.
 */
export const DEFAULT_TASK_QUEUE_PARTITIONS = 4;

/** `TASK_QUEUE_KIND_NORMAL` and `TASK_QUEUE_TYPE_ACTIVITY` of `temporal.api.enums.v1`. */
const KIND_NORMAL = 1;
const TYPE_ACTIVITY = 2;

/**
 * The activity backlog of one task queue: `total` is fresh (it drops within a round trip of a poller
 * taking a task); `byPriority` counts the tasks per Temporal priority key (1 is dispatched first), but
 * the server caches it (on a 1.29 dev server a new task showed up in it after up to 5 s), and it is
 * `undefined` where the server does not report it.
 */
export interface BacklogReading {
  total: number;
  byPriority: ReadonlyMap<number, number> | undefined;
}

/** Reads the activity backlog of one task queue; rejects when the server cannot tell. */
export type BacklogProbe = (client: Client, namespace: string, taskQueue: string) => Promise<BacklogReading>;

/** `temporal.api.enums.v1.DescribeTaskQueueMode` is not needed: legacy mode with `reportStats`. */
async function backlogByPriority(
  client: Client,
  namespace: string,
  taskQueue: string,
): Promise<ReadonlyMap<number, number> | undefined> {
  const response = await client.workflowService.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue, kind: KIND_NORMAL },
    taskQueueType: TYPE_ACTIVITY,
    reportStats: true,
  });
  const stats = response.statsByPriorityKey;
  if (!stats || Object.keys(stats).length === 0) return undefined;
  const counts = new Map<number, number>();
  for (const [key, value] of Object.entries(stats)) {
    counts.set(Number(key), Number(value?.approximateBacklogCount ?? 0));
  }
  return counts;
}

/**
 * {@link activityBacklog} and the backlog per priority key of `taskQueue`, read in parallel: what
 * capacity eviction needs to tell work that outranks a wait from other waits.
 */
export async function activityBacklogReading(
  client: Client,
  namespace: string,
  taskQueue: string,
): Promise<BacklogReading> {
  const [total, byPriority] = await Promise.all([
    activityBacklog(client, namespace, taskQueue),
    backlogByPriority(client, namespace, taskQueue),
  ]);
  return { total, byPriority };
}

/**
 * The activity tasks waiting in `taskQueue`'s backlog on the server right now: the sum of
 * `taskQueueStatus.backlogCountHint` over the root partition and its `/_sys/<queue>/<n>` children.
 *
 * Why not `stats.approximateBacklogCount` (the one-call, all-partitions figure)? The server caches it:
 * on a 1.29 dev server a new task showed up in it 2.7 to 3.0 s late, while the per-partition hint
 * changes within one round trip (and drops within ~25 ms of a poller taking the task). The hint is
 * exact per partition; partitions beyond `partitions` are not read, so on a queue with more
 * partitions some new work goes unseen (evictions happen later or not at all, never wrongly).
 * The calls run in parallel and take 2-5 ms on a local dev server.
 */
export async function activityBacklog(
  client: Client,
  namespace: string,
  taskQueue: string,
  partitions = DEFAULT_TASK_QUEUE_PARTITIONS,
): Promise<number> {
  const names = [taskQueue];
  for (let n = 1; n < partitions; n++) names.push(`/_sys/${taskQueue}/${n}`);
  const hints = await Promise.all(
    names.map(async (name) => {
      const response = await client.workflowService.describeTaskQueue({
        namespace,
        taskQueue: { name, kind: KIND_NORMAL },
        taskQueueType: TYPE_ACTIVITY,
        includeTaskQueueStatus: true,
      });
      return Number(response.taskQueueStatus?.backlogCountHint ?? 0);
    }),
  );
  return hints.reduce((sum, hint) => sum + hint, 0);
}
