import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { bundleWorkflowCode, DefaultLogger, type ReplayResult, Runtime, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { describe, expect, inject, it } from 'vitest';

// Lease manager histories saved from real runs (scripts/record-fleet-histories.ts) must replay
// against today's workflow code: a change that makes them diverge breaks every running manager.
// Version it (patched()) or re-record on purpose.

interface ManifestEntry {
  file: string;
  workflowId: string;
  workflowType: string;
  scenario: string;
}

// Parse JSON histories with the protobufjs JSON extension of the copy that defines the History type
// (see replay.test.ts: npm may install two copies of protobufjs).
const require = createRequire(import.meta.url);
const protoEntry = require.resolve('@temporalio/proto');
const { fromJson } = require(require.resolve('protobufjs/ext/protojson', { paths: [dirname(protoEntry)] }));
const { patchProtobufRoot } = require('@temporalio/proto/lib/patch-protobuf-root');
const historyType = patchProtobufRoot(require('@temporalio/proto')).lookupType(
  'temporal.api.history.v1.History',
);

Runtime.install({ logger: new DefaultLogger('ERROR') });

const dir = resolve('test/fixtures/histories/fleet');
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

describe('Worker.runReplayHistories() over saved lease manager histories', () => {
  it('replays every saved lease manager run (grants, expiry, stale requests, continue-as-new) without a non-determinism error', async () => {
    expect(new Set(manifest.map((m) => m.workflowType))).toEqual(new Set(['fleetLeaseManagerWorkflow']));
    expect(new Set(manifest.map((m) => m.scenario))).toEqual(
      new Set(['grants', 'expiry', 'stale', 'continue-as-new']),
    );
    const errors = await replayAll(inject('workflowBundlePath'));
    expect(errors.size).toBe(manifest.length);
    const failed = [...errors].filter(([, error]) => error !== undefined).map(([file, e]) => `${file}: ${e}`);
    expect(failed).toEqual([]);
  });

  it('reports a non-determinism error for every history when the lease manager changes shape', async () => {
    // Same workflow name, different commands: proves the replay above can fail.
    const outDir = resolve('test-results');
    mkdirSync(outDir, { recursive: true });
    const mutantPath = join(outDir, 'fleet-replay-mutant-workflows.ts');
    writeFileSync(
      mutantPath,
      [
        "import { sleep } from '@temporalio/workflow';",
        "export async function fleetLeaseManagerWorkflow(): Promise<void> { await sleep('1 day'); await sleep('2 days'); }",
        '',
      ].join('\n'),
    );
    const { code } = await bundleWorkflowCode({
      workflowsPath: mutantPath,
      logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} },
    });
    const codePath = join(outDir, 'fleet-replay-mutant-bundle.js');
    writeFileSync(codePath, code);
    const errors = await replayAll(codePath);
    expect([...errors.values()].filter((e) => e instanceof DeterminismViolationError)).toHaveLength(
      manifest.length,
    );
  });
});
