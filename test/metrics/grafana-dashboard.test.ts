import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { METRIC_DEFINITIONS } from '../../src/metrics/metric-names.js';

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { uid: string };
  targets?: Array<{ refId: string; expr: string; datasource: { uid: string } }>;
}

const dashboard = JSON.parse(readFileSync('dashboards/grafana-slotwise.json', 'utf8')) as {
  uid: string;
  panels: Panel[];
  templating: { list: Array<{ name: string }> };
};
/** Grafana's datasource variable reference, spelled without a template literal. */
const DATASOURCE_VAR = ['$', '{datasource}'].join('');
const graphs = dashboard.panels.filter((p) => p.type !== 'row');
const expressions = graphs.flatMap((p) => (p.targets ?? []).map((t) => t.expr));

describe('dashboards/grafana-slotwise.json', () => {
  it('METRIC_DEFINITIONS: every slotwise metric appears in a panel, and every slotwise name in a panel is defined', () => {
    const defined = new Set(METRIC_DEFINITIONS.map((d) => d.name));
    const histograms = METRIC_DEFINITIONS.filter((d) => d.type === 'histogram').map((d) => d.name);
    const used = new Set(
      expressions
        .flatMap((e) => e.match(/\bslotwise_[a-z_]+/g) ?? [])
        .map((name) => {
          const base = histograms.find((h) => [`${h}_bucket`, `${h}_sum`, `${h}_count`].includes(name));
          return base ?? name;
        }),
    );
    expect([...used].filter((name) => !defined.has(name))).toEqual([]);
    expect([...defined].filter((name) => !used.has(name))).toEqual([]);
  });

  it('METRIC_DEFINITIONS: panels filter on the labels every slotwise metric has', () => {
    const slotwise = expressions.filter((e) => e.includes('slotwise_'));
    for (const expr of slotwise) {
      expect(expr).toContain('namespace=~"$namespace", task_queue=~"$task_queue", supplier=~"$supplier"');
    }
    expect(dashboard.templating.list.map((v) => v.name)).toEqual([
      'datasource',
      'namespace',
      'task_queue',
      'supplier',
    ]);
    expect(expressions.some((e) => e.includes('temporal_worker_task_slots_used'))).toBe(true);
  });

  it('METRIC_DEFINITIONS: panels have unique ids, the datasource variable, and targets with refIds', () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of graphs) {
      expect(panel.datasource?.uid).toBe(DATASOURCE_VAR);
      expect(panel.targets!.length).toBeGreaterThan(0);
      for (const target of panel.targets!) {
        expect(target.refId).toMatch(/^[A-H]$/);
        expect(target.datasource.uid).toBe(DATASOURCE_VAR);
      }
    }
    expect(dashboard.uid).toBe('slotwise-suppliers');
  });
});
