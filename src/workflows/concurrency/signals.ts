import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { ConcurrencyControllerSnapshot, ConcurrencyDecision, ConcurrencyRequest } from './types.js';

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
export function concurrencyControllerId(group: string): string {
  return `slotwise-concurrency:${group}`;
}

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
 * can be delivered, which it cannot once the run is closed.
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
