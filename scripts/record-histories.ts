// Regenerates test/fixtures/histories/: runs the concurrency example workflows against a fresh dev
// server, one scenario per strategy and release path, and saves the event histories of the runs
// and of every run of their controllers (including continue-as-new). test/integration/replay.test.ts
// replays them, so a change that breaks replay of these workflows fails CI.
//
//   npx tsx scripts/record-histories.ts
//
// Re-record only on purpose (a deliberate, versioned change of workflow code); commit the result.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Context } from '@temporalio/activity';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { startDevServer } from '../src/dev-server/dev-server.js';
import { ensureTemporalCli } from '../src/dev-server/temporal-cli.js';
import type { WithConcurrencyOptions } from '../src/workflows/concurrency/options.js';
import { concurrencyControllerId, concurrencyStateQuery } from '../src/workflows/concurrency/signals.js';

const outDir = resolve('test/fixtures/histories');
const taskQueue = 'slotwise-record-histories';

/** One saved history, as listed in manifest.json. */
interface ManifestEntry {
  file: string;
  workflowId: string;
  runId: string;
  workflowType: string;
  scenario: string;
  description: string;
}

Runtime.install({ logger: new DefaultLogger('WARN') });
const log = (line: string) => console.log(line);
const cliPath = await ensureTemporalCli({ log });
const server = await startDevServer({ cliPath, log });
const manifest: ManifestEntry[] = [];

try {
  const connection = await NativeConnection.connect({ address: server.address });
  const client = new Client({ connection: await Connection.connect({ address: server.address }) });
  const started = new Set<string>();
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowsPath: resolve('src/workflows/index.ts'),
    defaultHeartbeatThrottleInterval: '50ms',
    maxHeartbeatThrottleInterval: '50ms',
    activities: {
      // Like the example activity, but it heartbeats so CANCEL_IN_PROGRESS can stop it.
      simulatedWork: async ({ ms, index }: { ms: number; index?: number }) => {
        const context = Context.current();
        started.add(context.info.workflowExecution?.workflowId ?? '');
        const deadline = Date.now() + ms;
        for (let left = ms; left > 0; left = deadline - Date.now()) {
          context.heartbeat();
          await context.sleep(Math.min(left, 50));
        }
        return index ?? 0;
      },
    },
  });

  const until = async (what: string, check: () => boolean | Promise<boolean>) => {
    const deadline = Date.now() + 30_000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const settle = (handle: WorkflowHandle) => handle.result().catch(() => undefined);
  const controller = { probeIntervalMs: 300, idleTimeoutMs: 500 };

  let n = 0;
  const start = (
    scenario: string,
    concurrency: WithConcurrencyOptions,
    workMs: number,
    workflowType = 'concurrencyExampleWorkflow',
  ) =>
    client.workflow.start(workflowType, {
      taskQueue,
      workflowId: `${scenario}-${++n}`,
      args: [{ concurrency, workMs, index: n }],
    });

  /** Saves one run's history under `<scenario>--<role>.json`. */
  const save = async (
    scenario: string,
    role: string,
    workflowId: string,
    runId: string,
    description: string,
  ) => {
    const { type } = await client.workflow.getHandle(workflowId, runId).describe();
    // The CLI's JSON export: the format `Worker.runReplayHistories` and the Temporal UI read.
    const json = execFileSync(
      cliPath,
      ['workflow', 'show', '--address', server.address, '-w', workflowId, '-r', runId, '-o', 'json'],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    const file = `${scenario}--${role}.json`;
    writeFileSync(join(outDir, file), `${JSON.stringify(JSON.parse(json), null, 2)}\n`);
    manifest.push({ file, workflowId, runId, workflowType: type, scenario, description });
  };

  /** Saves every run of a group's controller, oldest first, once it has completed. */
  const saveController = async (scenario: string, group: string) => {
    const id = concurrencyControllerId(group);
    await client.workflow.getHandle(id).result();
    const runs: string[] = [];
    let runId: string | undefined = (await client.workflow.getHandle(id).describe()).runId;
    while (runId) {
      runs.unshift(runId);
      const history = await client.workflow.getHandle(id, runId).fetchHistory();
      runId =
        history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
    }
    for (const [i, run] of runs.entries()) {
      const role = runs.length === 1 ? 'controller' : `controller-${i + 1}-of-${runs.length}`;
      await save(scenario, role, id, run, `controller of ${group}, run ${i + 1} of ${runs.length}`);
    }
    return runs.length;
  };

  const firstRunId = async (handle: WorkflowHandle) => (await handle.describe()).runId;

  await worker.runUntil(async () => {
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(outDir, { recursive: true });

    // GROUP_ROUND_ROBIN: 3 keys, 1 per key, 2 in the group, a controller that continues as new.
    {
      const scenario = 'round-robin';
      const group = `${scenario}-group`;
      const handles: WorkflowHandle[] = [];
      for (let i = 0; i < 15; i++) {
        const concurrency: WithConcurrencyOptions = {
          group,
          key: `key-${i % 3}`,
          maxRuns: 1,
          groupMaxRuns: 2,
          controller: { ...controller, maxHistoryEvents: 100 },
        };
        handles.push(await start(scenario, concurrency, 100));
      }
      await Promise.all(handles.map((h) => h.result()));
      const runs = await saveController(scenario, group);
      if (runs < 2)
        throw new Error(`expected the round-robin controller to continue as new, it ran ${runs} time(s)`);
      await save(
        scenario,
        'holder-first',
        handles[0]!.workflowId,
        await firstRunId(handles[0]!),
        'first run',
      );
      await save(
        scenario,
        'holder-last',
        handles[14]!.workflowId,
        await firstRunId(handles[14]!),
        'last run',
      );
    }

    // CANCEL_IN_PROGRESS: the second run cancels the first.
    {
      const scenario = 'cancel-in-progress';
      const group = `${scenario}-group`;
      const concurrency: WithConcurrencyOptions = {
        group,
        key: 'k',
        maxRuns: 1,
        strategy: 'CANCEL_IN_PROGRESS',
        controller,
      };
      const first = await start(scenario, concurrency, 60_000);
      await until('the first run works', () => started.has(first.workflowId));
      const second = await start(scenario, concurrency, 100);
      await Promise.all([settle(first), second.result()]);
      await saveController(scenario, group);
      await save(scenario, 'holder-cancelled', first.workflowId, await firstRunId(first), 'cancelled run');
      await save(scenario, 'holder-replacing', second.workflowId, await firstRunId(second), 'replacing run');
    }

    // CANCEL_NEWEST: a refused run that fails, and one that catches the refusal.
    {
      const scenario = 'cancel-newest';
      const group = `${scenario}-group`;
      const concurrency: WithConcurrencyOptions = {
        group,
        key: 'k',
        maxRuns: 1,
        strategy: 'CANCEL_NEWEST',
        controller,
      };
      const running = await start(scenario, concurrency, 1_000);
      await until('the first run works', () => started.has(running.workflowId));
      const refused = await start(scenario, concurrency, 100);
      const skipped = await start(scenario, concurrency, 100, 'singleFlightExampleWorkflow');
      await Promise.all([running.result(), settle(refused), skipped.result()]);
      await saveController(scenario, group);
      await save(scenario, 'holder-running', running.workflowId, await firstRunId(running), 'granted run');
      await save(
        scenario,
        'holder-refused',
        refused.workflowId,
        await firstRunId(refused),
        'refused run (fails)',
      );
      await save(
        scenario,
        'holder-skipped',
        skipped.workflowId,
        await firstRunId(skipped),
        'refused run (caught)',
      );
    }

    // Release paths: a terminated holder (reclaimed by the probe) and a run cancelled while waiting.
    {
      const scenario = 'reclaim';
      const group = `${scenario}-group`;
      const concurrency: WithConcurrencyOptions = { group, key: 'k', maxRuns: 1, controller };
      const terminated = await start(scenario, concurrency, 60_000);
      await until('the first run works', () => started.has(terminated.workflowId));
      const gaveUp = await start(scenario, concurrency, 100);
      const last = await start(scenario, concurrency, 100);
      const controllerHandle = client.workflow.getHandle(concurrencyControllerId(group));
      await until(
        'two runs wait',
        async () => (await controllerHandle.query(concurrencyStateQuery)).queued.length === 2,
      );
      await gaveUp.cancel();
      await settle(gaveUp);
      await terminated.terminate('recording a reclaimed grant');
      await last.result();
      await saveController(scenario, group);
      await save(
        scenario,
        'holder-cancelled-waiting',
        gaveUp.workflowId,
        await firstRunId(gaveUp),
        'cancelled while waiting',
      );
      await save(
        scenario,
        'holder-after-reclaim',
        last.workflowId,
        await firstRunId(last),
        'granted after a reclaim',
      );
    }
  });

  writeFileSync(join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  // Format as the repository's linter wants it, so `npm run lint` stays clean after a re-record.
  execFileSync(
    process.execPath,
    [resolve('node_modules/@biomejs/biome/bin/biome'), 'format', '--write', outDir],
    {
      stdio: 'ignore',
    },
  );
  log(
    `slotwise: recorded ${manifest.length} histories in ${outDir}: ${readdirSync(outDir).length - 1} files`,
  );
  await client.connection.close();
  await connection.close();
} finally {
  await server.stop();
}
