import { describe, expect, it } from 'vitest';
import { METRIC_DEFINITIONS, METRIC_NAMES, metricName } from '../../src/metrics/metric-names.js';
import { workerTypeOf } from '../../src/metrics/worker-type.js';

describe('metric names', () => {
  it('METRIC_DEFINITIONS lists every name of METRIC_NAMES once, with units Prometheus expects', () => {
    expect(METRIC_DEFINITIONS.map((d) => d.name)).toEqual(Object.values(METRIC_NAMES));
    for (const d of METRIC_DEFINITIONS) {
      expect(d.help.length).toBeGreaterThan(20);
      expect(d.labels.slice(0, 4)).toEqual(['namespace', 'task_queue', 'worker_type', 'supplier']);
      expect(d.name.endsWith('_total')).toBe(d.type === 'counter');
      if (d.type === 'histogram') expect(d.name.endsWith('_seconds')).toBe(true);
    }
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
