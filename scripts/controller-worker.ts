// One Worker that runs until it is killed: the controller side of the crash scenarios of
// scripts/record-histories.ts (a process that can be frozen and killed without taking the recorder
// down with it).
//
//   npx tsx scripts/controller-worker.ts <address> <taskQueue> <workflow bundle path>
//
// It registers slotwise's concurrency activities and prints "ready" once it polls. With
// SLOTWISE_SLOW_CHECK_MS set, the controller's holder checks take that long (a local activity keeps
// its workflow task open meanwhile), so that freezing the process catches a task in progress.
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { concurrencyActivities } from '../src/activities/concurrency-activities.js';

const [address, taskQueue, codePath] = process.argv.slice(2);
if (!address || !taskQueue || !codePath) {
  console.error('usage: controller-worker.ts <address> <taskQueue> <workflow bundle path>');
  process.exit(2);
}
Runtime.install({ logger: new DefaultLogger('ERROR') });
const slowCheckMs = Number(process.env.SLOTWISE_SLOW_CHECK_MS ?? 0);
const check = concurrencyActivities['slotwise.concurrency.checkHolders'];
const connection = await NativeConnection.connect({ address });
const worker = await Worker.create({
  connection,
  taskQueue,
  workflowBundle: { codePath },
  activities: {
    ...concurrencyActivities,
    'slotwise.concurrency.checkHolders': async (runs: Parameters<typeof check>[0]) => {
      await new Promise((resolve) => setTimeout(resolve, slowCheckMs));
      return check(runs);
    },
  },
  // Small cache and sticky timeout: after a freeze, tasks move to the next Worker quickly.
  stickyQueueScheduleToStartTimeout: '1s',
});
const running = worker.run();
console.log('ready');
process.once('SIGTERM', () => worker.shutdown());
await running;
await connection.close();
