// The cost of withConcurrency() when its limits do not bind: N workflows of one short activity each,
// started at once, with and without withConcurrency() around the activity, same server and Worker,
// rounds interleaved. Prints seconds per round and the ratio withConcurrency / plain.
//
//   npx tsx bench/concurrency-overhead.ts [--runs 200] [--keys 10] [--rounds 3] [--work-ms 100] [--shards 1]
//
// Stand-alone on purpose (its own dev server and workflow file): the scenario runner in bench/ is
// being restructured; this script can move into it as a scenario later.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Context } from '@temporalio/activity';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { concurrencyActivities } from '../src/activities/concurrency-activities.js';
import { startDevServer } from '../src/dev-server/dev-server.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '200' },
    keys: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    'work-ms': { type: 'string', default: '100' },
    shards: { type: 'string', default: '1' },
  },
});
const runs = Number(values.runs);
const keys = Number(values.keys);
const rounds = Number(values.rounds);
const workMs = Number(values['work-ms']);
const shards = Number(values.shards);

Runtime.install({ logger: new DefaultLogger('WARN') });
const here = import.meta.dirname;
const server = await startDevServer({ log: (line) => console.log(line) });
try {
  const { code } = await bundleWorkflowCode({
    workflowsPath: join(here, 'concurrency-workflows.ts'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} },
  });
  const connection = await NativeConnection.connect({ address: server.address });
  const client = new Client({ connection: await Connection.connect({ address: server.address }) });
  const taskQueue = 'concurrency-overhead';
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowBundle: { code },
    activities: {
      ...concurrencyActivities,
      async work(ms: number) {
        await Context.current().sleep(ms);
        return ms;
      },
    },
  });
  const timeRound = async (label: string, round: number) => {
    const began = performance.now();
    const handles = await Promise.all(
      Array.from({ length: runs }, (_, i) =>
        label === 'plain'
          ? client.workflow.start('plainRunWorkflow', {
              taskQueue,
              workflowId: `${label}-${round}-${i}`,
              args: [workMs],
            })
          : client.workflow.start('limitedRunWorkflow', {
              taskQueue,
              workflowId: `${label}-${round}-${i}`,
              args: [
                workMs,
                {
                  group: `${label}-${round}`,
                  key: `key-${i % keys}`,
                  maxRuns: runs,
                  ...(shards > 1 ? { controller: { shards } } : {}),
                },
              ],
            }),
      ),
    );
    await Promise.all(handles.map((h) => h.result()));
    return (performance.now() - began) / 1000;
  };
  const table: Array<{ round: number; plain: number; limited: number; ratio: number }> = [];
  await worker.runUntil(async () => {
    await timeRound('plain', -1); // warm-up
    for (let round = 0; round < rounds; round++) {
      const first = round % 2 === 0 ? 'plain' : 'limited';
      const second = first === 'plain' ? 'limited' : 'plain';
      const a = await timeRound(first, round);
      const b = await timeRound(second, round);
      const plain = first === 'plain' ? a : b;
      const limited = first === 'plain' ? b : a;
      table.push({ round, plain, limited, ratio: limited / plain });
      console.log(
        `round ${round}: plain ${plain.toFixed(2)} s, withConcurrency ${limited.toFixed(2)} s, ratio ${(limited / plain).toFixed(2)}`,
      );
    }
  });
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  console.log(
    `${runs} runs over ${keys} keys, ${workMs} ms of work each, shards ${shards}: ` +
      `median plain ${median(table.map((r) => r.plain)).toFixed(2)} s, withConcurrency ${median(table.map((r) => r.limited)).toFixed(2)} s, ` +
      `median ratio ${median(table.map((r) => r.ratio)).toFixed(2)}`,
  );
  await client.connection.close();
  await connection.close();
} finally {
  await server.stop();
}
