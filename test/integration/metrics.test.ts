import { afterEach, describe, expect, it, vi } from 'vitest';
import { type MetricsServer, startMetricsServer } from '../../src/metrics/metrics-server.js';
import { SlotwiseMetrics } from '../../src/metrics/supplier-metrics.js';
import { FixedSlotSupplier } from '../../src/suppliers/fixed-slot-supplier.js';
import type { SupplierSnapshot } from '../../src/suppliers/types.js';
import { parsePrometheusText } from '../metrics/metric-values.js';
import { ConcurrencyProbe, createWorker, testClient, tunerWith, uniqueQueue } from './helpers.js';

/** The snapshot fields a scrape shows for `supplier`, read from Prometheus text. */
function scraped(text: string, supplier: string) {
  const samples = parsePrometheusText(text);
  const value = (name: string): number | null => {
    const found = [...samples].filter(
      ([key]) => key.startsWith(`${name}{`) && key.includes(`supplier="${supplier}"`),
    );
    if (found.length > 1) throw new Error(`${found.length} series of ${name} for ${supplier}`);
    return found[0]?.[1] ?? null;
  };
  const usedByTaskType = [...samples]
    .filter(
      ([key]) =>
        key.startsWith('slotwise_slots_used_by_task_type{') && key.includes(`supplier="${supplier}"`),
    )
    .reduce((sum, [, v]) => sum + v, 0);
  return {
    capacity: value('slotwise_slots_capacity'),
    issued: value('slotwise_slots_issued'),
    used: value('slotwise_slots_used'),
    available: value('slotwise_slots_available'),
    waiting: value('slotwise_reservations_waiting'),
    errors: value('slotwise_supplier_errors_total'),
    usedByTaskType,
  };
}

function expected(snapshot: SupplierSnapshot) {
  const { capacity, issued, used, waiting, errors } = snapshot;
  return {
    capacity,
    issued,
    used,
    available: capacity === null ? null : Math.max(0, capacity - issued),
    waiting,
    errors,
    usedByTaskType: used,
  };
}

const servers: MetricsServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('SlotwiseMetrics in a real Worker', () => {
  it('track() exports values equal to snapshot() at the same instant, throughout a real run', async () => {
    const client = await testClient();
    const taskQueue = uniqueQueue('metrics');
    const activities = new FixedSlotSupplier({ slots: 3, name: `activities-${taskQueue}` });
    const workflows = new FixedSlotSupplier({ slots: 4, name: `workflows-${taskQueue}` });
    const suppliers = [activities, workflows];
    const metrics = new SlotwiseMetrics({ namespace: 'default' });
    metrics.track(activities, { taskQueue, slotType: 'activity' });
    metrics.track(workflows); // labels derived from what it serves
    const server = await startMetricsServer({ metrics, port: 0 });
    servers.push(server);

    // At every supplier event, scrape the registry and read both snapshots in the same synchronous
    // run: nothing can change in between, so they must agree exactly.
    const instants: Array<{ text: Promise<string>; snapshots: SupplierSnapshot[] }> = [];
    const granted = { activities: 0, workflows: 0 };
    for (const [key, supplier] of [
      ['activities', activities],
      ['workflows', workflows],
    ] as const) {
      supplier.subscribe((event) => {
        if (
          event.type === 'reservation' &&
          (event.result === 'granted' || event.result === 'eager-granted')
        ) {
          granted[key]++;
        }
        instants.push({ text: metrics.registry.metrics(), snapshots: suppliers.map((s) => s.snapshot()) });
      });
    }

    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    const probe = new ConcurrencyProbe();
    const tasks = 12;
    const worker = await createWorker({
      taskQueue,
      tuner: tunerWith({ activityTaskSlotSupplier: activities, workflowTaskSlotSupplier: workflows }),
      activities: {
        simulatedWork: ({ index }: { ms: number; index: number }) =>
          probe.around(() => gate.then(() => index)),
      },
    });
    const httpChecks: Array<{ scraped: ReturnType<typeof scraped>; expected: ReturnType<typeof expected> }> =
      [];
    const completed = await worker.runUntil(async () => {
      const run = client.workflow.execute('fanOutWorkflow', {
        taskQueue,
        workflowId: taskQueue,
        args: [{ tasks, workMs: 0 }],
      });
      // Mid-run: 3 activities hold every activity slot until the gate opens.
      await vi.waitFor(
        () => {
          if (probe.running !== 3) throw new Error(`${probe.running} activities running`);
        },
        { timeout: 60_000, interval: 20 },
      );
      // Scrape over HTTP; the scrape is at "the same instant" as snapshot() when nothing changed
      // between a snapshot before and one after it.
      for (let attempt = 0; attempt < 20 && httpChecks.length === 0; attempt++) {
        const before = activities.snapshot();
        const text = await (await fetch(`${server.url}metrics`)).text();
        const after = activities.snapshot();
        if (JSON.stringify(before) === JSON.stringify(after)) {
          httpChecks.push({ scraped: scraped(text, activities.name), expected: expected(after) });
        }
      }
      openGate();
      return run;
    });

    expect(completed).toBe(tasks);
    expect(probe.max).toBe(3);
    expect(httpChecks).toHaveLength(1);
    expect(httpChecks[0]!.scraped).toEqual(httpChecks[0]!.expected);
    expect(httpChecks[0]!.scraped).toMatchObject({ capacity: 3, issued: 3, used: 3, available: 0 });

    expect(instants.length).toBeGreaterThan(4 * tasks);
    const mismatches: unknown[] = [];
    for (const [i, instant] of instants.entries()) {
      const text = await instant.text;
      for (const [j, supplier] of suppliers.entries()) {
        const got = scraped(text, supplier.name);
        const want = expected(instant.snapshots[j]!);
        if (JSON.stringify(got) !== JSON.stringify(want))
          mismatches.push({ i, supplier: supplier.name, got, want });
      }
    }
    expect(mismatches).toEqual([]);
    expect(instants.some(({ snapshots }) => snapshots[0]!.used === 3)).toBe(true);

    // After the run: counters agree with the events, labels join with Temporal's.
    const final = parsePrometheusText(await metrics.registry.metrics());
    const activityLabels = `namespace="default",task_queue="${taskQueue}",worker_type="ActivityWorker",supplier="${activities.name}"`;
    const workflowLabels = `namespace="default",task_queue="${taskQueue}",worker_type="WorkflowWorker",supplier="${workflows.name}"`;
    const sumOf = (prefix: string) =>
      [...final].filter(([key]) => key.startsWith(prefix)).reduce((sum, [, v]) => sum + v, 0);
    expect(final.get(`slotwise_releases_total{${activityLabels},reason="normal"}`)).toBe(tasks);
    expect(final.get(`slotwise_slots_used_by_task_type{${activityLabels},task_type="simulatedWork"}`)).toBe(
      0,
    );
    expect(
      sumOf(`slotwise_reservations_total{${activityLabels},result="granted"}`) +
        sumOf(`slotwise_reservations_total{${activityLabels},result="eager-granted"}`),
    ).toBe(granted.activities);
    expect(
      sumOf(`slotwise_reservations_total{${workflowLabels},result="granted"}`) +
        sumOf(`slotwise_reservations_total{${workflowLabels},result="eager-granted"}`),
    ).toBe(granted.workflows);
    expect(final.get(`slotwise_slots_issued{${workflowLabels}}`)).toBe(workflows.snapshot().issued);
    expect(scraped(await metrics.registry.metrics(), activities.name)).toEqual(
      expected(activities.snapshot()),
    );
    metrics.untrackAll();
  });
});
