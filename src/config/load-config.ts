import { extname } from 'node:path';
import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  Lexer,
  LineCounter,
  type Node,
  parseDocument,
} from 'yaml';
import { formatByteSize } from './byte-size.js';
import { ConfigError, type ConfigIssue } from './config-error.js';
import { CONFIG_LIMITS } from './config-limits.js';
import { type ParsedConfig, parseConfigDetailed } from './parse-config.js';
import { readConfigFile } from './read-config-file.js';

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
 * Only a regular file (or a link to one) of at most {@link CONFIG_LIMITS}.maxBytes is read; YAML
 * aliases, nesting and the number of values are bounded too, so a hostile file is refused quickly.
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
  const text = await readConfigFile(path);
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
  if (text.length > CONFIG_LIMITS.maxBytes && Buffer.byteLength(text) > CONFIG_LIMITS.maxBytes) {
    throw new ConfigError(source, [
      {
        path: '',
        message: `expected a config of at most ${formatByteSize(CONFIG_LIMITS.maxBytes)}, got ${formatByteSize(Buffer.byteLength(text))}`,
      },
    ]);
  }
  let data: unknown;
  try {
    data = format === 'json' ? parseJson(text, source) : parseYaml(text, source);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    // Whatever the parser throws on a file it cannot read is still a rejection of that file.
    throw new ConfigError(source, [
      {
        path: '',
        message: `cannot parse the file as ${format === 'json' ? 'JSON' : 'YAML'}: ${error instanceof Error ? error.message : String(error)}`,
      },
    ]);
  }
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

/** The `yaml` package's message when it runs out of stack on deeply nested input. */
const STACK_EXHAUSTED = 'Maximum call stack size exceeded';
const TOO_DEEP = `expected at most ${CONFIG_LIMITS.maxDepth} levels of mappings and lists inside one another, got more`;

function parseYaml(text: string, source: string): unknown {
  // Flow collections nest one level per character (`[[[[`): refuse deep ones before the parser
  // recurses into them (it runs out of stack at about 800 levels, after a second of work).
  if (flowDepthExceeds(text, CONFIG_LIMITS.maxDepth))
    throw new ConfigError(source, [{ path: '', message: TOO_DEEP }]);
  const lineCounter = new LineCounter();
  // Duplicate keys are found below in one pass: the package's own check compares each key with
  // every earlier key of its mapping, which takes minutes on a file of 400k keys.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const issueAt = (offset: number, message: string): ConfigIssue => {
    const { line, col } = lineCounter.linePos(offset);
    return { path: '', line, column: col, message };
  };
  if (doc.errors.length > 0) {
    if (doc.errors.some((error) => error.message.includes(STACK_EXHAUSTED))) {
      throw new ConfigError(source, [{ path: '', message: TOO_DEEP }]);
    }
    throw new ConfigError(
      source,
      doc.errors.map((error) => issueAt(error.pos[0], `YAML syntax error: ${error.message.split('\n')[0]}`)),
    );
  }
  if (doc.contents === null) {
    throw new ConfigError(source, [
      { path: '', message: 'expected a mapping of settings, got an empty file' },
    ]);
  }
  const duplicates = duplicateKeys(doc).map((offset) =>
    issueAt(offset, 'YAML syntax error: Map keys must be unique'),
  );
  if (duplicates.length > 0) throw new ConfigError(source, duplicates);
  try {
    return doc.toJS({ maxAliasCount: CONFIG_LIMITS.maxAliasCount });
  } catch (error) {
    if (error instanceof ReferenceError && /alias/i.test(error.message)) {
      throw new ConfigError(source, [
        {
          path: '',
          message: `YAML aliases expand too far (more than ${CONFIG_LIMITS.maxAliasCount} alias expansions, counting aliases inside aliases): write the values out`,
        },
      ]);
    }
    if (error instanceof RangeError) throw new ConfigError(source, [{ path: '', message: TOO_DEEP }]);
    throw error;
  }
}

/** Whether flow collections (`[...]`, `{...}`) nest deeper than `max` levels, stopping as soon as they do. */
function flowDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  for (const token of new Lexer().lex(text)) {
    if (token === '[' || token === '{') {
      if (++depth > max) return true;
    } else if (token === ']' || token === '}') {
      depth--;
    }
  }
  return false;
}

/** Offsets of the keys that repeat an earlier key of their mapping, in one pass over the document. */
function duplicateKeys(doc: Document): number[] {
  const found: number[] = [];
  const stack: unknown[] = [doc.contents];
  const seen = new Set<unknown>();
  while (stack.length > 0) {
    const node = stack.pop();
    if (isAlias(node) || seen.has(node)) continue;
    seen.add(node);
    if (isSeq(node)) {
      for (const item of node.items) stack.push(item);
    } else if (isMap(node)) {
      const keys = new Set<unknown>();
      for (const pair of node.items) {
        const key = pair.key as Node | null;
        if (isScalar(key)) {
          if (keys.has(key.value)) found.push(key.range?.[0] ?? 0);
          keys.add(key.value);
        }
        stack.push(pair.key, pair.value);
      }
    }
  }
  return found.sort((a, b) => a - b);
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
