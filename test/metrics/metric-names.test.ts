import { describe, expect, it } from 'vitest';
import { METRIC_DEFINITIONS, METRIC_NAMES, metricName } from '../../src/metrics/metric-names.js';
import { SlotwiseMetrics } from '../../src/metrics/supplier-metrics.js';
import { workerTypeOf } from '../../src/metrics/worker-type.js';

describe('metric names', () => {
  it('METRIC_DEFINITIONS defines every key of METRIC_NAMES once, with units Prometheus expects', () => {
    // Keys, not names: a definition's name is looked up from its key, so comparing names would
    // compare METRIC_NAMES with itself.
    expect(METRIC_DEFINITIONS.map((d) => d.key)).toEqual(Object.keys(METRIC_NAMES));
    for (const d of METRIC_DEFINITIONS) {
      expect(d.help.length).toBeGreaterThan(20);
      expect(d.labels.slice(0, 4)).toEqual(['namespace', 'task_queue', 'worker_type', 'supplier']);
      expect(d.name.endsWith('_total')).toBe(d.type === 'counter');
      if (d.type === 'histogram') expect(d.name.endsWith('_seconds')).toBe(true);
    }
  });

  it('SlotwiseMetrics registers exactly the metrics METRIC_DEFINITIONS describes: name, type, help, labels', async () => {
    const metrics = new SlotwiseMetrics();
    const registered = await metrics.registry.getMetricsAsJSON();
    const labels = new Map(
      metrics.registry
        .getMetricsAsArray()
        .map((m) => [m.name, (m as unknown as { labelNames: string[] }).labelNames]),
    );
    expect(
      registered.map((m) => ({
        name: m.name,
        type: String(m.type),
        help: m.help,
        labels: labels.get(m.name),
      })),
    ).toEqual(
      METRIC_DEFINITIONS.map((d) => ({ name: d.name, type: d.type, help: d.help, labels: [...d.labels] })),
    );
  });

  it('metricName() swaps the default prefix', () => {
    expect(metricName('reservationsTotal')).toBe('slotwise_reservations_total');
    expect(metricName('reservationsTotal', 'billing_')).toBe('billing_reservations_total');
  });

  it("workerTypeOf() maps slot types to Temporal's worker_type values", () => {
    expect(['workflow', 'activity', 'local-activity'].map((t) => workerTypeOf(t as never))).toEqual([
      'WorkflowWorker',
      'ActivityWorker',
      'LocalActivityWorker',
    ]);
  });
});
