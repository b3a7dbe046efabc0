// Client-side helpers: run them wherever a @temporalio/client Client is available.

export type { ConcurrencyShard } from '../workflows/concurrency/types.js';
export {
  type CancelOutcome,
  type CancelWorkflowsOptions,
  type CancelWorkflowsProgress,
  type CancelWorkflowsResult,
  type CancelWorkflowsTarget,
  cancelWorkflows,
} from './cancel-workflows.js';
export { ConcurrencyNotRunningError, getConcurrencyState } from './concurrency-admin.js';
export { type ConcurrencyPriorityOptions, concurrencyPriority } from './concurrency-priority.js';
export { FleetNotRunningError, getFleetState, setFleetSlots } from './fleet-admin.js';
