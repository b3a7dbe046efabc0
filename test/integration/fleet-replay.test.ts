import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { bundleWorkflowCode, DefaultLogger, type ReplayResult, Runtime, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { describe, expect, inject, it } from 'vitest';
import { DEFAULT_FLEET_SETTINGS } from '../../src/workflows/fleet/definitions.js';
import { FLEET_HISTORY_BUDGET_PATCH, FLEET_LEASE_CLOCK_PATCH } from '../../src/workflows/fleet/types.js';
import { parseHistoryJson } from './history-files.js';

// Lease manager histories saved from real runs (scripts/record-fleet-histories.ts) must replay
// against today's workflow code: a change that makes them diverge breaks every running manager.
// Version it (patched()) or re-record on purpose.

interface ManifestEntry {
  file: string;
  workflowId: string;
  workflowType: string;
  scenario: string;
}

Runtime.install({ logger: new DefaultLogger('ERROR') });

// Three sets: runs of today's code (continue-as-new by the shared history budget, behind the
// FLEET_HISTORY_BUDGET_PATCH marker, after FLEET_LEASE_CLOCK_PATCH), runs of the code before it
// (ticks by deadline and expiry by the lease clock, continue-as-new once the history reached its
// bound) and runs of the code before that (tick counting, no marker). A manager started by older code
// stays on it until it continues as new.
const sets = {
  'history budget': resolve('test/fixtures/histories/fleet'),
  'lease clock': resolve('test/fixtures/histories/fleet-lease-clock'),
  'tick count': resolve('test/fixtures/histories/fleet-tick-count'),
};
const patchesOfSet: Record<string, string[]> = {
  'history budget': [FLEET_LEASE_CLOCK_PATCH, FLEET_HISTORY_BUDGET_PATCH],
  'lease clock': [FLEET_LEASE_CLOCK_PATCH],
  'tick count': [],
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
    history: parseHistoryJson(historyJson(entry)),
  }));

interface SavedEvent {
  workflowExecutionStartedEventAttributes?: { input?: { payloads?: Array<{ data: string }> } };
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

/** The history bound a saved run was started with (its input's settings, or the default). */
function maxHistoryEventsOf(json: { events: SavedEvent[] }): number {
  const payload = json.events[0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
  const input = JSON.parse(Buffer.from(payload.data, 'base64').toString('utf8'));
  return input.settings?.maxHistoryEvents ?? DEFAULT_FLEET_SETTINGS.maxHistoryEvents;
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
  it('replays every saved lease manager run (grants, expiry, stale requests, extra leases, continue-as-new; history budget, lease clock and tick count) without a non-determinism error', async () => {
    expect(new Set(manifest.map((m) => m.workflowType))).toEqual(new Set(['fleetLeaseManagerWorkflow']));
    for (const set of Object.keys(sets)) {
      // Extra leases (asked ahead by a growing holder) exist since the history-budget set.
      const extras = set === 'history budget' ? ['extras'] : [];
      expect(new Set(manifest.filter((m) => m.set === set).map((m) => m.scenario))).toEqual(
        new Set(['grants', 'expiry', 'stale', 'continue-as-new', ...extras]),
      );
    }
    // Every run took the paths of the code that recorded it, and no other.
    for (const entry of manifest) {
      expect([entry.set, entry.file, patchesOf(historyJson(entry))]).toEqual([
        entry.set,
        entry.file,
        patchesOfSet[entry.set],
      ]);
    }
    const errors = await replayAll(inject('workflowBundlePath'));
    expect(errors.size).toBe(manifest.length);
    const failed = [...errors].filter(([, error]) => error !== undefined).map(([file, e]) => `${file}: ${e}`);
    expect(failed).toEqual([]);
  });

  it('every run on the history budget stayed within its maxHistoryEvents; runs before it went past', () => {
    const lengths = (set: string) =>
      manifest
        .filter((entry) => entry.set === set)
        .map((entry) => {
          const json = historyJson(entry);
          return { file: entry.file, events: json.events.length, max: maxHistoryEventsOf(json) };
        });
    const budgeted = lengths('history budget');
    expect(budgeted.filter((run) => run.events > run.max)).toEqual([]);
    // The continued runs used most of their bound (the budget is not simply far below it).
    const continued = budgeted.filter((run) => /continue-as-new--manager-[123]-/.test(run.file));
    expect(continued).toHaveLength(3);
    for (const run of continued) expect(run.events).toBeGreaterThan(run.max * 0.8);
    // The check can fail: the lease clock runs continued as new once at their bound and then recorded
    // the answers they owed.
    expect(lengths('lease clock').filter((run) => run.events > run.max).length).toBeGreaterThan(0);
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
