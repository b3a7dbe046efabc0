import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigError, type ConfigIssue } from './config-error.js';
import { type ParsedConfig, parseConfigDetailed } from './parse-config.js';

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /**
   * Environment whose `SLOTWISE_*` variables override values in the file (see
   * {@link applyEnvOverrides}); `false` for none.
   * @default process.env
   */
  env?: NodeJS.ProcessEnv | false;
}

/** A config loaded from a file. */
export interface LoadedConfig extends ParsedConfig {
  /** The file, as given. */
  source: string;
  /** The file's text. */
  text: string;
}

/**
 * Reads a config file (YAML for `.yaml`/`.yml`, JSON for `.json`), applies `SLOTWISE_*`
 * environment overrides and validates it. Throws a {@link ConfigError} that names the file and
 * lists every problem: syntax errors with their line and column, invalid values with their path.
 *
 * @example
 * ```ts
 * import { buildTuner, loadConfig } from 'slotwise';
 *
 * const { config, overrides } = await loadConfig('slotwise.yaml');
 * overrides; // => [{ variable: 'SLOTWISE_ACTIVITY__SUPPLIER__SLOTS', path: ['activity', 'supplier', 'slots'], value: 8 }]
 * const built = buildTuner(config);
 * // Worker.create(slotwiseWorkerOptions({ ..., tuner: built.tuner }))
 * built.close();
 * ```
 */
export async function loadConfig(path: string, options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const format = formatOf(path);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(path, [
      {
        path: '',
        message: `cannot read the file: ${error instanceof Error ? error.message : String(error)}`,
      },
    ]);
  }
  return parseConfigText(text, path, format, options);
}

/**
 * Parses and validates config text; `format` comes from the file's extension.
 *
 * @example
 * ```ts
 * import { parseConfigText } from 'slotwise/internal/config/load-config.js';
 * parseConfigText('activity:\n  supplier: { type: fixed, slots: 2 }\n', 'inline.yaml', 'yaml', { env: false }).config;
 * // => { activity: { supplier: { type: 'fixed', slots: 2 } } }
 * ```
 */
export function parseConfigText(
  text: string,
  source: string,
  format: 'yaml' | 'json',
  options: LoadConfigOptions = {},
): LoadedConfig {
  const data = format === 'json' ? parseJson(text, source) : parseYaml(text, source);
  const env = options.env === undefined ? process.env : options.env;
  const parsed = parseConfigDetailed(data, { source, ...(env ? { env } : {}) });
  return { ...parsed, source, text };
}

/**
 * `yaml` or `json` from a file name, or a {@link ConfigError}.
 *
 * @example
 * ```ts
 * import { formatOf } from 'slotwise/internal/config/load-config.js';
 * formatOf('slotwise.yml'); // => 'yaml'
 * formatOf('slotwise.toml'); // throws ConfigError: slotwise.toml: expected a .yaml, .yml or .json file, got a .toml file
 * ```
 */
export function formatOf(path: string): 'yaml' | 'json' {
  const extension = extname(path).toLowerCase();
  if (extension === '.yaml' || extension === '.yml') return 'yaml';
  if (extension === '.json') return 'json';
  throw new ConfigError(path, [
    {
      path: '',
      message: `expected a .yaml, .yml or .json file, got ${extension ? `a ${extension} file` : 'a file without an extension'}`,
    },
  ]);
}

function parseYaml(text: string, source: string): unknown {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      source,
      doc.errors.map((error): ConfigIssue => {
        const { line, col } = lineCounter.linePos(error.pos[0]);
        return { path: '', line, column: col, message: `YAML syntax error: ${error.message.split('\n')[0]}` };
      }),
    );
  }
  if (doc.contents === null) {
    throw new ConfigError(source, [
      { path: '', message: 'expected a mapping of settings, got an empty file' },
    ]);
  }
  return doc.toJS({ maxAliasCount: 100 });
}

function parseJson(text: string, source: string): unknown {
  if (text.trim() === '') {
    throw new ConfigError(source, [
      { path: '', message: 'expected a JSON object of settings, got an empty file' },
    ]);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const position = /at position (\d+)/.exec(message);
    const issue: ConfigIssue = {
      path: '',
      message: `JSON syntax error: ${message.replace(/ in JSON at position \d+.*$/, '').replace(/ \(line \d+ column \d+\)$/, '')}`,
    };
    if (position) {
      const before = text.slice(0, Number(position[1]));
      issue.line = before.split('\n').length;
      issue.column = before.length - before.lastIndexOf('\n');
    }
    throw new ConfigError(source, [issue]);
  }
}
