import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  ConcurrencyControllerSnapshot,
  ConcurrencyDecision,
  ConcurrencyRequest,
  ConcurrencyShard,
} from './types.js';

/**
 * Workflow type name of {@link concurrencyControllerWorkflow}, as runs start it.
 *
 * @example
 * ```ts
 * import { CONCURRENCY_CONTROLLER_WORKFLOW_TYPE } from 'slotwise/internal/workflows/concurrency/signals.js';
 * CONCURRENCY_CONTROLLER_WORKFLOW_TYPE; // => 'concurrencyControllerWorkflow'
 * ```
 */
export const CONCURRENCY_CONTROLLER_WORKFLOW_TYPE = 'concurrencyControllerWorkflow';

/**
 * The workflow id of the controller of `group`: `slotwise-concurrency:<group>`.
 *
 * @example
 * ```ts
 * import { Client } from '@temporalio/client';
 * import { concurrencyControllerId, concurrencyStateQuery } from 'slotwise/workflows';
 * const client = new Client();
 * concurrencyControllerId('reports'); // => 'slotwise-concurrency:reports'
 * const snapshot = await client.workflow.getHandle(concurrencyControllerId('reports')).query(concurrencyStateQuery);
 * snapshot.runningPerKey; // => { 'user-1': 2, 'user-2': 1 }
 * ```
 */
export function concurrencyControllerId(group: string, shard?: ConcurrencyShard): string {
  if (shard === undefined || shard.count <= 1) return `slotwise-concurrency:${group}`;
  return `slotwise-concurrency:${group}#${shard.index}of${shard.count}`;
}

/**
 * The shard of a group with `count` shards that serves `key`: a stable hash (FNV-1a over the key's
 * UTF-16 code units) modulo `count`, the same in every run and every process.
 *
 * @example
 * ```ts
 * import { concurrencyShardOf } from 'slotwise/workflows';
 * concurrencyShardOf('tenant-a', 4); // => { index: 1, count: 4 } (always the same for this key)
 * ```
 */
export function concurrencyShardOf(key: string, count: number): ConcurrencyShard {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return { index: count <= 1 ? 0 : hash % count, count: Math.max(1, count) };
}

/**
 * Run -> controller, through the slotwise concurrency activities: a request answered at once with the
 * decision (`granted`, `queued`, `rejected`). The controller refuses it (to be retried) while it is about
 * to continue as new, so it never takes more than its history can hold.
 *
 * @example
 * ```ts
 * import { concurrencyAcquireUpdate } from 'slotwise/internal/workflows/concurrency/signals.js';
 * concurrencyAcquireUpdate.name; // => 'slotwise.concurrency.acquire'
 * ```
 */
export const concurrencyAcquireUpdate = defineUpdate<ConcurrencyDecision, [ConcurrencyRequest]>(
  'slotwise.concurrency.acquire',
);

/**
 * Worker process -> controller: the requests of several runs at once, answered with one decision per
 * request, in order. The concurrency activities gather the requests one Worker process makes to a
 * controller at the same time into one such update: the server admits only 10 updates in flight per
 * workflow, and each costs the controller two history events whatever it carries. Refused, like
 * {@link concurrencyAcquireUpdate}, while the controller is about to continue as new.
 *
 * @example
 * ```ts
 * import { concurrencyAcquireBatchUpdate } from 'slotwise/internal/workflows/concurrency/signals.js';
 * concurrencyAcquireBatchUpdate.name; // => 'slotwise.concurrency.acquireBatch'
 * ```
 */
export const concurrencyAcquireBatchUpdate = defineUpdate<ConcurrencyDecision[], [ConcurrencyRequest[]]>(
  'slotwise.concurrency.acquireBatch',
);

/**
 * Run -> controller: a run asks for a grant. Sent by {@link withConcurrency}.
 *
 * @example
 * ```ts
 * import { concurrencyRequestSignal } from 'slotwise/internal/workflows/concurrency/signals.js';
 * concurrencyRequestSignal.name; // => 'slotwise.concurrency.request'
 * ```
 */
export const concurrencyRequestSignal = defineSignal<[ConcurrencyRequest]>('slotwise.concurrency.request');

/**
 * Run -> controller: a run gives its grant back (or stops waiting for one). Sent by {@link withConcurrency}.
 *
 * @example
 * ```ts
 * import { concurrencyReleaseSignal } from 'slotwise/internal/workflows/concurrency/signals.js';
 * concurrencyReleaseSignal.name; // => 'slotwise.concurrency.release'
 * ```
 */
export const concurrencyReleaseSignal = defineSignal<[{ requestId: string }]>('slotwise.concurrency.release');

/**
 * Worker process -> controller: several runs give their grants back at once. The concurrency
 * activities gather the releases one Worker process sends a controller at the same time into one
 * such signal, once that controller has answered a {@link concurrencyAcquireBatchUpdate}.
 *
 * @example
 * ```ts
 * import { concurrencyReleaseBatchSignal } from 'slotwise/internal/workflows/concurrency/signals.js';
 * concurrencyReleaseBatchSignal.name; // => 'slotwise.concurrency.releaseBatch'
 * ```
 */
export const concurrencyReleaseBatchSignal = defineSignal<[{ requestIds: string[] }]>(
  'slotwise.concurrency.releaseBatch',
);

/**
 * Controller -> run: the answer to a request.
 *
 * @example
 * ```ts
 * import { concurrencyDecisionSignal } from 'slotwise/internal/workflows/concurrency/signals.js';
 * concurrencyDecisionSignal.name; // => 'slotwise.concurrency.decision'
 * ```
 */
export const concurrencyDecisionSignal = defineSignal<[ConcurrencyDecision]>('slotwise.concurrency.decision');

/**
 * Controller -> run: "are you still open?". Handled as a no-op; what matters is whether the signal
 * can be delivered, which it cannot once the run is closed. Sent only by a controller whose Workers
 * lack the slotwise concurrency activities (otherwise it describes the run, which adds nothing to the
 * run's history), at grant ages of 2, 4, 8, ... ticks, then every 256 ticks.
 *
 * @example
 * ```ts
 * import { concurrencyProbeSignal } from 'slotwise/internal/workflows/concurrency/signals.js';
 * concurrencyProbeSignal.name; // => 'slotwise.concurrency.probe'
 * ```
 */
export const concurrencyProbeSignal = defineSignal<[]>('slotwise.concurrency.probe');

/**
 * Query of a controller's state: runs holding a grant, runs waiting, per-key counts and counters.
 *
 * @example
 * ```ts
 * import { Client } from '@temporalio/client';
 * import { concurrencyControllerId, concurrencyStateQuery } from 'slotwise/workflows';
 * const client = new Client();
 * const handle = client.workflow.getHandle(concurrencyControllerId('reports'));
 * const { running, queued, stats } = await handle.query(concurrencyStateQuery);
 * ```
 */
export const concurrencyStateQuery = defineQuery<ConcurrencyControllerSnapshot>('slotwise.concurrency.state');
