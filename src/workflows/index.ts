// Everything exported here runs inside Temporal's workflow sandbox: no Node imports, ever.
export {
  CONCURRENCY_ACTIVITY_TYPES,
  type ConcurrencyActivities,
  type ConcurrencyHolderStatus,
} from './concurrency/activity-contract.js';
export { concurrencyControllerWorkflow } from './concurrency/controller-workflow.js';
export {
  ConcurrencyCancelledError,
  ConcurrencyOptionsError,
  ConcurrencyRejectedError,
} from './concurrency/errors.js';
export {
  type ConcurrencyExampleInput,
  concurrencyExampleWorkflow,
  type SingleFlightResult,
  singleFlightExampleWorkflow,
} from './concurrency/examples.js';
export { DEFAULT_CONTROLLER_SETTINGS, type WithConcurrencyOptions } from './concurrency/options.js';
export { concurrencyControllerId, concurrencyShardOf, concurrencyStateQuery } from './concurrency/signals.js';
export {
  type ConcurrencyControllerInput,
  type ConcurrencyControllerResult,
  type ConcurrencyControllerSettings,
  type ConcurrencyControllerSnapshot,
  type ConcurrencyPolicy,
  type ConcurrencyRunningRun,
  type ConcurrencyRunRef,
  type ConcurrencyStats,
  ConcurrencyStrategy,
} from './concurrency/types.js';
export { withConcurrency } from './concurrency/with-concurrency.js';
export {
  EVICTION_FAILURE_TYPE,
  type EvictableActivityOptions,
  evictableRetryPolicy,
  proxyEvictableActivities,
} from './evictable-activity.js';
export { type FanOutInput, fanOutWorkflow } from './example-workflows.js';
export { countPrimesWorkflow, renderJobsWorkflow, waitForFileWorkflow } from './feature-examples.js';
export {
  DEFAULT_FLEET_SETTINGS,
  FLEET_MANAGER_WORKFLOW_TYPE,
  fleetManagerId,
  fleetSetSlotsUpdate,
  fleetStateQuery,
  fleetSyncUpdate,
} from './fleet/definitions.js';
export { fleetLeaseManagerWorkflow } from './fleet/lease-manager-workflow.js';
export {
  FLEET_TICKS_PER_TTL,
  FLEET_WAIT_TICKS,
  type FleetHolderSnapshot,
  type FleetKnown,
  type FleetManagerInput,
  type FleetManagerResult,
  type FleetSetSlotsRequest,
  type FleetSettings,
  type FleetStateSnapshot,
  type FleetStats,
  type FleetSyncRequest,
  type FleetView,
} from './fleet/types.js';
