import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { NativeConnection, Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import { currentSlot } from '../../src/activities/current-slot.js';
import { main } from '../../src/cli/main.js';
import { withSlotwise } from '../../src/worker/with-slotwise.js';
import { testClient, uniqueQueue } from './helpers.js';

describe('withSlotwise()', () => {
  it('withSlotwise() wires the configured tuner, the activity interceptor and metrics into a real Worker', async () => {
    const client = await testClient();
    const taskQueue = uniqueQueue('with-slotwise');
    const connection = await NativeConnection.connect({ address: inject('temporalAddress') });
    const seen: string[] = [];
    let running = 0;
    let max = 0;
    const slotwise = await withSlotwise(
      {
        connection,
        taskQueue,
        workflowBundle: { codePath: inject('workflowBundlePath') },
        activities: {
          simulatedWork: async ({ ms }: { ms: number }) => {
            running++;
            max = Math.max(max, running);
            await Context.current().sleep(ms);
            seen.push(currentSlot()?.supplier ?? 'unpaired');
            running--;
            return 0;
          },
        },
      },
      {
        activity: { supplier: { type: 'fixed', slots: 2, name: 'acts' } },
        workflow: { supplier: { type: 'fixed', slots: 4, name: 'wfs' } },
        metrics: { listen: '127.0.0.1:0' },
      },
    );
    try {
      const worker = await Worker.create(slotwise.options);
      await worker.runUntil(
        client.workflow.execute('fanOutWorkflow', {
          taskQueue,
          workflowId: taskQueue,
          args: [{ tasks: 8, workMs: 100 }],
        }),
      );
      expect(max).toBe(2);
      expect(seen).toEqual(Array.from({ length: 8 }, () => 'acts'));
      const text = await (await fetch(`${slotwise.metricsServer!.url}metrics`)).text();
      expect(text).toContain(
        `slotwise_slots_capacity{namespace="default",task_queue="${taskQueue}",worker_type="ActivityWorker",supplier="acts"} 2`,
      );
      expect(text).toMatch(/slotwise_releases_total\{[^}]*supplier="acts",reason="normal"\} 8/);
      expect(slotwise.built.suppliers.get('acts')!.snapshot()).toMatchObject({
        issued: 0,
        used: 0,
        waiting: 0,
      });
    } finally {
      await slotwise.close();
      await connection.close();
    }
  });
});

describe('withSlotwise() without a connection in the Worker options', () => {
  it("withSlotwise() connects to the config's temporal.address, on its task queue, and closes that connection", async () => {
    const client = await testClient();
    const taskQueue = uniqueQueue('with-slotwise-temporal');
    const slotwise = await withSlotwise(
      {
        workflowBundle: { codePath: inject('workflowBundlePath') },
        activities: { simulatedWork: async () => 0 },
      },
      {
        activity: { supplier: { type: 'fixed', slots: 2, name: 'acts' } },
        temporal: { address: inject('temporalAddress'), taskQueue },
      },
      { env: {} },
    );
    try {
      const worker = await Worker.create(slotwise.options);
      const done = await worker.runUntil(
        client.workflow.execute('fanOutWorkflow', {
          taskQueue,
          workflowId: taskQueue,
          args: [{ tasks: 3, workMs: 0 }],
        }),
      );
      expect(done).toBe(3);
    } finally {
      await slotwise.close();
    }
    // The connection withSlotwise opened is closed with it.
    const opened = slotwise.options.connection as NativeConnection;
    await expect(opened.workflowService.getSystemInfo({})).rejects.toThrow();
  });

  it('withSlotwise() connects to TEMPORAL_ADDRESS when the config has no temporal.address', async () => {
    const client = await testClient();
    const taskQueue = uniqueQueue('with-slotwise-env');
    const slotwise = await withSlotwise(
      {
        taskQueue,
        workflowBundle: { codePath: inject('workflowBundlePath') },
        activities: { simulatedWork: async () => 0 },
      },
      { activity: { supplier: { type: 'fixed', slots: 1 } } },
      { env: { TEMPORAL_ADDRESS: inject('temporalAddress') } },
    );
    try {
      const worker = await Worker.create(slotwise.options);
      expect(
        await worker.runUntil(
          client.workflow.execute('fanOutWorkflow', {
            taskQueue,
            workflowId: taskQueue,
            args: [{ tasks: 2, workMs: 0 }],
          }),
        ),
      ).toBe(2);
    } finally {
      await slotwise.close();
    }
  });

  it('withSlotwise() bundles a relative workflowsPath with a directory in it, from the current directory', async () => {
    const client = await testClient();
    const taskQueue = uniqueQueue('with-slotwise-relative');
    // Under the repository, so that @temporalio/workflow resolves from the bundle.
    const dir = mkdtempSync(join('test-results', 'relative-workflows-'));
    mkdirSync(join(dir, 'lib'));
    writeFileSync(
      join(dir, 'lib', 'workflows.js'),
      "export async function hello(name) { return 'hello ' + name; }\n",
    );
    const workflowsPath = join(dir, 'lib', 'workflows.js');
    expect(workflowsPath).toMatch(/^test-results\/relative-workflows-\w+\/lib\/workflows\.js$/);
    const slotwise = await withSlotwise(
      { taskQueue, workflowsPath, activities: {} },
      { temporal: { address: inject('temporalAddress') } },
      { env: {} },
    );
    try {
      const worker = await Worker.create(slotwise.options);
      expect(
        await worker.runUntil(
          client.workflow.execute('hello', { taskQueue, workflowId: taskQueue, args: ['there'] }),
        ),
      ).toBe('hello there');
    } finally {
      await slotwise.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('slotwise worker --config', () => {
  it('main() runs a Worker from a config file, with metrics, and exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slotwise-cli-config-'));
    const file = join(dir, 'slotwise.yaml');
    writeFileSync(
      file,
      [
        'activity:',
        '  supplier: { type: fixed, slots: 2, name: acts }',
        'metrics:',
        '  listen: "127.0.0.1:0"',
        '',
      ].join('\n'),
    );
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(
      [
        'worker',
        '--config',
        file,
        '--address',
        inject('temporalAddress'),
        '--task-queue',
        uniqueQueue('cli-config'),
        '--burst',
        '4',
        '--work-ms',
        '50',
        '--once',
      ],
      { out: (l) => out.push(l), err: (l) => err.push(l), env: {} },
    );
    expect(err).toEqual([]);
    expect(code).toBe(0);
    expect(out).toContain('slotwise: activity slots: fixed (name acts, 2 slots)');
    expect(
      out.some((l) =>
        /^slotwise: metrics at http:\/\/127\.0\.0\.1:\d+\/metrics, live page at http:\/\/127\.0\.0\.1:\d+\/$/.test(
          l,
        ),
      ),
    ).toBe(true);
    expect(out.some((l) => /completed 4 activities/.test(l))).toBe(true);
    expect(out.at(-1)).toBe('slotwise: worker stopped; activity slots issued 0, waiting 0');
  });

  it('main() exits 1 with the config error, naming the file and path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slotwise-cli-config-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'activity:\n  supplier: { type: memory, targetUtilization: 80 }\n');
    const err: string[] = [];
    const code = await main(['worker', '--config', file], {
      out: () => {},
      err: (l) => err.push(l),
      env: {},
    });
    expect(code).toBe(1);
    expect(err.join('\n')).toContain(
      `${file}: activity.supplier.targetUtilization: expected a ratio in (0, 1], got 80`,
    );
    expect(err.join('\n')).toContain('Did you mean 0.8?');
  });

  it('main() refuses --activity-slots together with --config', async () => {
    const err: string[] = [];
    const code = await main(['worker', '--config', 'x.yaml', '--activity-slots', '3'], {
      out: () => {},
      err: (l) => err.push(l),
      env: {},
    });
    expect(code).toBe(2);
    expect(err.join('\n')).toContain('--activity-slots and --workflow-slots apply only without --config');
  });
});

describe('slotwise worker --config with a busy metrics port', () => {
  it('main() exits 1 and names the port when metrics.listen is in use', async () => {
    const { createServer } = await import('node:net');
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const dir = mkdtempSync(join(tmpdir(), 'slotwise-cli-config-'));
      const file = join(dir, 'slotwise.yaml');
      writeFileSync(file, `metrics:\n  listen: "127.0.0.1:${port}"\n`);
      const err: string[] = [];
      const code = await main(['worker', '--config', file, '--address', inject('temporalAddress')], {
        out: () => {},
        err: (l) => err.push(l),
        env: {},
      });
      expect(code).toBe(1);
      expect(err.join('\n')).toContain(`metrics port ${port} on 127.0.0.1 is already in use`);
    } finally {
      blocker.close();
    }
  });
});
