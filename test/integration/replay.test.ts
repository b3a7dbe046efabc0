import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { bundleWorkflowCode, DefaultLogger, type ReplayResult, Runtime, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { describe, expect, inject, it } from 'vitest';

// Histories saved from real runs (scripts/record-histories.ts) must replay against today's workflow
// code. A change that makes them diverge is a breaking change for every open workflow: version it
// (patched()) or re-record on purpose.

interface ManifestEntry {
  file: string;
  workflowId: string;
  workflowType: string;
  scenario: string;
  description: string;
}

// The SDK parses JSON histories with `historyFromJSON`, whose protobufjs JSON extension comes from
// @temporalio/common's own copy of protobufjs while the History type comes from @temporalio/proto's
// copy; where npm installs two copies (as here, under a top-level protobufjs 7) it throws "type must
// be a Type". Parse with the extension of the copy that defines the type, and hand the Worker a
// History object.
const require = createRequire(import.meta.url);
const protoEntry = require.resolve('@temporalio/proto');
const { fromJson } = require(require.resolve('protobufjs/ext/protojson', { paths: [dirname(protoEntry)] }));
const { patchProtobufRoot } = require('@temporalio/proto/lib/patch-protobuf-root');
const historyType = patchProtobufRoot(require('@temporalio/proto')).lookupType(
  'temporal.api.history.v1.History',
);

// Replay Workers log each non-determinism they find; the results below are what counts.
Runtime.install({ logger: new DefaultLogger('ERROR') });

const dir = resolve('test/fixtures/histories');
const manifest: ManifestEntry[] = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
const histories = () =>
  manifest.map(({ file, workflowId }) => ({
    workflowId,
    history: fromJson(historyType, JSON.parse(readFileSync(join(dir, file), 'utf8')), {
      ignoreUnknownFields: true,
    }),
  }));

async function replayAll(codePath: string): Promise<Map<string, ReplayResult['error']>> {
  const errors = new Map<string, ReplayResult['error']>();
  let index = 0;
  for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath } }, histories())) {
    errors.set(manifest[index++]!.file, result.error);
  }
  return errors;
}

describe('Worker.runReplayHistories() over saved concurrency histories', () => {
  it('Worker.runReplayHistories() replays every saved holder and controller history without a non-determinism error', async () => {
    expect(manifest.map((m) => m.workflowType).sort()).toEqual([
      ...Array(5).fill('concurrencyControllerWorkflow'),
      ...Array(8).fill('concurrencyExampleWorkflow'),
      'singleFlightExampleWorkflow',
    ]);
    const errors = await replayAll(inject('workflowBundlePath'));
    expect(errors.size).toBe(manifest.length);
    const failed = [...errors].filter(([, error]) => error !== undefined).map(([file, e]) => `${file}: ${e}`);
    expect(failed).toEqual([]);
  });

  it('Worker.runReplayHistories() reports a non-determinism error for every history when the workflow code changes shape', async () => {
    // Same workflow names, different commands: the controller waits on a timer, the holders skip
    // withConcurrency. Proves the replay test above can fail.
    const outDir = resolve('test-results');
    mkdirSync(outDir, { recursive: true });
    const mutantPath = join(outDir, 'replay-mutant-workflows.ts');
    writeFileSync(
      mutantPath,
      [
        "import { proxyActivities, sleep } from '@temporalio/workflow';",
        "const { simulatedWork } = proxyActivities<{ simulatedWork(i: { ms: number }): Promise<number> }>({ startToCloseTimeout: '1 minute' });",
        "export async function concurrencyControllerWorkflow(): Promise<void> { await sleep('1 day'); }",
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
    expect([...errors.values()].filter((e) => e instanceof DeterminismViolationError)).toHaveLength(
      manifest.length,
    );
  });
});
