import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { NativeConnection, Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { ReloadResult } from '../../src/config/config-watcher.js';
import { FleetSlotSupplier } from '../../src/fleet/fleet-slot-supplier.js';
import { withSlotwise } from '../../src/worker/with-slotwise.js';
import { fleetManagerId, fleetStateQuery } from '../../src/workflows/fleet/definitions.js';
import { recordingLogger } from '../helpers/fakes.js';
import { ConcurrencyProbe, testClient, uniqueQueue, until } from './helpers.js';

const sleep = (ms: number) => Context.current().sleep(ms);

describe('type: fleet from a config file, its slots changed live', () => {
  it('withSlotwise() runs a fleet supplier from the config; a reload and `slotwise fleet set-slots` change the fleet size live', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slotwise-fleet-config-'));
    const connection = await NativeConnection.connect({ address: inject('temporalAddress') });
    const client = await testClient();
    const fleet = uniqueQueue('fleet-config');
    const managerTaskQueue = `${fleet}-managers`;
    const taskQueue = `${fleet}-work`;
    const path = join(dir, 'slotwise.yaml');
    const config = (slots: number) =>
      `activity:\n  supplier: { type: fleet, fleet: ${fleet}, slots: ${slots}, managerTaskQueue: ${managerTaskQueue}, lingerMs: 100 }\n`;
    writeFileSync(path, config(2));
    const reloads: ReloadResult[] = [];
    let probe = new ConcurrencyProbe();
    const slotwise = await withSlotwise(
      {
        connection,
        taskQueue,
        workflowBundle: { codePath: inject('workflowBundlePath') },
        activities: {
          simulatedWork: ({ ms, index }: { ms: number; index: number }) =>
            probe.around(() => sleep(ms).then(() => index)),
        },
      },
      path,
      { env: {}, logger: recordingLogger(), onReload: (result) => reloads.push(result) },
    );
    const supplier = slotwise.built.suppliers.get('activity');
    expect(supplier).toBeInstanceOf(FleetSlotSupplier);
    const worker = await Worker.create(slotwise.options);
    const state = () => client.workflow.getHandle(fleetManagerId(fleet)).query(fleetStateQuery);
    const burst = (n: number) =>
      client.workflow.execute('fanOutWorkflow', {
        taskQueue,
        workflowId: `${taskQueue}-${n}`,
        args: [{ tasks: 12, workMs: 300 }],
      });
    const io = () => {
      const out: string[] = [];
      const err: string[] = [];
      return {
        out,
        err,
        io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l), env: {} },
      };
    };
    try {
      await worker.runUntil(async () => {
        expect(await burst(1)).toBe(12);
        expect(probe.max).toBe(2);
        expect((await state()).slots).toBe(2);

        writeFileSync(path, config(3));
        await until('the reload', () => reloads.length === 1);
        expect(reloads[0]!.applied).toEqual([
          { path: 'activity.supplier.slots', supplier: 'activity', from: 2, to: 3 },
        ]);
        await until('the manager to apply 3 slots', async () => (await state()).slots === 3);
        probe = new ConcurrencyProbe();
        expect(await burst(2)).toBe(12);
        expect(probe.max).toBe(3);

        const setSlots = io();
        expect(
          await main(['fleet', 'set-slots', fleet, '4', '--address', inject('temporalAddress')], setSlots.io),
        ).toBe(0);
        expect(setSlots.out[0]).toBe(`slotwise fleet: '${fleet}' slots 3 -> 4`);
        expect((await state()).slots).toBe(4);
        probe = new ConcurrencyProbe();
        expect(await burst(3)).toBe(12);
        expect(probe.max).toBe(4);
        expect(supplier!.snapshot()).toMatchObject({ fleet: { slots: 4 } });

        const status = io();
        expect(
          await main(['fleet', 'status', fleet, '--address', inject('temporalAddress')], status.io),
        ).toBe(0);
        expect(status.out[0]).toMatch(new RegExp(`^fleet '${fleet}': [0-4] of 4 slots leased`));
      });
    } finally {
      await slotwise.close();
      await connection.close();
      rmSync(dir, { recursive: true, force: true });
    }
    const missing = io();
    expect(
      await main(['fleet', 'status', `${fleet}-nope`, '--address', inject('temporalAddress')], missing.io),
    ).toBe(1);
    expect(missing.err).toEqual([
      `slotwise fleet: no lease manager of fleet '${fleet}-nope' answers: it never ran in this namespace; check the fleet name and namespace`,
    ]);
  });
});
