// The workflows a fleet lease manager Worker registers: sandbox-safe, no Node imports. Processes
// that host lease managers bundle this file alone.
export { fleetLeaseManagerWorkflow } from './lease-manager-workflow.js';
