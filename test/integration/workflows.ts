// Workflows the integration tests run: slotwise's own examples plus test-only ones.

export * from '../../bench/lib/fleet/work-workflow.js';
export {
  countPrimesWorkflow,
  fanOutWorkflow,
  renderJobsWorkflow,
  waitForFileWorkflow,
} from '../../src/examples/workflows.js';
export { fleetLeaseManagerWorkflow } from '../../src/workflows/index.js';
export * from './workflows/cancellation.js';
export * from './workflows/concurrency.js';
export * from './workflows/eviction.js';
export * from './workflows/tuner.js';
