// withConcurrency() from the installed package: 3 runs of key "a" and 3 of key "b" under maxRuns 1,
// started with concurrencyPriority() from `slotwise/client`, on a Worker that registers
// `concurrencyActivities` (from `slotwise/activities`) and runs the bundled controller workflow. The
// activity counts how many runs of each key work at once; without the controller it would be 3.
// The group's state through getConcurrencyState() (and its error for a group that never ran).
// Then 24 runs of key "c" in a group whose controller keeps at most 4 KiB of state: some are
// answered `full`, wait and ask again, and all complete one at a time.
import { createRequire } from 'node:module';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';

/** `slotwise/client` in the program's own module format (as `slotwise` was loaded). */
async function loadClientEntry(format) {
  if (format === 'esm' || format === 'mixed-esm') return import('slotwise/client');
  return createRequire(import.meta.url)('slotwise/client');
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export default async function concurrency({ slotwise, activities, env, format }) {
  const slotwiseClient = await loadClientEntry(format);
  const taskQueue = `package-concurrency-${format}-${process.pid}`;
  const group = `package-${format}-${process.pid}`;
  const running = new Map();
  const mostAtOnce = new Map();
  const order = [];
  const acts = {
    ...activities.concurrencyActivities,
    async concurrencyWork({ key, ms }) {
      const now = (running.get(key) ?? 0) + 1;
      running.set(key, now);
      mostAtOnce.set(key, Math.max(mostAtOnce.get(key) ?? 0, now));
      order.push(key);
      try {
        await sleep(ms);
        return key;
      } finally {
        running.set(key, running.get(key) - 1);
      }
    },
  };
  const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS });
  const clientConnection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
  try {
    const worker = await Worker.create(
      slotwise.slotwiseWorkerOptions({
        connection,
        taskQueue,
        workflowBundle: { codePath: env.WORKFLOW_BUNDLE_PATH },
        activities: acts,
      }),
    );
    const client = new Client({ connection: clientConnection });
    const keys = ['a', 'a', 'a', 'b', 'b', 'b'];
    const priorities = keys.map((key) => slotwiseClient.concurrencyPriority(key));
    const results = await worker.runUntil(async () => {
      const handles = await Promise.all(
        keys.map((key, i) =>
          client.workflow.start('concurrencyWorkflow', {
            taskQueue,
            workflowId: `${taskQueue}-${key}-${i}`,
            args: [{ group, key, maxRuns: 1, ms: 300 }],
            priority: priorities[i],
          }),
        ),
      );
      const done = await Promise.all(handles.map((handle) => handle.result()));
      // Releases go through the Worker's sink (slotwiseWorkerOptions() adds it): no release local
      // activity in the runs' histories, only the acquire's marker.
      const markersPerRun = await Promise.all(
        handles.map(async (handle) => {
          const history = await handle.fetchHistory();
          return history.events.filter((event) => event.markerRecordedEventAttributes != null).length;
        }),
      );
      // Every grant comes back (the sink's signal may still be on its way).
      // getConcurrencyState() from `slotwise/client` queries the group's controller.
      let state = await slotwiseClient.getConcurrencyState(client, group);
      for (const deadline = Date.now() + 10_000; state.running.length > 0 && Date.now() < deadline; ) {
        await sleep(100);
        state = await slotwiseClient.getConcurrencyState(client, group);
      }
      const notRunning = await slotwiseClient.getConcurrencyState(client, `${group}-never`).then(
        () => 'answered',
        (error) =>
          error instanceof slotwiseClient.ConcurrencyNotRunningError ? error.message : String(error),
      );
      // A group with room for a few requests only: the others are answered full and ask again.
      const small = await Promise.all(
        Array.from({ length: 24 }, (_, i) =>
          client.workflow.start('concurrencyWorkflow', {
            taskQueue,
            workflowId: `${taskQueue}-c-${i}`,
            args: [{ group: `${group}-small`, key: 'c', maxRuns: 1, ms: 20, maxStateBytes: 4096 }],
          }),
        ),
      );
      const smallDone = await Promise.all(small.map((handle) => handle.result()));
      const smallController = client.workflow.getHandle(`slotwise-concurrency:${group}-small`);
      let smallState = await smallController.query('slotwise.concurrency.state');
      for (const deadline = Date.now() + 10_000; smallState.running.length > 0 && Date.now() < deadline; ) {
        await sleep(100);
        smallState = await smallController.query('slotwise.concurrency.state');
      }
      return { done, markersPerRun, stats: state.stats, notRunning, smallDone, smallStats: smallState.stats };
    });
    return {
      results: results.done,
      markersPerRun: results.markersPerRun,
      released: results.stats.released,
      reclaimed: results.stats.reclaimed,
      notRunning: results.notRunning.replace(group, '<group>'),
      priorities,
      mostAtOnce: Object.fromEntries([...mostAtOnce].filter(([key]) => key !== 'c').sort()),
      workCount: order.length,
      small: {
        results: results.smallDone.length,
        granted: results.smallStats.granted,
        released: results.smallStats.released,
        answeredFull: (results.smallStats.full ?? 0) > 0,
        mostAtOnce: mostAtOnce.get('c'),
      },
    };
  } finally {
    await clientConnection.close();
    await connection.close();
  }
}
