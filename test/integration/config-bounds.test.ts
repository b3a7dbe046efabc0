import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { validateCommand } from '../../src/cli/commands/validate.js';
import { withSlotwise } from '../../src/worker/with-slotwise.js';
import { ConcurrencyProbe, testClient, uniqueQueue } from './helpers.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'slotwise-bounds-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const MAX_TIMER = 2 ** 31 - 1;

/** Every numeric setting at the largest value `validate` accepts, names at 100 characters. */
const AT_THE_BOUNDS = {
  sampler: { intervalMs: MAX_TIMER, gpuIntervalMs: MAX_TIMER, memory: { limitBytes: MAX_SAFE } },
  suppliers: { ['p'.repeat(100)]: { type: 'fixed', slots: MAX_SAFE } },
  workflow: { supplier: { type: 'fixed', slots: MAX_SAFE, name: 'w'.repeat(100) } },
  activity: {
    supplier: {
      type: 'composite',
      // The part's default name, "<name>-memory", is 100 characters.
      name: 'c'.repeat(93),
      parts: [
        'p'.repeat(100),
        {
          type: 'memory',
          minSlots: 1,
          maxSlots: MAX_SAFE,
          targetUtilization: 1,
          hysteresis: 0,
          rampThrottleMs: MAX_TIMER,
          settleMs: MAX_TIMER,
        },
      ],
    },
    costs: { default: { cpu: 0, memoryBytes: 0 } },
  },
  localActivity: {
    supplier: {
      type: 'temporal-resource-based',
      targetCpuUsage: 1,
      targetMemoryUsage: 1,
      minimumSlots: 1,
      maximumSlots: MAX_SAFE,
      rampThrottleMs: MAX_TIMER,
    },
  },
  metrics: { listen: '127.0.0.1:0' },
};

describe('a config slotwise validate accepts', () => {
  it.each([
    ['every setting at its bound', AT_THE_BOUNDS, true],
    [
      'sampler.intervalMs: 1e12 (beyond what a timer takes)',
      { ...AT_THE_BOUNDS, sampler: { intervalMs: 1e12 } },
      false,
    ],
    [
      'a blank supplier name',
      { ...AT_THE_BOUNDS, workflow: { supplier: { type: 'fixed', slots: 2, name: '  ' } } },
      false,
    ],
    [
      'a composite part whose default name is 101 characters',
      { activity: { supplier: { type: 'composite', name: 'c'.repeat(94), parts: [{ type: 'memory' }] } } },
      false,
    ],
  ])(
    'withSlotwise() starts a real Worker from the config when validate accepts it: %s',
    async (_, config, valid) => {
      const path = join(dir, 'slotwise.json');
      writeFileSync(path, JSON.stringify(config));
      const out: string[] = [];
      const code = await validateCommand([path, '--json'], {
        out: (l) => out.push(l),
        err: (l) => out.push(l),
        env: {},
      });
      expect({ code, valid: JSON.parse(out.join('\n')).valid }).toEqual({ code: valid ? 0 : 1, valid });
      if (!valid) return;

      const client = await testClient();
      const taskQueue = uniqueQueue('config-bounds');
      const probe = new ConcurrencyProbe();
      const connection = await NativeConnection.connect({ address: inject('temporalAddress') });
      const slotwise = await withSlotwise(
        {
          connection,
          taskQueue,
          workflowBundle: { codePath: inject('workflowBundlePath') },
          activities: {
            simulatedWork: ({ ms, index }: { ms: number; index: number }) =>
              probe.around(() =>
                Context.current()
                  .sleep(ms)
                  .then(() => index),
              ),
          },
        },
        path,
        { env: {}, watch: false },
      );
      try {
        const worker = await Worker.create(slotwise.options);
        const result = await worker.runUntil(
          client.workflow.execute('fanOutWorkflow', {
            taskQueue,
            workflowId: taskQueue,
            args: [{ tasks: 3, workMs: 10 }],
          }),
        );
        expect(result).toBe(3);
        expect(probe.completed).toBe(3);
        expect((await fetch(`${slotwise.metricsServer!.url}healthz`)).status).toBe(200);
      } finally {
        await slotwise.close();
        await connection.close();
      }
    },
  );
});
