import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { bundleWorkflowCode, DefaultLogger, type ReplayResult, Runtime, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { describe, expect, inject, it } from 'vitest';
import { parseHistoryJson, withoutLangFlag } from './history-files.js';

// Histories saved from real runs (scripts/record-histories.ts) must replay against today's workflow
// code. A change that makes them diverge is a breaking change for every open workflow: version it
// (patched()) or re-record on purpose.

interface ManifestEntry {
  file: string;
  workflowId: string;
  runId: string;
  workflowType: string;
  scenario: string;
  description: string;
}

// Replay Workers log each non-determinism they find; the results below are what counts.
Runtime.install({ logger: new DefaultLogger('ERROR') });

const dir = resolve('test/fixtures/histories');
const readManifest = (set: string): ManifestEntry[] =>
  JSON.parse(readFileSync(join(dir, set, 'manifest.json'), 'utf8')).map((m: ManifestEntry) => ({
    ...m,
    file: set ? `${set}/${m.file}` : m.file,
  }));
// The original set (one acquire update per run, before batching), the batched set (acquireBatch
// updates, releaseBatch signals, controllers without the settle-in-handlers patch) and the settled set
// (the batched scenarios, controllers with the patch): all must replay, the older ones for workflows
// open across the upgrades.
const original = readManifest('');
const batchedSet = readManifest('batched');
const settledSet = readManifest('settled');
// The settled scenarios recorded with the runs' Worker from slotwiseWorkerOptions(): runs release
// through its sink (their acquire answers say `releaseSink`), with no release local activity.
const sinkSet = readManifest('sink');
// A controller run that continued as new because decisions waited with no room left to send one (its
// marker right before), and the run after it, which sends them.
const strandedSet = readManifest('stranded');
// A controller with 4 KiB of room (`maxStateBytes`) answering `full`, through continue-as-new, and
// two runs that were answered `full`, waited on a timer and asked again.
const budgetSet = readManifest('budget');
const manifest: ManifestEntry[] = [
  ...original,
  ...batchedSet,
  ...settledSet,
  ...sinkSet,
  ...strandedSet,
  ...budgetSet,
];
/** The patch marker of controllers whose handlers send what they decide (src/workflows/concurrency/controller-workflow.ts). */
const SETTLE_PATCH = 'slotwise-concurrency-settle-in-handlers';
/** The patch marker of a controller run that continued as new for stranded decisions. */
const STRANDED_PATCH = 'slotwise-concurrency-no-stranded-decisions';
/** The patch marker of a controller run that answered `full` to a request its state had no room for. */
const BUDGET_PATCH = 'slotwise-concurrency-state-budget';

interface JsonPayload {
  data?: string;
}
interface JsonEvent {
  eventType: string;
  eventTime: string;
  workflowExecutionUpdateAcceptedEventAttributes?: {
    acceptedRequest?: { input?: { name?: string; args?: { payloads?: JsonPayload[] } } };
  };
  workflowExecutionSignaledEventAttributes?: { signalName?: string; input?: { payloads?: JsonPayload[] } };
  workflowExecutionContinuedAsNewEventAttributes?: { input?: { payloads?: JsonPayload[] } };
  workflowExecutionStartedEventAttributes?: { originalExecutionRunId?: string; firstExecutionRunId?: string };
  workflowExecutionUpdateCompletedEventAttributes?: { outcome?: { success?: { payloads?: JsonPayload[] } } };
  markerRecordedEventAttributes?: {
    markerName?: string;
    details?: Record<string, { payloads?: JsonPayload[] }>;
  };
}
const decode = (p: JsonPayload | undefined) =>
  p?.data ? JSON.parse(Buffer.from(p.data, 'base64').toString('utf8')) : undefined;
type JsonHistory = { events: JsonEvent[] };
type FlaggedEvent = { workflowTaskCompletedEventAttributes?: { sdkMetadata?: { langUsedFlags?: number[] } } };

const readHistory = (file: string): JsonHistory => JSON.parse(readFileSync(join(dir, file), 'utf8'));
const parse = (json: JsonHistory) => parseHistoryJson(json);
const histories = () =>
  manifest.map(({ file, workflowId }) => ({ workflowId, history: parse(readHistory(file)) }));

async function replayAll(
  codePath: string,
  entries: Array<{ name: string; workflowId: string; history: unknown }> = manifest.map((m, i) => ({
    name: m.file,
    ...histories()[i]!,
  })),
): Promise<Map<string, ReplayResult['error']>> {
  const errors = new Map<string, ReplayResult['error']>();
  let index = 0;
  const input = entries.map(({ workflowId, history }) => ({ workflowId, history })) as Parameters<
    typeof Worker.runReplayHistories
  >[1];
  for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath } }, input)) {
    errors.set(entries[index++]!.name, result.error);
  }
  return errors;
}

/**
 * The same history with its workflow tasks started at other times: from the `from`-th started
 * workflow task on, every event is `shiftMs` later, once (`perTask` false) or once more per workflow
 * task started (times stay in order). What a workflow sees as `Date.now()` changes; nothing else does.
 */
function retimed(json: JsonHistory, from: number, shiftMs: number, perTask = true): JsonHistory {
  let tasks = 0;
  let offset = 0;
  const events = json.events.map((event) => {
    if (event.eventType === 'EVENT_TYPE_WORKFLOW_TASK_STARTED' && ++tasks >= from) {
      if (perTask || tasks === from) offset += shiftMs;
    }
    if (offset === 0) return event;
    const time = new Date(new Date(event.eventTime).getTime() + offset).toISOString();
    return { ...event, eventTime: time };
  });
  return { ...json, events };
}

describe('Worker.runReplayHistories() over saved concurrency histories', () => {
  it('Worker.runReplayHistories() replays every saved holder and controller history without a non-determinism error', async () => {
    expect(original.map((m) => m.workflowType).sort()).toEqual([
      ...Array(9).fill('concurrencyControllerWorkflow'),
      ...Array(16).fill('concurrencyExampleWorkflow'),
      'singleFlightExampleWorkflow',
    ]);
    // The scenarios issue 12 asks to keep replaying: a continue-as-new carrying waiting requests,
    // resets (the reset run and the one it replaced), a controller whose workflow tasks timed out
    // while its state was queried (Workers frozen and killed), and the signal/probe fallback.
    const files = manifest.map((m) => m.file);
    expect(files.filter((f) => f.startsWith('round-robin--controller-')).length).toBeGreaterThanOrEqual(2);
    expect(files).toEqual(
      expect.arrayContaining([
        'reset--holder-waiting-reset-run.json',
        'reset--holder-working-reset-run.json',
        'crash--controller.json',
        'signals--controller.json',
      ]),
    );
    const crash = readHistory('crash--controller.json').events;
    expect(crash.filter((e) => e.eventType === 'EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT').length).toBeGreaterThan(
      0,
    );
    const errors = await replayAll(inject('workflowBundlePath'));
    expect(errors.size).toBe(manifest.length);
    const failed = [...errors].filter(([, error]) => error !== undefined).map(([file, e]) => `${file}: ${e}`);
    expect(failed).toEqual([]);
  });

  it.each([
    { name: 'batched', set: batchedSet, patched: false },
    { name: 'settled', set: settledSet, patched: true },
    { name: 'sink', set: sinkSet, patched: true },
  ])(
    'the $name set holds batch updates of several requests, batch release signals, a continue-as-new carrying waiting requests, resets and a crash',
    ({ name, set, patched }) => {
      const controllers = set.filter((m) => m.workflowType === 'concurrencyControllerWorkflow');
      // Which path its controllers took: the settled set's each record the patch marker once, the
      // batched set's none (they predate it).
      const patchIds = (file: string) =>
        readHistory(file)
          .events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch')
          .map((e) => decode(e.markerRecordedEventAttributes?.details?.['patch-data']?.payloads?.[0])?.id);
      expect(controllers.map((c) => patchIds(c.file))).toEqual(
        controllers.map(() => (patched ? [SETTLE_PATCH] : [])),
      );
      const asked: number[] = [];
      const released: number[] = [];
      let singleUpdates = 0;
      let carriedQueued = 0;
      for (const { file } of controllers) {
        for (const event of readHistory(file).events) {
          const update = event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input;
          if (update?.name === 'slotwise.concurrency.acquireBatch')
            asked.push(decode(update.args?.payloads?.[0]).length);
          if (update?.name === 'slotwise.concurrency.acquire') singleUpdates++;
          const signal = event.workflowExecutionSignaledEventAttributes;
          if (signal?.signalName === 'slotwise.concurrency.releaseBatch')
            released.push(decode(signal.input?.payloads?.[0]).requestIds.length);
          const carried = decode(event.workflowExecutionContinuedAsNewEventAttributes?.input?.payloads?.[0]);
          carriedQueued = Math.max(carriedQueued, carried?.state?.queued?.length ?? 0);
        }
      }
      expect(singleUpdates).toBe(0);
      expect(asked.filter((n) => n > 1).length).toBeGreaterThan(0);
      expect(released.length).toBeGreaterThan(0);
      expect(carriedQueued).toBeGreaterThan(0);
      const files = set.map((m) => m.file);
      expect(files).toEqual(
        expect.arrayContaining([
          `${name}/reset--holder-waiting-reset-run.json`,
          `${name}/reset--holder-working-reset-run.json`,
          `${name}/crash--controller.json`,
        ]),
      );
      for (const run of ['waiting', 'working']) {
        const resetRun = readHistory(`${name}/reset--holder-${run}-reset-run.json`).events[0];
        const replaced = set.find((m) => m.file === `${name}/reset--holder-${run}-before-reset.json`);
        expect(resetRun?.workflowExecutionStartedEventAttributes?.originalExecutionRunId).toBe(
          replaced?.runId,
        );
      }
      const crash = readHistory(`${name}/crash--controller.json`).events;
      expect(
        crash.filter((e) => e.eventType === 'EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT').length,
      ).toBeGreaterThan(0);
    },
  );

  it('the stranded set holds a controller run that continued as new for stranded decisions, carrying them, and the run that sent them', () => {
    expect(strandedSet.map((m) => m.file)).toEqual([
      'stranded/stranded--controller-continued.json',
      'stranded/stranded--controller-next.json',
    ]);
    const [continued, next] = strandedSet.map((m) => readHistory(m.file).events);
    const types = continued!.map((e) => e.eventType);
    const patchIds = continued!
      .filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch')
      .map((e) => decode(e.markerRecordedEventAttributes?.details?.['patch-data']?.payloads?.[0])?.id);
    expect(patchIds).toEqual([SETTLE_PATCH, STRANDED_PATCH]);
    // The marker (with the SDK's search-attribute upsert that goes with a patch) is recorded by the
    // workflow task that continues as new, with the decisions carried.
    expect(types.slice(types.lastIndexOf('EVENT_TYPE_WORKFLOW_TASK_COMPLETED') + 1)).toEqual([
      'EVENT_TYPE_MARKER_RECORDED',
      'EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES',
      'EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW',
    ]);
    const carried = decode(
      continued!.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.input?.payloads?.[0],
    );
    expect(carried?.outbox?.length).toBeGreaterThan(0);
    // The next run sends them in its first workflow task.
    const nextTypes = next!.map((e) => e.eventType);
    const firstTask = nextTypes.slice(
      nextTypes.indexOf('EVENT_TYPE_WORKFLOW_TASK_COMPLETED'),
      nextTypes.indexOf('EVENT_TYPE_WORKFLOW_TASK_SCHEDULED', 2),
    );
    expect(firstTask).toContain('EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED');
  });

  it('the budget set holds a controller that answered full and carried its line of tickets into continue-as-new, and runs that asked again after a timer', () => {
    const controllers = budgetSet.filter((m) => m.file.includes('controller'));
    const runs = budgetSet.filter((m) => m.file.includes('answered-full'));
    expect(controllers.length).toBeGreaterThanOrEqual(2);
    expect(runs.length).toBe(2);
    const patchIds = controllers.flatMap((m) =>
      readHistory(m.file)
        .events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch')
        .map((e) => decode(e.markerRecordedEventAttributes?.details?.['patch-data']?.payloads?.[0])?.id),
    );
    expect(patchIds).toContain(BUDGET_PATCH);
    const carriedTickets = controllers.map(
      (m) =>
        decode(
          readHistory(m.file).events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.input
            ?.payloads?.[0],
        )?.state?.overflow?.issued ?? 0,
    );
    expect(Math.max(...carriedTickets)).toBeGreaterThan(0);
    for (const { file } of runs) {
      const types = readHistory(file).events.map((e) => e.eventType);
      expect(types.filter((t) => t === 'EVENT_TYPE_MARKER_RECORDED').length).toBe(2); // asked twice
      expect(types).toContain('EVENT_TYPE_TIMER_FIRED');
    }
  });

  it('the sink set’s runs released through the Worker sink: one acquire answer saying releaseSink each, no release activity', () => {
    const markerTexts = (file: string) =>
      readHistory(file)
        .events.map((e) => e.markerRecordedEventAttributes)
        .filter((m) => m !== undefined)
        .map((m) =>
          Object.values(m.details ?? {})
            .flatMap((d) => d.payloads ?? [])
            .map((p) => Buffer.from(p.data ?? '', 'base64').toString('utf8'))
            .join(' '),
        );
    const holders = sinkSet.filter((m) => m.file.startsWith('sink/round-robin--holder'));
    expect(holders.map((m) => m.file)).toEqual([
      'sink/round-robin--holder-first.json',
      'sink/round-robin--holder-last.json',
    ]);
    for (const { file } of holders) {
      const texts = markerTexts(file);
      expect(texts.filter((t) => t.includes('"releaseSink":true'))).toHaveLength(1);
      expect(texts.filter((t) => t.includes('slotwise.concurrency.release'))).toHaveLength(0);
    }
  });

  it('Worker.runReplayHistories() replays every settled history without SDK flag 2, as if the SDK had run each task with signals in two batches', async () => {
    // The settled controllers send what a signal or update causes from its handler, so the batch mode
    // the SDK picks for an activation (recorded as flag 2, and once recorded wrongly: see
    // concurrency-stall.test.ts) changes none of their commands.
    const entries = settledSet.map((m) => ({
      name: m.file,
      workflowId: m.workflowId,
      history: withoutLangFlag(parse(readHistory(m.file)), 2),
    }));
    const flagged = settledSet.filter((m) =>
      readHistory(m.file).events.some((e) =>
        (e as FlaggedEvent).workflowTaskCompletedEventAttributes?.sdkMetadata?.langUsedFlags?.includes(2),
      ),
    );
    expect(flagged.length).toBeGreaterThan(0); // some task of the set did record the flag
    const errors = await replayAll(inject('workflowBundlePath'), entries);
    expect([...errors].filter(([, error]) => error !== undefined).map(([name]) => name)).toEqual([]);
    expect(errors.size).toBe(settledSet.length);
  });

  it('Worker.runReplayHistories() replays every controller history identically when its workflow tasks ran at other times', async () => {
    // A query arriving while a workflow task is pending can make the next activation run with a
    // stale Date.now(); a controller whose decisions compare times would then decide differently on
    // replay (issue 12 #1). Replay each controller history with its clock skewed four ways.
    const controllers = manifest.filter((m) => m.workflowType === 'concurrencyControllerWorkflow');
    const variants = controllers.flatMap((m) => {
      const json = readHistory(m.file);
      const tasks = json.events.filter((e) => e.eventType === 'EVENT_TYPE_WORKFLOW_TASK_STARTED').length;
      return [
        { name: `${m.file} +1 s per task`, json: retimed(json, 1, 1_000) },
        { name: `${m.file} +90 s per task`, json: retimed(json, 1, 90_000) },
        {
          name: `${m.file} +10 min per task from the middle`,
          json: retimed(json, Math.ceil(tasks / 2), 600_000),
        },
        {
          name: `${m.file} +10 min once, mid-way`,
          json: retimed(json, Math.ceil(tasks / 2), 600_000, false),
        },
      ].map(({ name, json: variant }) => ({ name, workflowId: m.workflowId, history: parse(variant) }));
    });
    expect(variants.length).toBeGreaterThanOrEqual(16);
    const errors = await replayAll(inject('workflowBundlePath'), variants);
    const failed = [...errors].filter(([, error]) => error !== undefined).map(([name, e]) => `${name}: ${e}`);
    expect(failed).toEqual([]);
  });

  it('Worker.runReplayHistories() reports a non-determinism error for every history when the workflow code changes shape', async () => {
    // Same workflow names, different commands: the controller waits forever without a command, the holders skip
    // withConcurrency. Proves the replay test above can fail.
    const outDir = resolve('test-results');
    mkdirSync(outDir, { recursive: true });
    const mutantPath = join(outDir, 'replay-mutant-workflows.ts');
    writeFileSync(
      mutantPath,
      [
        "import { condition, proxyActivities } from '@temporalio/workflow';",
        "const { simulatedWork } = proxyActivities<{ simulatedWork(i: { ms: number }): Promise<number> }>({ startToCloseTimeout: '1 minute' });",
        'export async function concurrencyControllerWorkflow(): Promise<void> { await condition(() => false); }',
        'export async function concurrencyExampleWorkflow(input: { workMs: number }): Promise<number> { return simulatedWork({ ms: input.workMs }); }',
        'export async function singleFlightExampleWorkflow(input: { workMs: number }): Promise<number> { return simulatedWork({ ms: input.workMs }); }',
        '',
      ].join('\n'),
    );
    const { code } = await bundleWorkflowCode({
      workflowsPath: mutantPath,
      logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} },
    });
    const codePath = join(outDir, 'replay-mutant-bundle.js');
    writeFileSync(codePath, code);
    const errors = await replayAll(codePath);
    const undetected = [...errors].filter(([, e]) => !(e instanceof DeterminismViolationError));
    expect(undetected.map(([file, e]) => `${file}: ${e}`)).toEqual([]);
  });

  it('Worker.runReplayHistories() reports a non-determinism error for the batched and settled controller histories when the batch handlers change their commands', async () => {
    // The real controller with one handler changed: the test above can tell a change of what the
    // acquireBatch update or the releaseBatch signal does from no change at all.
    const outDir = resolve('test-results');
    mkdirSync(outDir, { recursive: true });
    const source = resolve('src/workflows/concurrency/controller-workflow.ts');
    const mutant = async (name: string, from: string, to: string): Promise<string> => {
      const code = readFileSync(source, 'utf8');
      expect(code).toContain(from);
      const srcDir = dirname(source);
      const mutated = code
        .replace(from, to)
        .replace(/from '\.\.\//g, `from '${dirname(srcDir)}/`)
        .replace(/from '\.\//g, `from '${srcDir}/`);
      const controllerPath = join(outDir, `replay-mutant-${name}-controller.ts`);
      writeFileSync(controllerPath, mutated);
      const workflowsPath = join(outDir, `replay-mutant-${name}-workflows.ts`);
      writeFileSync(workflowsPath, `export { concurrencyControllerWorkflow } from '${controllerPath}';\n`);
      const { code: bundle } = await bundleWorkflowCode({
        workflowsPath,
        logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} },
      });
      const codePath = join(outDir, `replay-mutant-${name}-bundle.js`);
      writeFileSync(codePath, bundle);
      return codePath;
    };
    const controllers = [...batchedSet, ...settledSet]
      .filter((m) => m.workflowType === 'concurrencyControllerWorkflow')
      .map((m) => ({ name: m.file, workflowId: m.workflowId, history: parse(readHistory(m.file)) }));
    const detected = async (codePath: string) => {
      const errors = await replayAll(codePath, controllers);
      return [...errors].filter(([, e]) => e instanceof DeterminismViolationError).map(([file]) => file);
    };
    // A batch's own runs also told by signal (as if the update could not answer them).
    const signalsOwn = await mutant(
      'acquire-batch',
      'if (answers.has(effect.run.requestId)) answers.set(effect.run.requestId, decisionOf(effect));',
      'if (answers.has(effect.run.requestId)) { answers.set(effect.run.requestId, decisionOf(effect)); push(effect); }',
    );
    // Batched releases dropped.
    const dropsReleases = await mutant(
      'release-batch',
      'for (const requestId of Array.isArray(requestIds) ? requestIds : []) released(requestId);',
      'void requestIds;',
    );
    // Which histories each change must break: those with a batch that granted one of its own requests,
    // and those with a batched release (the crash controller's runs all asked and released by signal).
    const having = (has: (event: JsonEvent) => boolean) =>
      controllers.filter((c) => readHistory(c.name).events.some(has)).map((c) => c.name);
    const grantedInBatch = having((e) =>
      (
        decode(e.workflowExecutionUpdateCompletedEventAttributes?.outcome?.success?.payloads?.[0]) ?? []
      ).some?.((d: { outcome?: string }) => d.outcome === 'granted'),
    );
    const releasedInBatch = having(
      (e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'slotwise.concurrency.releaseBatch',
    );
    expect(grantedInBatch.length).toBeGreaterThanOrEqual(2);
    expect(releasedInBatch.length).toBeGreaterThanOrEqual(3);
    // The settled set (the patched controller, whose handlers send their commands) has both kinds too.
    expect(grantedInBatch.filter((f) => f.startsWith('settled/')).length).toBeGreaterThanOrEqual(1);
    expect(releasedInBatch.filter((f) => f.startsWith('settled/')).length).toBeGreaterThanOrEqual(1);
    expect((await detected(signalsOwn)).sort()).toEqual(grantedInBatch.sort());
    expect((await detected(dropsReleases)).sort()).toEqual(releasedInBatch.sort());
  });
});
