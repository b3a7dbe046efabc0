// Everything exported here runs inside Temporal's workflow sandbox: no Node imports, ever.
export { type FanOutInput, fanOutWorkflow } from './example-workflows.js';
