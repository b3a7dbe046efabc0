import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { doctorCommand } from '../../src/cli/commands/doctor.js';
import { buildTuner } from '../../src/config/build-tuner.js';
import { ConfigError } from '../../src/config/config-error.js';
import { type ReloadResult, watchConfig } from '../../src/config/config-watcher.js';
import { loadConfig } from '../../src/config/load-config.js';
import { recordingLogger } from '../helpers/fakes.js';
import { ConcurrencyProbe, createWorker, testClient, uniqueQueue, until } from './helpers.js';

const sleep = (ms: number) => Context.current().sleep(ms);

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'slotwise-reload-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('config hot reload with a running Worker', () => {
  it('watchConfig() raises activity slots from 1 to 3 without a restart, then keeps 3 when the new file is invalid', async () => {
    const path = join(dir, 'slotwise.yaml');
    writeFileSync(path, 'activity:\n  supplier: { type: fixed, slots: 1 }\n');
    const built = buildTuner((await loadConfig(path, { env: {} })).config);
    const activity = built.suppliers.get('activity')!;
    const logger = recordingLogger();
    const events: Array<ReloadResult | ConfigError> = [];
    const watcher = watchConfig(path, built, {
      logger,
      env: {},
      debounceMs: 50,
      onReload: (result) => events.push(result),
      onError: (error) => events.push(error),
    });
    const client = await testClient();
    const probe = new ConcurrencyProbe();
    const taskQueue = uniqueQueue('config-reload');
    const worker = await createWorker({
      taskQueue,
      tuner: built.tuner,
      activities: {
        simulatedWork: ({ ms, index }: { ms: number; index: number }) =>
          probe.around(() => sleep(ms).then(() => index)),
      },
    });
    const scenario = async (): Promise<number> => {
      const handle = await client.workflow.start('fanOutWorkflow', {
        taskQueue,
        workflowId: taskQueue,
        args: [{ tasks: 40, workMs: 300 }],
      });
      await until('3 activities to complete one at a time', () => probe.completed >= 3);
      expect(probe.max).toBe(1);
      expect(activity.snapshot().capacity).toBe(1);

      writeFileSync(path, 'activity:\n  supplier: { type: fixed, slots: 3 }\n');
      await until('the reload', () => events.length === 1);
      expect(events[0]).toEqual({
        config: { activity: { supplier: { type: 'fixed', slots: 3 } } },
        applied: [{ path: 'activity.supplier.slots', supplier: 'activity', from: 1, to: 3 }],
        restartRequired: [],
      });
      await until('3 activities running at once', () => probe.running === 3);
      expect(activity.snapshot().capacity).toBe(3);

      writeFileSync(path, 'activity:\n  supplier: { type: fixed, slots: 0 }\n');
      await until('the rejection', () => events.length === 2);
      const message = `${path}: activity.supplier.slots: expected an integer >= 1, got 0`;
      expect(events[1]).toBeInstanceOf(ConfigError);
      expect((events[1] as ConfigError).message).toBe(message);
      expect(logger.messages('error')).toEqual([
        `slotwise: rejected the new ${path}, keeping the last good config:\n${message}`,
      ]);
      expect(activity.snapshot().capacity).toBe(3);
      return handle.result();
    };
    try {
      expect(await worker.runUntil(scenario())).toBe(40);
    } finally {
      watcher.close();
      built.close();
    }
    expect(probe.completed).toBe(40);
    expect(probe.max).toBe(3);
    expect(logger.messages('info')).toEqual([`slotwise: reloaded ${path}: activity.supplier.slots 1 -> 3`]);
    expect(activity.snapshot()).toMatchObject({ capacity: 3, issued: 0, used: 0, waiting: 0, errors: 0 });
  });
});

describe('slotwise doctor against the dev server', () => {
  it('doctorCommand() reports the server at --address reachable, with its version', async () => {
    const address = inject('temporalAddress');
    const out: string[] = [];
    const code = await doctorCommand(['--address', address], {
      out: (line) => out.push(line),
      err: (line) => out.push(line),
      env: process.env,
    });
    expect(out).toContain(`Temporal server  ok      ${address} answers: Temporal server 1.29.1`);
    expect(code).toBe(0);
  });
});
