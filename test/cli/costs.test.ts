import { createServer, type Server } from 'node:http';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { UsageError } from '../../src/cli/cli-io.js';
import { COSTS_HELP, costsCommand, parsePrometheusText } from '../../src/cli/commands/costs.js';
import { main } from '../../src/cli/main.js';
import { parseConfig } from '../../src/config/parse-config.js';
import { type MetricsServer, startMetricsServer } from '../../src/metrics/metrics-server.js';
import { SlotwiseMetrics } from '../../src/metrics/supplier-metrics.js';
import type { MetricsSnapshot, TrackableSupplier } from '../../src/metrics/trackable-supplier.js';
import { MemorySlotSupplier } from '../../src/suppliers/memory-slot-supplier.js';
import { activityInfo, flush, reserveCtx } from '../helpers/fakes.js';
import { FakeSampler, GiB, MiB } from '../suppliers/fixtures/fake-sampler.js';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l), env: {} }, out, err };
}

/** A supplier whose snapshot says what it learned, as a CPU supplier would. */
function learnedCpu(name: string, learned: MetricsSnapshot['learned']): TrackableSupplier {
  return {
    name,
    subscribe: () => () => {},
    snapshot: () => ({ name, capacity: 4, issued: 0, used: 0, waiting: 0, errors: 0, learned }),
  };
}

const servers: Array<MetricsServer | Server> = [];
const closeAll = () =>
  Promise.all(
    servers
      .splice(0)
      .map((s) =>
        'url' in s ? s.close() : new Promise<void>((resolve) => (s as Server).close(() => resolve())),
      ),
  );

describe('slotwise costs', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: 0 });
  });
  afterEach(async () => {
    vi.useRealTimers();
    await closeAll();
  });

  it('costsCommand() prints what a running Worker learned as a costs: block the config accepts', async () => {
    // A memory supplier that learns 256 MiB per resize from readings...
    const sampler = new FakeSampler({ memory: true });
    const memory = new MemorySlotSupplier({
      sampler: sampler.asSampler,
      now: () => Date.now(),
      name: 'activity-memory',
      rampThrottleMs: 0,
    });
    sampler.memoryUsed(GiB, 8 * GiB);
    const permit = await memory.reserveSlot(reserveCtx(), new AbortController().signal);
    memory.markSlotUsed({ permit, slotInfo: activityInfo('resize') });
    for (let t = 0; t < 2000; t += 100) {
      await vi.advanceTimersByTimeAsync(100);
      sampler.memoryUsed(GiB + 256 * MiB, 8 * GiB);
    }
    await flush();
    expect(memory.snapshot().learned.activities).toEqual({ resize: { memoryBytes: 256 * MiB } });
    // ...and a CPU supplier of the same slot type, and a workflow one.
    const metrics = new SlotwiseMetrics();
    metrics.track(memory, { slotType: 'activity', taskQueue: 'work' });
    metrics.track(
      learnedCpu('activity-cpu', { activities: { resize: { cpu: 0.41 }, 'send email': { cpu: 0.02 } } }),
      {
        slotType: 'activity',
      },
    );
    metrics.track(learnedCpu('workflow-cpu', { workflows: { report: { cpu: 0.05 } } }), {
      slotType: 'workflow',
    });
    vi.useRealTimers();
    const server = await startMetricsServer({ metrics, port: 0 });
    servers.push(server);

    const run = io();
    expect(await costsCommand(['--url', server.url], run.io)).toBe(0);
    expect(run.err).toEqual([]);
    expect(run.out[0]).toMatch(
      /^# Per-task costs learned at http:\/\/127\.0\.0\.1:\d+\/metrics, x1\.2 margin \(/,
    );
    expect(run.out.slice(1)).toEqual([
      '# Paste into your slotwise config: each block goes in its slot type section.',
      'workflow:',
      '  costs:',
      '    workflows:',
      '      report:',
      '        cpu: 0.06',
      'activity:',
      '  costs:',
      '    activities:',
      '      resize:',
      '        cpu: 0.5',
      '        memoryBytes: 308MiB',
      '      "send email":',
      '        cpu: 0.03',
    ]);
    // Ready to paste: the config parses it, with the sizes in bytes.
    const pasted = parseYaml(run.out.join('\n')) as Record<string, { costs: unknown }>;
    const config = parseConfig({
      workflow: { supplier: { type: 'cpu' }, costs: pasted.workflow!.costs },
      activity: { supplier: { type: 'memory' }, costs: pasted.activity!.costs },
    } as never);
    expect(config.activity?.costs).toEqual({
      activities: { resize: { cpu: 0.5, memoryBytes: 308 * MiB }, 'send email': { cpu: 0.03 } },
    });

    const exact = io();
    expect(
      await costsCommand(
        [
          '--url',
          server.url.replace(/metrics$/, ''),
          '--margin',
          '1',
          '--supplier',
          'activity-memory',
          '--json',
        ],
        exact.io,
      ),
    ).toBe(0);
    expect(JSON.parse(exact.out.join('\n'))).toEqual({
      activity: { activities: { resize: { memoryBytes: 256 * MiB } } },
    });
    memory.close();
  });

  it('costsCommand() exits 1 saying why when nothing was learned or the endpoint does not answer', async () => {
    vi.useRealTimers();
    const metrics = new SlotwiseMetrics();
    metrics.track(learnedCpu('fresh', {}), { slotType: 'activity' });
    const server = await startMetricsServer({ metrics, port: 0 });
    servers.push(server);
    const empty = io();
    expect(await costsCommand(['--url', server.url], empty.io)).toBe(1);
    expect(empty.err).toEqual([
      `slotwise costs: nothing learned yet at ${server.url}metrics. Suppliers learn a task type's cost from readings while tasks of types without a declared cost run; run some work first.`,
    ]);
    const broken = createServer((_request, response) => {
      response.statusCode = 503;
      response.end('no');
    });
    servers.push(broken);
    await new Promise<void>((resolve) => broken.listen(0, '127.0.0.1', resolve));
    const port = (broken.address() as { port: number }).port;
    const failing = io();
    expect(await costsCommand(['--url', `http://127.0.0.1:${port}/metrics`], failing.io)).toBe(1);
    expect(failing.err).toEqual([
      `slotwise costs: http://127.0.0.1:${port}/metrics answered 503 Service Unavailable.`,
    ]);
  });

  it('costsCommand() rejects bad options with a usage error, and prints its help', async () => {
    for (const [args, message] of [
      [['--margin', '0.5'], 'slotwise costs: --margin must be a number >= 1, got "0.5".'],
      [
        ['--url', 'localhost'],
        'slotwise costs: --url must be a URL such as http://127.0.0.1:9464/metrics, got "localhost".',
      ],
      [
        ['--prefix', '9x'],
        'slotwise costs: --prefix must be a metric name prefix such as slotwise_, got "9x".',
      ],
      [['--nope'], 'slotwise costs: unknown option --nope. Run `slotwise costs --help` for usage.'],
    ] as const) {
      await expect(costsCommand([...args], io().io)).rejects.toThrow(new UsageError(message));
    }
    const help = io();
    expect(await main(['costs', '--help'], help.io)).toBe(0);
    expect(help.out).toEqual([COSTS_HELP]);
  });

  it('parsePrometheusText() reads names, escaped label values and values, and skips comments', () => {
    expect(
      parsePrometheusText(
        '# HELP x y\n# TYPE x gauge\nslotwise_learned_task_cpu_cores{task_type="a \\"b\\" \\\\c",task_kind="activities"} 0.25\nup 1 1700000000\n\n',
      ),
    ).toEqual([
      {
        name: 'slotwise_learned_task_cpu_cores',
        labels: { task_type: 'a "b" \\c', task_kind: 'activities' },
        value: 0.25,
      },
      { name: 'up', labels: {}, value: 1 },
    ]);
  });
});
