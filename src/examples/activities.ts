/**
 * `slotwise/examples/activities`: the example activities the CLI, the demo and the tests run. They
 * show slotwise's features at work (a burst, early slot release, a worker thread, an evictable wait);
 * a Worker of your own registers yours instead. Node-side: never import this from workflow code.
 */
export {
  type ExampleActivities,
  exampleActivities,
  type FeatureExampleActivities,
  type SimulatedWorkInput,
  simulatedWork,
} from './example-activities.js';
export {
  countPrimes,
  type RenderThenUploadInput,
  renderThenUpload,
  type WaitForFileInput,
  waitForFile,
} from './feature-activities.js';
