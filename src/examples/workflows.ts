/**
 * `slotwise/examples/workflows`: the example workflows that call the example activities
 * (`slotwise/examples/activities`). Sandbox-safe, no Node imports: a Worker passes this file as its
 * `workflowsPath`. It also exports `concurrencyControllerWorkflow`, so a Worker bundling this file
 * alone runs the `withConcurrency` examples.
 */
export { concurrencyControllerWorkflow } from '../workflows/concurrency/controller-workflow.js';
export {
  type ConcurrencyExampleInput,
  concurrencyExampleWorkflow,
  type SingleFlightResult,
  singleFlightExampleWorkflow,
} from './concurrency-workflows.js';
export { type FanOutInput, fanOutWorkflow } from './fan-out-workflow.js';
export { countPrimesWorkflow, renderJobsWorkflow, waitForFileWorkflow } from './feature-workflows.js';
