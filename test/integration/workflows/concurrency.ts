// The concurrency examples and the controller they start, for the integration test bundle.
export {
  concurrencyControllerWorkflow,
  concurrencyExampleWorkflow,
  singleFlightExampleWorkflow,
} from '../../../src/workflows/index.js';
