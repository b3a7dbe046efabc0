// Regenerates test/fixtures/histories/: runs the concurrency example workflows against a fresh dev
// server, one scenario per strategy and release path, and saves the event histories of the runs
// and of every run of their controllers (including continue-as-new). test/integration/replay.test.ts
// replays them, so a change that breaks replay of these workflows fails CI. Among them: a controller
// that continues as new while requests wait, runs reset while they wait and while they work, a
// controller whose Workers were frozen and killed while its state was being queried (workflow tasks
// timed out), and runs and a controller on Workers without the concurrency activities (signals and
// probes).
//
//   npx tsx scripts/record-histories.ts           # the original set, test/fixtures/histories/*.json
//   npx tsx scripts/record-histories.ts batched   # test/fixtures/histories/batched/
//   npx tsx scripts/record-histories.ts settled   # test/fixtures/histories/settled/
//   npx tsx scripts/record-histories.ts sink      # test/fixtures/histories/sink/
//   npx tsx scripts/record-histories.ts stranded  # test/fixtures/histories/stranded/
//   npx tsx scripts/record-histories.ts budget    # test/fixtures/histories/budget/
//
// Each set is what the code of its day wrote, and stays as it is once committed: a Worker must go on
// replaying the histories of controllers and runs that were open across every upgrade since, so an old
// set is never re-recorded with newer code (that would only test the newer path twice). A new path
// gets a new set.
// - The original set was recorded before requests and releases travelled in batches (one
//   `slotwise.concurrency.acquire` update per run).
// - The `batched` set: runs started together ask in `slotwise.concurrency.acquireBatch` updates and
//   release in `slotwise.concurrency.releaseBatch` signals, through a continue-as-new that carries
//   waiting requests, a reset of a waiting and of a working run, and the crash while queried. Its
//   controllers predate the `slotwise-concurrency-settle-in-handlers` patch: they send the decisions
//   and timers a signal or update causes from their loop (the old path, kept for them).
// - The `settled` set: the same scenarios as `batched`, recorded by controllers with that patch (each
//   controller history holds its marker), whose signal and update handlers send those decisions and
//   timers before they return (the new path).
// - The `sink` set: the `settled` scenarios with the runs' Worker made by `slotwiseWorkerOptions()`,
//   which adds the release sink: the acquire answers in the runs' histories say so (`releaseSink`),
//   and the runs release through the sink, with no release local activity in their histories (runs
//   whose acquire activity ran out of time, as in the crash scenario, still release by activity).
// - The `stranded` set: one controller run that continued as new because decisions waited and its
//   history had no room left to send one (it holds the `slotwise-concurrency-no-stranded-decisions`
//   marker just before its continue-as-new), and the run after it, which sends the carried
//   decisions. One-key groups with bounds 100-111 are run until one meets that edge.
// - The `budget` set: a one-key group whose controller keeps at most 4 KiB of state
//   (`maxStateBytes`) and continues as new every ~100 events: every run of its controller (the
//   `slotwise-concurrency-state-budget` marker where a request first did not fit, `full` answers,
//   continue-as-new carrying the tickets) and two runs that were answered `full`, waited on a timer
//   and asked again.
//
// Re-record only on purpose (a deliberate, versioned change of workflow code); commit the result.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Context } from '@temporalio/activity';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { concurrencyActivities } from '../src/activities/concurrency-activities.js';
import { startDevServer } from '../src/dev-server/dev-server.js';
import { ensureTemporalCli } from '../src/dev-server/temporal-cli.js';
import { slotwiseWorkerOptions } from '../src/worker/slotwise-worker-options.js';
import {
  CONCURRENCY_NO_STRANDED_DECISIONS_PATCH,
  CONCURRENCY_SETTLE_IN_HANDLERS_PATCH,
  CONCURRENCY_STATE_BUDGET_PATCH,
} from '../src/workflows/concurrency/controller-workflow.js';
import type { WithConcurrencyOptions } from '../src/workflows/concurrency/options.js';
import { concurrencyControllerId, concurrencyStateQuery } from '../src/workflows/concurrency/signals.js';

const SETS = ['original', 'batched', 'settled', 'sink', 'stranded', 'budget'] as const;
const set = (process.argv[2] ?? 'original') as (typeof SETS)[number];
if (!SETS.includes(set)) {
  console.error(`usage: record-histories.ts [${SETS.join('|')}] (got ${JSON.stringify(set)})`);
  process.exit(2);
}
/** The scenarios of the `batched` set (runs started together, asking and releasing in batches); `settled` records them too. */
const batched = set !== 'original';
/** The `settled` and `sink` sets: every controller history must hold the marker of the settle-in-handlers patch. */
const settled = set === 'settled' || set === 'sink';
/** The `sink` and `budget` sets: the runs' Worker has the release sink. */
const sink = set === 'sink' || set === 'budget';
const outDir = resolve(set === 'original' ? 'test/fixtures/histories' : `test/fixtures/histories/${set}`);
const taskQueue = 'slotwise-record-histories';
/** Task queue of Workers without the concurrency activities: runs fall back to signals, controllers to probes. */
const signalsQueue = 'slotwise-record-signals';
/** Task queue of the controller that is frozen and killed. */
const crashQueue = 'slotwise-record-crash-controller';

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

const bundleDir = mkdtempSync(join(tmpdir(), 'slotwise-record-'));
const children = new Set<ChildProcess>();

try {
  const { code } = await bundleWorkflowCode({
    workflowsPath: resolve('src/examples/workflows.ts'),
    logger: { trace() {}, debug() {}, info() {}, warn: log, error: log, log() {} },
  });
  const bundlePath = join(bundleDir, 'workflows.js');
  writeFileSync(bundlePath, code);
  const connection = await NativeConnection.connect({ address: server.address });
  const client = new Client({ connection: await Connection.connect({ address: server.address }) });
  const started = new Set<string>();
  // Like the example activity, but it heartbeats at once so CANCEL_IN_PROGRESS stops it quickly.
  const simulatedWork = async ({ ms, index }: { ms: number; index?: number }) => {
    const context = Context.current();
    started.add(context.info.workflowExecution?.workflowId ?? '');
    const deadline = Date.now() + ms;
    for (let left = ms; left > 0; left = deadline - Date.now()) {
      context.heartbeat();
      await context.sleep(Math.min(left, 50));
    }
    return index ?? 0;
  };
  const workerOptions = {
    connection,
    workflowBundle: { code },
    defaultHeartbeatThrottleInterval: '50ms',
    maxHeartbeatThrottleInterval: '50ms',
  } as const;
  const runsWorkerOptions = {
    ...workerOptions,
    taskQueue,
    activities: { ...concurrencyActivities, simulatedWork },
  };
  const worker = await Worker.create(sink ? slotwiseWorkerOptions(runsWorkerOptions) : runsWorkerOptions);
  const signalsWorker = await Worker.create({
    ...workerOptions,
    taskQueue: signalsQueue,
    activities: { simulatedWork },
  });

  /** Starts a controller Worker in a child process on `queue`; resolves once it polls. */
  const spawnControllerWorker = async (queue: string): Promise<ChildProcess> => {
    // One process (tsx as a loader, not its CLI, which would run the script in a grandchild): a
    // SIGSTOP must freeze the Worker itself.
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', resolve('scripts/controller-worker.ts'), server.address, queue, bundlePath],
      { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, SLOTWISE_SLOW_CHECK_MS: '800' } },
    );
    children.add(child);
    child.once('exit', () => children.delete(child));
    await new Promise<void>((ready, failed) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('ready')) ready();
      });
      child.once('exit', (code) =>
        failed(new Error(`controller worker exited with ${code} before it was ready`)),
      );
    });
    return child;
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
    queue = taskQueue,
  ) =>
    client.workflow.start(workflowType, {
      taskQueue: queue,
      workflowId: `${scenario}-${++n}`,
      args: [{ concurrency, workMs, index: n }],
    });
  /** Events of a run, as the server has them. */
  const eventsOf = async (workflowId: string, runId?: string) =>
    (await client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
  /** Resets a run to the workflow task completed at `eventId`; returns the new run id. */
  const reset = async (workflowId: string, runId: string, eventId: number) => {
    const response = await client.workflowService.resetWorkflowExecution({
      namespace: 'default',
      workflowExecution: { workflowId, runId },
      workflowTaskFinishEventId: eventId as never,
      reason: 'recording a reset',
      requestId: `${workflowId}-${runId}-reset`,
    });
    return (response as { runId: string }).runId;
  };
  const completedTasks = async (workflowId: string) =>
    (await eventsOf(workflowId))
      .filter((e) => e.workflowTaskCompletedEventAttributes)
      .map((e) => Number(e.eventId));

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
    if (sink && type === 'concurrencyExampleWorkflow') {
      // The point of this set: runs that learned from their acquire that the Worker has the sink.
      const markers = (await eventsOf(workflowId, runId))
        .map((e) => e.markerRecordedEventAttributes)
        .filter((m) => m != null)
        .map((m) =>
          Object.values(m.details ?? {})
            .flatMap((d) => d.payloads ?? [])
            .map((p) => Buffer.from(p.data ?? []).toString('utf8'))
            .join(' '),
        );
      const bySink = markers.filter((text) => text.includes('"releaseSink":true')).length;
      const releases = markers.filter((text) => text.includes('slotwise.concurrency.release')).length;
      log(
        `slotwise: sink ${scenario} ${role}: ${bySink} acquire answers with the sink, ${releases} release activities`,
      );
      if (scenario === 'round-robin' && (bySink === 0 || releases > 0))
        throw new Error(`expected ${scenario} ${role} to release through the sink, not by activity`);
    }
    const file = `${scenario}--${role}.json`;
    writeFileSync(join(outDir, file), `${JSON.stringify(JSON.parse(json), null, 2)}\n`);
    manifest.push({ file, workflowId, runId, workflowType: type, scenario, description });
  };

  /** The runs of a completed controller, oldest first (its continue-as-new chain). */
  const controllerRuns = async (id: string) => {
    await client.workflow.getHandle(id).result();
    const runs: string[] = [];
    let runId: string | undefined = (await client.workflow.getHandle(id).describe()).runId;
    while (runId) {
      runs.unshift(runId);
      runId =
        (await eventsOf(id, runId))[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId ||
        undefined;
    }
    return runs;
  };
  /** The events of a run that record the patch marker `patchId`. */
  const patchMarkers = (events: Awaited<ReturnType<typeof eventsOf>>, patchId: string) =>
    events.filter((e) =>
      Object.values(e.markerRecordedEventAttributes?.details ?? {}).some((details) =>
        details.payloads?.some((p) =>
          Buffer.from(p.data ?? [])
            .toString('utf8')
            .includes(patchId),
        ),
      ),
    );

  /** Saves every run of a group's controller, oldest first, once it has completed. */
  const saveController = async (scenario: string, group: string) => {
    const id = concurrencyControllerId(group);
    const runs = await controllerRuns(id);
    for (const [i, run] of runs.entries()) {
      if (settled) {
        // The point of this set: controllers on the new path, which their patch marker says.
        const events = await eventsOf(id, run);
        const markers = patchMarkers(events, CONCURRENCY_SETTLE_IN_HANDLERS_PATCH);
        if (markers.length !== 1)
          throw new Error(
            `expected run ${i + 1} of the ${scenario} controller to record the ${CONCURRENCY_SETTLE_IN_HANDLERS_PATCH} marker once, found ${markers.length}`,
          );
        log(
          `slotwise: ${scenario} controller run ${i + 1} of ${runs.length}: ${events.length} events, marker at event ${markers[0]!.eventId}`,
        );
      }
      const role = runs.length === 1 ? 'controller' : `controller-${i + 1}-of-${runs.length}`;
      await save(scenario, role, id, run, `controller of ${group}, run ${i + 1} of ${runs.length}`);
    }
    return runs;
  };

  const firstRunId = async (handle: WorkflowHandle) => (await handle.describe()).runId;

  /**
   * The `stranded` set: one-key groups (maxRuns 1, so each grant is a decision sent when the run
   * before releases), bounds 100-111 and a 60 s check tick, until a controller run continues as new
   * for stranded decisions; saves that run and the one after it.
   */
  const recordStranded = async () => {
    for (let attempt = 1; attempt <= 3; attempt++) {
      const groups = Array.from({ length: 12 }, (_, g) => ({
        group: `stranded-${attempt}-${g}`,
        maxHistoryEvents: 100 + g,
      }));
      const handles = (
        await Promise.all(
          groups.map(({ group, maxHistoryEvents }) =>
            Promise.all(
              Array.from({ length: 14 }, () =>
                start(
                  'stranded',
                  {
                    group,
                    key: 'only',
                    maxRuns: 1,
                    controller: { probeIntervalMs: 60_000, idleTimeoutMs: 1_000, maxHistoryEvents },
                  },
                  0,
                ),
              ),
            ),
          ),
        )
      ).flat();
      await Promise.all(handles.map((h) => h.result()));
      for (const { group } of groups) {
        const id = concurrencyControllerId(group);
        const runs = await controllerRuns(id);
        for (const [i, run] of runs.entries()) {
          const next = runs[i + 1];
          if (
            next === undefined ||
            patchMarkers(await eventsOf(id, run), CONCURRENCY_NO_STRANDED_DECISIONS_PATCH).length === 0
          )
            continue;
          log(
            `slotwise: stranded: ${group} controller run ${i + 1} of ${runs.length} continued as new for stranded decisions`,
          );
          await save(
            'stranded',
            'controller-continued',
            id,
            run,
            `controller of ${group}, run ${i + 1} of ${runs.length}: continued as new for stranded decisions`,
          );
          await save(
            'stranded',
            'controller-next',
            id,
            next,
            `controller of ${group}, run ${i + 2} of ${runs.length}: sends the carried decisions`,
          );
          return;
        }
      }
      log(`slotwise: stranded: no controller run met the edge in attempt ${attempt} of 3`);
    }
    throw new Error('no controller run continued as new for stranded decisions in 3 attempts');
  };

  /**
   * The `budget` set: 24 runs of one key (maxRuns 1) against a controller with 4 KiB of room and a
   * bound of 100 events; saves every controller run and two runs answered `full` that asked again.
   */
  const recordBudget = async () => {
    const group = 'budget-group';
    const concurrency: WithConcurrencyOptions = {
      group,
      key: 'only',
      maxRuns: 1,
      controller: { idleTimeoutMs: 1_000, maxHistoryEvents: 100, maxStateBytes: 4_096 },
    };
    const handles = await Promise.all(Array.from({ length: 24 }, () => start('budget', concurrency, 50)));
    await Promise.all(handles.map((h) => h.result()));
    const id = concurrencyControllerId(group);
    const runs = await saveController('budget', group);
    const marked = [];
    for (const run of runs)
      if (patchMarkers(await eventsOf(id, run), CONCURRENCY_STATE_BUDGET_PATCH).length > 0) marked.push(run);
    if (runs.length < 2 || marked.length === 0)
      throw new Error(
        `expected the budget controller to continue as new and record the ${CONCURRENCY_STATE_BUDGET_PATCH} marker: ${runs.length} runs, ${marked.length} with the marker`,
      );
    let saved = 0;
    for (const handle of handles) {
      const events = await eventsOf(handle.workflowId);
      const asks = events.filter((e) => e.markerRecordedEventAttributes != null).length;
      const timers = events.filter((e) => e.timerStartedEventAttributes).length;
      if (asks < 2 || timers < 1) continue;
      log(`slotwise: budget: ${handle.workflowId} asked ${asks} times, waited on ${timers} timers`);
      await save(
        'budget',
        `answered-full-${++saved}`,
        handle.workflowId,
        await firstRunId(handle),
        'a run answered full that asked again',
      );
      if (saved === 2) break;
    }
    if (saved < 2) throw new Error(`expected two runs answered full that asked again, found ${saved}`);
    log(`slotwise: budget: ${runs.length} controller runs, the marker in ${marked.length}`);
  };

  const signalsRun = signalsWorker.run();
  await worker.runUntil(async () => {
    // Only this set's files: other sets live in subdirectories (fleet/, batched/, settled/, sink/).
    mkdirSync(outDir, { recursive: true });
    for (const file of readdirSync(outDir)) if (file.endsWith('.json')) rmSync(join(outDir, file));

    if (set === 'stranded') {
      await recordStranded();
      return;
    }
    if (set === 'budget') {
      await recordBudget();
      return;
    }

    // GROUP_ROUND_ROBIN: 3 keys, 1 per key, 2 in the group, a controller that continues as new.
    {
      const scenario = 'round-robin';
      const group = `${scenario}-group`;
      const handles: WorkflowHandle[] = [];
      const concurrencyOf = (i: number): WithConcurrencyOptions => ({
        group,
        key: `key-${i % 3}`,
        maxRuns: 1,
        groupMaxRuns: 2,
        controller: { ...controller, maxHistoryEvents: 100 },
      });
      if (batched) {
        // Started together: their first workflow tasks run at once, and so do their asks, in batches.
        const ids = Array.from({ length: 15 }, (_, i) => i);
        handles.push(...(await Promise.all(ids.map((i) => start(scenario, concurrencyOf(i), 100)))));
      } else {
        for (let i = 0; i < 15; i++) handles.push(await start(scenario, concurrencyOf(i), 100));
      }
      await Promise.all(handles.map((h) => h.result()));
      const runs = await saveController(scenario, group);
      if (runs.length < 2)
        throw new Error(
          `expected the round-robin controller to continue as new, it ran ${runs.length} time(s)`,
        );
      // At least one continue-as-new carried runs that were still waiting.
      let carriedQueued = 0;
      for (const run of runs.slice(0, -1)) {
        const last = (await eventsOf(concurrencyControllerId(group), run)).at(-1);
        const payload = last?.workflowExecutionContinuedAsNewEventAttributes?.input?.payloads?.[0]?.data;
        const input = payload ? JSON.parse(Buffer.from(payload).toString('utf8')) : undefined;
        carriedQueued = Math.max(carriedQueued, input?.state?.queued?.length ?? 0);
      }
      if (carriedQueued === 0) throw new Error('expected a continue-as-new to carry waiting requests');
      if (batched) {
        // The point of this set: batches of several requests, and batched releases, in the histories.
        const sizes = { asked: [] as number[], released: [] as number[], single: 0 };
        for (const run of runs) {
          for (const event of await eventsOf(concurrencyControllerId(group), run)) {
            const update = event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input;
            const data = update?.args?.payloads?.[0]?.data;
            if (update?.name === 'slotwise.concurrency.acquireBatch' && data)
              sizes.asked.push(JSON.parse(Buffer.from(data).toString('utf8')).length);
            if (update?.name === 'slotwise.concurrency.acquire') sizes.single++;
            const signal = event.workflowExecutionSignaledEventAttributes;
            const arg = signal?.input?.payloads?.[0]?.data;
            if (signal?.signalName === 'slotwise.concurrency.releaseBatch' && arg)
              sizes.released.push(JSON.parse(Buffer.from(arg).toString('utf8')).requestIds.length);
          }
        }
        log(
          `slotwise: ${set} round-robin: asked in batches of ${sizes.asked.join(', ')} (${sizes.single} single updates), released in batches of ${sizes.released.join(', ')}`,
        );
        if (!sizes.asked.some((n) => n > 1) || sizes.released.length === 0 || sizes.single > 0)
          throw new Error(
            'expected batch updates of several requests and batch release signals, no single updates',
          );
      }
      log(`slotwise: round-robin controller continued as new with up to ${carriedQueued} waiting requests`);
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
    if (!batched) {
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
    if (!batched) {
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
    if (!batched) {
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

    // Resets: a run reset while it waits (the reset run replays its request), one reset while it works.
    {
      const scenario = 'reset';
      const group = `${scenario}-group`;
      const concurrency: WithConcurrencyOptions = { group, key: 'k', maxRuns: 1, controller };
      const working = await start(scenario, concurrency, 2_500);
      await until('the first run works', () => started.has(working.workflowId));
      const waiting = await start(scenario, concurrency, 100);
      const controllerHandle = client.workflow.getHandle(concurrencyControllerId(group));
      await until(
        'one run waits',
        async () => (await controllerHandle.query(concurrencyStateQuery)).queued.length === 1,
      );
      // A no-op signal gives the waiting run a workflow task after the one that asked.
      await client.workflow.getHandle(waiting.workflowId).signal('slotwise.concurrency.probe');
      await until(
        'the signal is handled',
        async () => (await completedTasks(waiting.workflowId)).length >= 2,
      );
      const waitingRun = await firstRunId(waiting);
      const waitingReset = await reset(
        waiting.workflowId,
        waitingRun,
        (await completedTasks(waiting.workflowId))[1]!,
      );
      const workingRun = await firstRunId(working);
      const workingReset = await reset(
        working.workflowId,
        workingRun,
        (await completedTasks(working.workflowId))[0]!,
      );
      await client.workflow.getHandle(working.workflowId, workingReset).result();
      await client.workflow.getHandle(waiting.workflowId, waitingReset).result();
      await saveController(scenario, group);
      await save(
        scenario,
        'holder-waiting-before-reset',
        waiting.workflowId,
        waitingRun,
        'waiting run, reset',
      );
      await save(
        scenario,
        'holder-waiting-reset-run',
        waiting.workflowId,
        waitingReset,
        'the run its reset made',
      );
      await save(
        scenario,
        'holder-working-before-reset',
        working.workflowId,
        workingRun,
        'working run, reset',
      );
      await save(
        scenario,
        'holder-working-reset-run',
        working.workflowId,
        workingReset,
        'the run its reset made',
      );
    }

    // A controller whose Worker is frozen (its workflow tasks time out) and killed, twice, while its
    // state is queried all along; a third Worker finishes the job.
    {
      const scenario = 'crash';
      const group = `${scenario}-group`;
      const settings = { probeIntervalMs: 300, idleTimeoutMs: 1_000 };
      let worker1 = await spawnControllerWorker(crashQueue);
      await client.workflow.start('concurrencyControllerWorkflow', {
        taskQueue: crashQueue,
        workflowId: concurrencyControllerId(group),
        args: [{ group, settings }],
        workflowTaskTimeout: '2s',
      });
      const controllerHandle = client.workflow.getHandle(concurrencyControllerId(group));
      let querying = true;
      let queries = 0;
      let failedQueries = 0;
      const queryLoop = (async () => {
        while (querying) {
          await controllerHandle.query(concurrencyStateQuery).then(
            () => queries++,
            () => failedQueries++,
          );
          await sleep(100);
        }
      })();
      const handles: WorkflowHandle[] = [];
      for (let i = 0; i < 15; i++) {
        const concurrency: WithConcurrencyOptions = {
          group,
          key: `key-${i % 3}`,
          maxRuns: 1,
          controller: { ...settings, taskQueue: crashQueue },
        };
        handles.push(await start(scenario, concurrency, 1_500));
      }
      // The controller Worker's checks take 0.8 s (a local activity, inside a workflow task), so a
      // freeze most likely catches a workflow task in progress: it times out after 2 s. Freeze until
      // two have, at most four times.
      const timeoutsSoFar = async () => {
        const events = await eventsOf(concurrencyControllerId(group));
        return events.filter((e) => e.workflowTaskTimedOutEventAttributes).length;
      };
      for (let round = 0; round < 4 && (round < 2 || (await timeoutsSoFar()) < 2); round++) {
        await sleep(1_000);
        worker1.kill('SIGSTOP');
        await sleep(3_500); // past the 2 s workflow task timeout, with requests and queries arriving
        worker1.kill('SIGKILL');
        worker1 = await spawnControllerWorker(crashQueue);
      }
      await Promise.all(handles.map((h) => h.result()));
      await controllerHandle.result();
      querying = false;
      await queryLoop;
      worker1.kill('SIGTERM');
      const runs = await saveController(scenario, group);
      let timeouts = 0;
      for (const run of runs) {
        timeouts += (await eventsOf(concurrencyControllerId(group), run)).filter(
          (e) => e.workflowTaskTimedOutEventAttributes,
        ).length;
      }
      if (timeouts === 0) throw new Error('expected the crash scenario to record workflow task timeouts');
      log(
        `slotwise: crash scenario: ${timeouts} workflow task timeouts, ${queries} queries answered, ${failedQueries} failed`,
      );
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

    // `controller.activities: false` (Workers without the concurrency activities): runs ask and release
    // by signal, the controller probes long-held grants and reclaims a terminated run's grant when a
    // probe cannot be delivered.
    if (!batched) {
      const scenario = 'signals';
      const group = `${scenario}-group`;
      const concurrency: WithConcurrencyOptions = {
        group,
        key: 'k',
        maxRuns: 1,
        controller: { ...controller, activities: false },
      };
      const long = await start(scenario, concurrency, 2_000, 'concurrencyExampleWorkflow', signalsQueue);
      await until('the first run works', () => started.has(long.workflowId));
      const terminated = await start(
        scenario,
        concurrency,
        60_000,
        'concurrencyExampleWorkflow',
        signalsQueue,
      );
      await long.result();
      await until('the second run works', () => started.has(terminated.workflowId));
      await terminated.terminate('recording a probe reclaim');
      const last = await start(scenario, concurrency, 100, 'concurrencyExampleWorkflow', signalsQueue);
      await last.result();
      await saveController(scenario, group);
      await save(
        scenario,
        'holder-probed',
        long.workflowId,
        await firstRunId(long),
        'run probed while it worked',
      );
      await save(
        scenario,
        'holder-after-reclaim',
        last.workflowId,
        await firstRunId(last),
        'granted after a probe reclaim',
      );
    }
  });

  signalsWorker.shutdown();
  await signalsRun;
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
  for (const child of children) child.kill('SIGKILL');
  rmSync(bundleDir, { recursive: true, force: true });
  await server.stop();
}
