// Regenerates test/fixtures/histories/fleet/: runs fleet lease managers on a fresh dev server through
// scripted holders (grants, caps and returns, a holder that stops renewing, stale and repeated
// requests, a size change, extra leases asked ahead and sent back by a cap, continue-as-new) and saves the event history of every manager run.
// test/integration/fleet-replay.test.ts replays them, so a change that breaks replay of the lease
// manager fails CI.
//
//   npx tsx scripts/record-fleet-histories.ts
//
// Re-record only on purpose (a deliberate, versioned change of workflow code); commit the result.
// Older sets stay, since runs of older code must replay too: test/fixtures/histories/fleet-lease-clock/
// (the lease clock marker only: continue-as-new once the history reached its bound) and
// test/fixtures/histories/fleet-tick-count/ (from before the lease clock, no patch marker).
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { startDevServer } from '../src/dev-server/dev-server.js';
import { ensureTemporalCli } from '../src/dev-server/temporal-cli.js';
import { TemporalFleetTransport } from '../src/fleet/fleet-transport.js';
import { hostFleetManagers } from '../src/fleet/manager-host.js';
import { fleetManagerId, fleetStateQuery } from '../src/workflows/fleet/definitions.js';
import type { FleetSettings, FleetSyncRequest, FleetView } from '../src/workflows/fleet/types.js';

const outDir = resolve('test/fixtures/histories/fleet');
const managerTaskQueue = 'slotwise-record-fleet';

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
  const native = await NativeConnection.connect({ address: server.address });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const releaseHost = hostFleetManagers({
    connection: native,
    namespace: 'default',
    taskQueue: managerTaskQueue,
    logger: new DefaultLogger('WARN'),
  });

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  /** A scripted holder: sends the requests a FleetSlotSupplier would, one call at a time. */
  const holder = (fleet: string, id: string, slots: number, settings: Partial<FleetSettings>) => {
    const transport = new TemporalFleetTransport({
      connection,
      fleet,
      managerTaskQueue,
      settings,
      slots: () => slots,
    });
    let seq = 0;
    return {
      transport,
      /** One request; retried with the same `seq` when it fails (a manager continuing as new rejects it). */
      async sync(
        request: Omit<FleetSyncRequest, 'holderId' | 'seq'>,
        options: { seq?: number } = {},
      ): Promise<FleetView> {
        const full = { holderId: id, seq: options.seq ?? ++seq, label: id, ...request };
        for (let attempt = 1; ; attempt++) {
          try {
            return await transport.sync(full, AbortSignal.timeout(60_000));
          } catch (error) {
            if (attempt >= 5) throw error;
            await sleep(200);
          }
        }
      },
      get seq() {
        return seq;
      },
    };
  };

  const save = async (
    scenario: string,
    role: string,
    workflowId: string,
    runId: string,
    description: string,
  ) => {
    const { type } = await client.workflow.getHandle(workflowId, runId).describe();
    const json = execFileSync(
      cliPath,
      ['workflow', 'show', '--address', server.address, '-w', workflowId, '-r', runId, '-o', 'json'],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    const file = `${scenario}--${role}.json`;
    writeFileSync(join(outDir, file), `${JSON.stringify(JSON.parse(json), null, 2)}\n`);
    manifest.push({ file, workflowId, runId, workflowType: type, scenario, description });
  };

  /** Waits until the manager of `fleet` completed (idle), then saves every run of it, oldest first. */
  const saveManager = async (scenario: string, fleet: string): Promise<number> => {
    const id = fleetManagerId(fleet);
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
      const role = runs.length === 1 ? 'manager' : `manager-${i + 1}-of-${runs.length}`;
      await save(scenario, role, id, run, `lease manager of ${fleet}, run ${i + 1} of ${runs.length}`);
    }
    return runs.length;
  };

  /** Long-polls as `h` (wanting `want`) until it holds `until` leases (default `want`); returns the last view. */
  const pollUntilHeld = async (
    h: ReturnType<typeof holder>,
    first: FleetView,
    want: number,
    slots: number,
    until = want,
  ) => {
    let view = first;
    while (view.held < until) {
      view = await h.sync({
        want,
        hold: 1_000_000,
        wait: true,
        known: { held: view.held, cap: view.cap, slots },
      });
    }
    return view;
  };

  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const quick = { leaseTtlMs: 1_600, idleTimeoutMs: 1_500 };

  // Grants, a cap, a return that serves a waiting holder's long poll, a size change, a query, leaving.
  {
    const fleet = 'grants';
    const a = holder(fleet, 'holder-a', 3, quick);
    const b = holder(fleet, 'holder-b', 3, quick);
    await a.sync({ want: 3, hold: 1_000_000, wait: false, slots: 3 });
    // holder-b learns its cap at once, then waits in long polls until holder-a gives a lease back.
    const waiting = pollUntilHeld(b, await b.sync({ want: 2, hold: 1_000_000, wait: true }), 2, 3, 1);
    await sleep(100);
    await a.sync({ want: 3, hold: 2, wait: false });
    await waiting;
    await a.transport.setSlots(4, AbortSignal.timeout(30_000));
    await client.workflow.getHandle(fleetManagerId(fleet)).query(fleetStateQuery);
    await a.sync({ want: 0, hold: 0, wait: false });
    await b.sync({ want: 0, hold: 0, wait: false });
    await saveManager('grants', fleet);
  }

  // A holder stops renewing: its leases go to the one waiting after 8 ticks.
  {
    const fleet = 'expiry';
    const dead = holder(fleet, 'holder-dead', 2, quick);
    const live = holder(fleet, 'holder-live', 2, quick);
    await dead.sync({ want: 2, hold: 1_000_000, wait: false, slots: 2 });
    await pollUntilHeld(live, await live.sync({ want: 2, hold: 1_000_000, wait: false }), 2, 2);
    await live.sync({ want: 0, hold: 0, wait: false });
    await saveManager('expiry', fleet);
  }

  // Stale and repeated requests change nothing; a late request of a holder that left stays stale.
  {
    const fleet = 'stale';
    const a = holder(fleet, 'holder-a', 2, quick);
    await a.sync({ want: 2, hold: 1_000_000, wait: false, slots: 2 }, { seq: 5 });
    await a.sync({ want: 0, hold: 0, wait: false }, { seq: 4 });
    await a.sync({ want: 1, hold: 1, wait: false }, { seq: 5 });
    await a.sync({ want: 0, hold: 0, wait: false }, { seq: 6 });
    await a.sync({ want: 2, hold: 2, wait: false }, { seq: 3 });
    await saveManager('stale', fleet);
  }

  // Extras: a growing holder asks ahead and gets what nobody needs; another holder's demand makes the
  // fleet contended, the cap sends the extras back, and the waiting holder's long poll is answered.
  {
    const fleet = 'extras';
    const a = holder(fleet, 'holder-a', 6, quick);
    const b = holder(fleet, 'holder-b', 6, quick);
    await a.sync({ want: 1, hold: 1_000_000, wait: false, slots: 6 });
    const grown = await a.sync({ want: 2, extra: 2, hold: 1_000_000, wait: false });
    if (grown.held !== 4) throw new Error(`expected 4 leases with 2 extra, got ${grown.held}`);
    const waiting = pollUntilHeld(b, await b.sync({ want: 4, hold: 1_000_000, wait: false }), 4, 6);
    await a.sync({ want: 2, hold: 2, wait: false });
    await waiting;
    await a.sync({ want: 0, hold: 0, wait: false });
    await b.sync({ want: 0, hold: 0, wait: false });
    await saveManager('extras', fleet);
  }

  // Continue-as-new: two holders trade leases until the manager's history passes 100 events.
  {
    const fleet = 'continue-as-new';
    const settings = { ...quick, maxHistoryEvents: 100 };
    const a = holder(fleet, 'holder-a', 2, settings);
    const b = holder(fleet, 'holder-b', 2, settings);
    for (let round = 0; round < 12; round++) {
      const first = round % 2 === 0 ? a : b;
      const second = round % 2 === 0 ? b : a;
      await first.sync({ want: 2, hold: 1_000_000, wait: false, ...(round === 0 ? { slots: 2 } : {}) });
      await first.sync({ want: 1, hold: 1, wait: false });
      await second.sync({ want: 1, hold: 1_000_000, wait: false });
      await second.sync({ want: 0, hold: 0, wait: false });
      await first.sync({ want: 0, hold: 0, wait: false });
    }
    const runs = await saveManager('continue-as-new', fleet);
    if (runs < 2) throw new Error(`expected the manager to continue as new, it ran ${runs} time(s)`);
  }

  writeFileSync(join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  log(`saved ${manifest.length} histories in ${outDir}`);
  await releaseHost();
  await connection.close();
  await native.close();
} finally {
  await server.stop();
}
