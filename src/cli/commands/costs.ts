import { DEFAULT_METRIC_PREFIX, metricName } from '../../metrics/metric-names.js';
import { type CliIo, UsageError } from '../cli-io.js';
import { intFlag, parseCommandArgs } from '../parse-args.js';

/** The text of `slotwise costs --help`. */
export const COSTS_HELP = `Usage: slotwise costs [options]

Reads the per-task costs a running Worker's slotwise suppliers learned from readings (the
slotwise_learned_task_* series of its metrics endpoint) and prints them as a \`costs:\` block to
paste into the slotwise config, so the suppliers stop learning and admit on exact declared costs.

Options:
  --url <url>          the Worker's metrics endpoint (default: http://127.0.0.1:9464/metrics;
                       a URL without a path gets /metrics)
  --supplier <name>    only what this supplier learned (repeat the option for several)
  --margin <ratio>     multiply each learned cost by this: a declared cost is what a task uses at
                       most, a learned one what it used on average (default: 1.2)
  --prefix <prefix>    metric name prefix the Worker exports with (default: slotwise_)
  --timeout-ms <ms>    how long the endpoint may take to answer (default: 5000)
  --json               print the costs as JSON instead
  -h, --help           show this help

Exit codes: 0 costs printed, 1 the endpoint did not answer or nothing was learned yet, 2 usage error.`;

/** A cost dimension as the config spells it, with the metric that exports it. */
const DIMENSIONS = [
  { key: 'cpu', metric: 'learnedTaskCpuCores', bytes: false },
  { key: 'memoryBytes', metric: 'learnedTaskMemoryBytes', bytes: true },
  { key: 'gpuMemoryBytes', metric: 'learnedTaskGpuMemoryBytes', bytes: true },
  { key: 'heapBytes', metric: 'learnedTaskHeapBytes', bytes: true },
] as const;

type Dimension = (typeof DIMENSIONS)[number]['key'];

/** The config section of each Temporal worker type. */
const SLOT_TYPE_OF: Readonly<Record<string, string>> = {
  WorkflowWorker: 'workflow',
  ActivityWorker: 'activity',
  LocalActivityWorker: 'localActivity',
};
const SLOT_TYPE_ORDER = ['workflow', 'activity', 'localActivity'];

/** Learned costs by config slot type, then `activities`/`workflows`, then task type. */
export type LearnedCostTable = Record<
  string,
  {
    activities?: Record<string, Partial<Record<Dimension, number>>>;
    workflows?: Record<string, Partial<Record<Dimension, number>>>;
  }
>;

/** One sample of a Prometheus text exposition. */
interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * `slotwise costs`: prints the costs a running Worker learned as a `costs:` block per slot type.
 * Returns the exit code: 0 when costs were printed, 1 when the endpoint did not answer or nothing
 * was learned yet; bad usage throws a {@link UsageError} (exit 2).
 *
 * @example
 * ```ts
 * import { processIo } from 'slotwise/internal/cli/cli-io.js';
 * import { costsCommand } from 'slotwise/internal/cli/commands/costs.js';
 * const code = await costsCommand(['--url', 'http://127.0.0.1:9464/metrics'], processIo); // => 0
 * ```
 */
export async function costsCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs('costs', argv, {
    url: { type: 'string' },
    supplier: { type: 'string', multiple: true },
    margin: { type: 'string' },
    prefix: { type: 'string' },
    'timeout-ms': { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    io.out(COSTS_HELP);
    return 0;
  }
  const url = metricsUrl(values.url ?? 'http://127.0.0.1:9464/metrics');
  const margin = values.margin === undefined ? 1.2 : Number(values.margin);
  if (!Number.isFinite(margin) || margin < 1) {
    throw new UsageError(
      `slotwise costs: --margin must be a number >= 1, got ${JSON.stringify(values.margin)}.`,
    );
  }
  const prefix = values.prefix ?? DEFAULT_METRIC_PREFIX;
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix)) {
    throw new UsageError(
      `slotwise costs: --prefix must be a metric name prefix such as slotwise_, got ${JSON.stringify(prefix)}.`,
    );
  }
  const timeoutMs = intFlag('costs', 'timeout-ms', values['timeout-ms'], 1) ?? 5000;
  const suppliers = (values.supplier as string[] | undefined) ?? [];

  let text: string;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) {
      io.err(`slotwise costs: ${url} answered ${response.status} ${response.statusText}.`);
      return 1;
    }
    text = await response.text();
  } catch (error) {
    const reason =
      error instanceof Error
        ? error.cause instanceof Error
          ? error.cause.message
          : error.message
        : String(error);
    io.err(`slotwise costs: cannot read ${url}: ${reason}. Is a Worker with metrics.listen running there?`);
    return 1;
  }

  const table = learnedCosts(parsePrometheusText(text), prefix, suppliers, margin);
  if (Object.keys(table).length === 0) {
    const which = suppliers.length ? ` for supplier ${suppliers.map((s) => `'${s}'`).join(', ')}` : '';
    io.err(
      `slotwise costs: nothing learned yet${which} at ${url}. Suppliers learn a task type's cost from readings while tasks of types without a declared cost run; run some work first.`,
    );
    return 1;
  }
  if (values.json) {
    io.out(JSON.stringify(table, null, 2));
    return 0;
  }
  io.out(`# Per-task costs learned at ${url}, x${margin} margin (${new Date().toISOString()}).`);
  io.out('# Paste into your slotwise config: each block goes in its slot type section.');
  for (const line of costsYaml(table)) io.out(line);
  return 0;
}

/** `url` with `/metrics` when it has no path. */
function metricsUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(
      `slotwise costs: --url must be a URL such as http://127.0.0.1:9464/metrics, got ${JSON.stringify(value)}.`,
    );
  }
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/metrics';
  return url.toString();
}

/**
 * Builds the costs table from learned-cost series: grouped by the slot type of their `worker_type`
 * label (a supplier serving several gets its costs under each), one entry per task type, the
 * largest value when several suppliers learned the same dimension, times `margin`.
 */
export function learnedCosts(
  samples: readonly PromSample[],
  prefix: string,
  suppliers: readonly string[],
  margin: number,
): LearnedCostTable {
  const table: LearnedCostTable = {};
  for (const dimension of DIMENSIONS) {
    const name = metricName(dimension.metric, prefix);
    for (const sample of samples) {
      if (sample.name !== name || !Number.isFinite(sample.value) || sample.value <= 0) continue;
      if (suppliers.length > 0 && !suppliers.includes(sample.labels.supplier ?? '')) continue;
      const kind = sample.labels.task_kind;
      const type = sample.labels.task_type;
      if ((kind !== 'activities' && kind !== 'workflows') || !type) continue;
      const workerTypes = (sample.labels.worker_type ?? '').split(',').filter(Boolean);
      const slotTypes = workerTypes.map((w) => SLOT_TYPE_OF[w]).filter((s): s is string => s !== undefined);
      if (slotTypes.length === 0) slotTypes.push(kind === 'workflows' ? 'workflow' : 'activity');
      const value = rounded(sample.value * margin, dimension.bytes);
      for (const slotType of slotTypes) {
        const section = table[slotType] ?? {};
        table[slotType] = section;
        const byType = section[kind] ?? {};
        section[kind] = byType;
        const cost = byType[type] ?? {};
        byType[type] = cost;
        cost[dimension.key] = Math.max(cost[dimension.key] ?? 0, value);
      }
    }
  }
  return table;
}

/** Whole MiB up for sizes, two decimals up for cores. */
function rounded(value: number, bytes: boolean): number {
  const MiB = 2 ** 20;
  return bytes ? Math.ceil(value / MiB) * MiB : Math.ceil(value * 100 - 1e-9) / 100;
}

/** The table as config YAML: slot type sections with their `costs:`, sizes written as "NMiB". */
export function costsYaml(table: LearnedCostTable): string[] {
  const lines: string[] = [];
  const quote = (key: string) => (/^[A-Za-z_][\w.-]*$/.test(key) ? key : JSON.stringify(key));
  const slotTypes = Object.keys(table).sort(
    (a, b) => SLOT_TYPE_ORDER.indexOf(a) - SLOT_TYPE_ORDER.indexOf(b),
  );
  for (const slotType of slotTypes) {
    lines.push(`${slotType}:`, '  costs:');
    for (const kind of ['activities', 'workflows'] as const) {
      const byType = table[slotType]![kind];
      if (!byType) continue;
      lines.push(`    ${kind}:`);
      for (const type of Object.keys(byType).sort()) {
        lines.push(`      ${quote(type)}:`);
        for (const { key, bytes } of DIMENSIONS) {
          const value = byType[type]![key];
          if (value === undefined) continue;
          lines.push(`        ${key}: ${bytes ? `${value / 2 ** 20}MiB` : value}`);
        }
      }
    }
  }
  return lines;
}

/**
 * Parses the Prometheus text exposition format: `name{label="value",...} value [timestamp]` lines;
 * comments and blank lines are skipped, label values unescaped (`\\`, `\"`, `\n`).
 */
export function parsePrometheusText(text: string): PromSample[] {
  const samples: PromSample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    const body = match[3] ?? '';
    const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/g;
    for (let m = label.exec(body); m !== null; m = label.exec(body)) {
      labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: match[1]!, labels, value: Number(match[4]) });
  }
  return samples;
}
