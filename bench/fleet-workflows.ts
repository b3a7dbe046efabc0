// The workflows bench/fleet.ts bundles: the fleet test workload and the lease manager.

export { fleetLeaseManagerWorkflow } from '../src/workflows/fleet/index.js';
export { fleetWorkWorkflow } from './lib/fleet/work-workflow.js';
