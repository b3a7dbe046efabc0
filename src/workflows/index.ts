// `slotwise/workflows`: what workflow code imports. Everything here runs inside Temporal's workflow
// sandbox: no Node imports, ever. The example workflows are in `slotwise/examples/workflows`.
export { concurrencyControllerWorkflow } from './concurrency/controller-workflow.js';
export {
  ConcurrencyCancelledError,
  ConcurrencyOptionsError,
  ConcurrencyRejectedError,
} from './concurrency/errors.js';
export type { WithConcurrencyOptions } from './concurrency/options.js';
export { concurrencyControllerId, concurrencyShardOf, concurrencyStateQuery } from './concurrency/signals.js';
export {
  type ConcurrencyControllerSettings,
  type ConcurrencyControllerSnapshot,
  type ConcurrencyPolicy,
  ConcurrencyStrategy,
} from './concurrency/types.js';
export { withConcurrency } from './concurrency/with-concurrency.js';
export {
  EVICTION_FAILURE_TYPE,
  type EvictableActivityOptions,
  evictableRetryPolicy,
  proxyEvictableActivities,
} from './evictable-activity.js';
export { fleetLeaseManagerWorkflow } from './fleet/lease-manager-workflow.js';
