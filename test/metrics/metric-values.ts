import type { MetricValue, Registry } from 'prom-client';

/** One series as a test compares it: its labels and value. */
export interface SeriesValue {
  labels: Record<string, string | number>;
  value: number;
}

/** The series of one metric, as the registry would export them now (collect runs). */
export async function seriesOf(registry: Registry, name: string): Promise<SeriesValue[]> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) throw new Error(`no metric named ${name} in the registry`);
  const { values } = await metric.get();
  return values.map((v: MetricValue<string> & { metricName?: string }) => ({
    labels: { ...(v.metricName === undefined ? {} : { __name__: v.metricName }), ...v.labels },
    value: v.value,
  }));
}

/**
 * Parses Prometheus text format into `name{labels}` -> value, with labels in the order they were
 * written. Enough for the flat output prom-client writes.
 */
export function parsePrometheusText(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const split = line.lastIndexOf(' ');
    samples.set(line.slice(0, split), Number(line.slice(split + 1)));
  }
  return samples;
}

/** The series key `parsePrometheusText` uses: `name{a="x",b="y"}`. */
export function seriesKey(name: string, labels: Record<string, string>): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return parts.length === 0 ? name : `${name}{${parts.join(',')}}`;
}
