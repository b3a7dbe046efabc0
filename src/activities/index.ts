export {
  type ExampleActivities,
  exampleActivities,
  type SimulatedWorkInput,
  simulatedWork,
} from './example-activities.js';
