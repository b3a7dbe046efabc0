import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { bundleWorkflowCode, DefaultLogger, type ReplayResult, Runtime, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { describe, expect, inject, it } from 'vitest';
import { FLEET_LEASE_CLOCK_PATCH } from '../../src/workflows/fleet/types.js';

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

// Two sets: runs of today's code (ticks by deadline, expiry by the lease clock, behind the
// FLEET_LEASE_CLOCK_PATCH marker) and runs of the code before it (tick counting, no marker), which
// a manager started by that code still is until it continues as new.
const sets = {
  'lease clock': resolve('test/fixtures/histories/fleet'),
  'tick count': resolve('test/fixtures/histories/fleet-tick-count'),
};
const manifest: Array<ManifestEntry & { dir: string; set: string }> = Object.entries(sets).flatMap(
  ([set, dir]) =>
    (JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ManifestEntry[]).map((entry) => ({
      ...entry,
      dir,
      set,
    })),
);
const historyJson = (entry: { dir: string; file: string }) =>
  JSON.parse(readFileSync(join(entry.dir, entry.file), 'utf8'));
const histories = () =>
  manifest.map((entry) => ({
    workflowId: entry.workflowId,
    history: fromJson(historyType, historyJson(entry), { ignoreUnknownFields: true }),
  }));

interface SavedEvent {
  markerRecordedEventAttributes?: {
    markerName?: string;
    details?: Record<string, { payloads: Array<{ data: string }> }>;
  };
}

/** The patch ids a saved history records (core_patch markers). */
function patchesOf(json: { events: SavedEvent[] }): string[] {
  return json.events
    .filter((event) => event.markerRecordedEventAttributes?.markerName === 'core_patch')
    .map((event) => {
      const payload = event.markerRecordedEventAttributes!.details!['patch-data']!.payloads[0]!;
      return JSON.parse(Buffer.from(payload.data, 'base64').toString('utf8')).id as string;
    });
}

async function replayAll(codePath: string): Promise<Map<string, ReplayResult['error']>> {
  const errors = new Map<string, ReplayResult['error']>();
  let index = 0;
  for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath } }, histories())) {
    const entry = manifest[index++]!;
    errors.set(`${entry.set}: ${entry.file}`, result.error);
  }
  return errors;
}

describe('Worker.runReplayHistories() over saved lease manager histories', () => {
  it('replays every saved lease manager run (grants, expiry, stale requests, continue-as-new; lease clock and tick count) without a non-determinism error', async () => {
    expect(new Set(manifest.map((m) => m.workflowType))).toEqual(new Set(['fleetLeaseManagerWorkflow']));
    for (const set of Object.keys(sets)) {
      expect(new Set(manifest.filter((m) => m.set === set).map((m) => m.scenario))).toEqual(
        new Set(['grants', 'expiry', 'stale', 'continue-as-new']),
      );
    }
    // Every run of today's code took the lease clock path; none of the older runs did.
    for (const entry of manifest) {
      expect([entry.set, entry.file, patchesOf(historyJson(entry))]).toEqual([
        entry.set,
        entry.file,
        entry.set === 'lease clock' ? [FLEET_LEASE_CLOCK_PATCH] : [],
      ]);
    }
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
