import { brandClass } from '../class-brand.js';
/** One problem found in a config. */
export interface ConfigIssue {
  /** Where in the config: `activity.supplier.targetUtilization`, `parts[0]`; `''` for the whole file. */
  path: string;
  /** What was expected and what was found: "expected a ratio in (0, 1], got 80. Did you mean 0.8?". */
  message: string;
  /** The `SLOTWISE_*` environment variable that set the value, when one did. */
  variable?: string;
  /** 1-based line and column, for syntax errors. */
  line?: number;
  column?: number;
}

/**
 * Thrown when a config cannot be read or is invalid. It lists every problem found, one per line,
 * each naming the file, the path inside it (or the line and column of a syntax error, or the
 * environment variable that set the value) and what was expected:
 *
 * ```text
 * slotwise.yaml: activity.supplier.targetUtilization: expected a ratio in (0, 1], got 80. Did you mean 0.8?
 * slotwise.yaml: workflow.supplier.slots: expected an integer >= 2, as it serves workflow tasks (...), got 1
 * ```
 *
 * @example
 * ```ts
 * import { ConfigError, loadConfig } from 'slotwise';
 *
 * try {
 *   await loadConfig('slotwise.yaml');
 * } catch (error) {
 *   if (!(error instanceof ConfigError)) throw error;
 *   error.issues; // => [{ path: 'activity.supplier.targetUtilization', message: 'expected a ratio in (0, 1], got 80. Did you mean 0.8?' }]
 * }
 * ```
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
  /** The file (as given) or other source the config came from. */
  readonly source: string;
  /** Every problem, in the order found. */
  readonly issues: readonly ConfigIssue[];

  constructor(source: string, issues: readonly ConfigIssue[]) {
    super(issues.map((issue) => formatConfigIssue(source, issue)).join('\n'));
    this.source = source;
    this.issues = issues;
  }
}
brandClass(ConfigError, 'ConfigError');

/**
 * Renders one issue as a line: `<source>[:line:column]: [<VARIABLE> (<path>)|<path>]: <message>`.
 *
 * @example
 * ```ts
 * import { formatConfigIssue } from 'slotwise/internal/config/config-error.js';
 * formatConfigIssue('slotwise.yaml', { path: 'activity.supplier.slots', message: 'expected an integer >= 1, got 0' });
 * // => 'slotwise.yaml: activity.supplier.slots: expected an integer >= 1, got 0'
 * formatConfigIssue('slotwise.yaml', { path: 'activity.supplier.slot', message: 'unknown key', variable: 'SLOTWISE_ACTIVITY__SUPPLIER__SLOT' });
 * // => 'slotwise.yaml: SLOTWISE_ACTIVITY__SUPPLIER__SLOT (activity.supplier.slot): unknown key'
 * ```
 */
export function formatConfigIssue(source: string, issue: ConfigIssue): string {
  const at = issue.line === undefined ? '' : `:${issue.line}:${issue.column ?? 1}`;
  const where = issue.variable ? `${issue.variable} (${issue.path || 'root'})` : issue.path;
  return `${source}${at}: ${where ? `${where}: ` : ''}${issue.message}`;
}
