import type { Client } from '@temporalio/client';
import { concurrencyControllerId, concurrencyStateQuery } from '../workflows/concurrency/signals.js';
import type { ConcurrencyControllerSnapshot, ConcurrencyShard } from '../workflows/concurrency/types.js';
import { ANSWER_TIMEOUT_MS, callRunning, type NotRunning } from './running-workflow.js';

/**
 * Thrown by {@link getConcurrencyState} when no controller of the group (or of the shard) runs: no
 * run of it holds or waits for a grant now (a controller completes after its idle timeout), the
 * group name or shard count is wrong, or no Worker that runs the controller is polling.
 *
 * @example
 * ```ts
 * import { Client } from '@temporalio/client';
 * import { ConcurrencyNotRunningError, getConcurrencyState } from 'slotwise/client';
 * try {
 *   await getConcurrencyState(new Client(), 'reports');
 * } catch (error) {
 *   if (error instanceof ConcurrencyNotRunningError) console.log(error.message);
 * }
 * ```
 */
export class ConcurrencyNotRunningError extends Error {
  override name = 'ConcurrencyNotRunningError';
  constructor(
    /** The group. */
    readonly group: string,
    /** The shard asked for, when the group has several. */
    readonly shard: ConcurrencyShard | undefined,
    detail: string,
  ) {
    super(`no controller of concurrency group '${group}'${shardText(shard)} answers: ${detail}`);
  }
}

/**
 * A `withConcurrency()` group's state from its controller: the limits in force, the runs holding a
 * grant and waiting, counters. A group with `controller.shards` > 1 has one controller per shard:
 * pass the shard (`concurrencyShardOf(key, shards)` gives a key's).
 *
 * @example
 * ```ts
 * import { Client } from '@temporalio/client';
 * import { getConcurrencyState } from 'slotwise/client';
 * const state = await getConcurrencyState(new Client(), 'reports');
 * state.runningPerKey; // => { 'tenant-a': 2, 'tenant-b': 1 }
 * ```
 */
export async function getConcurrencyState(
  client: Client,
  group: string,
  shard?: ConcurrencyShard,
): Promise<ConcurrencyControllerSnapshot> {
  if (typeof group !== 'string' || group === '') {
    throw new TypeError(
      `getConcurrencyState: expected group to be a non-empty string, got ${JSON.stringify(group)}`,
    );
  }
  if (shard !== undefined) {
    const { index, count } = shard ?? {}; // null is not a shard either
    if (!Number.isInteger(count) || count < 1 || count > 64) {
      throw new RangeError(
        `getConcurrencyState: expected shard.count to be an integer in [1, 64], got ${JSON.stringify(count)}`,
      );
    }
    if (!Number.isInteger(index) || index < 0 || index >= count) {
      throw new RangeError(
        `getConcurrencyState: expected shard.index to be an integer in [0, ${count - 1}], got ${JSON.stringify(index)}`,
      );
    }
  }
  return callRunning(
    client,
    concurrencyControllerId(group, shard),
    (handle) => handle.query(concurrencyStateQuery),
    (why: NotRunning) =>
      new ConcurrencyNotRunningError(
        group,
        shard !== undefined && shard.count > 1 ? shard : undefined,
        why.kind === 'never'
          ? 'it never ran in this namespace; check the group name, its controller.shards and the namespace'
          : why.kind === 'closed'
            ? `its last controller is ${why.status} (no run of the group held or waited for a grant for its idle timeout); the next run that asks starts one`
            : `its controller did not answer within ${ANSWER_TIMEOUT_MS / 1000} s; is a Worker that runs concurrencyControllerWorkflow polling its task queue (${why.message})?`,
      ),
  );
}

/** How a shard is named in messages: " shard 2 of 4" (1-based), or nothing for a group of one. */
export function shardText(shard: ConcurrencyShard | undefined): string {
  return shard === undefined ? '' : ` shard ${shard.index + 1} of ${shard.count}`;
}
