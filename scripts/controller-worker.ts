// One Worker that runs until it is killed, in a process of its own: the controller side of the crash
// scenarios of scripts/record-histories.ts and of test/integration/concurrency-crash.test.ts (a process
// that can be frozen and killed without taking the recorder, or the test, down with it).
//
//   npx tsx scripts/controller-worker.ts <address> <taskQueue> <workflow bundle path> [--log LEVEL]
//
// It registers slotwise's concurrency activities and prints "ready" once it polls. With
// SLOTWISE_SLOW_CHECK_MS set, the controller's holder checks take that long (a local activity keeps
// its workflow task open meanwhile), so that freezing or killing the process most likely catches a
// task in progress. `--log WARN` prints every log line of the Worker at WARN and above to stdout as
// `LEVEL message {meta}` (the crash test looks there for non-determinism errors); by default only
// errors are logged, to stderr. SIGTERM shuts the Worker down.
import { DefaultLogger, type LogLevel, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { concurrencyActivities } from '../src/activities/concurrency-activities.js';

const USAGE = 'usage: controller-worker.ts <address> <taskQueue> <workflow bundle path> [--log LEVEL]';
const LEVELS: readonly LogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];

const args = process.argv.slice(2);
const logAt = args.indexOf('--log');
const level = logAt >= 0 ? (args.splice(logAt, 2)[1] ?? '') : undefined;
const [address, taskQueue, codePath] = args;
if (!address || !taskQueue || !codePath || args.length > 3) {
  console.error(USAGE);
  process.exit(2);
}
if (level !== undefined && !LEVELS.includes(level as LogLevel)) {
  console.error(
    `controller-worker.ts: --log takes one of ${LEVELS.join(', ')}, got ${JSON.stringify(level)}\n${USAGE}`,
  );
  process.exit(2);
}
const slowCheckMs = Number(process.env.SLOTWISE_SLOW_CHECK_MS ?? 0);
if (!Number.isFinite(slowCheckMs) || slowCheckMs < 0) {
  console.error(
    `controller-worker.ts: SLOTWISE_SLOW_CHECK_MS must be a number of milliseconds >= 0, got ${JSON.stringify(process.env.SLOTWISE_SLOW_CHECK_MS)}`,
  );
  process.exit(2);
}

Runtime.install({
  logger:
    level === undefined
      ? new DefaultLogger('ERROR')
      : new DefaultLogger(level as LogLevel, (entry) => {
          console.log(`${entry.level} ${entry.message} ${JSON.stringify(entry.meta ?? {})}`);
        }),
});
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
  // After a freeze or a kill, the tasks the stopped Worker's sticky queue holds move to the next
  // Worker within 1 s.
  stickyQueueScheduleToStartTimeout: '1s',
  shutdownGraceTime: '1s',
});
const running = worker.run();
console.log('ready');
process.once('SIGTERM', () => worker.shutdown());
await running;
await connection.close();
