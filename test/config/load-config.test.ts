import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.js';
import { CONFIG_LIMITS } from '../../src/config/config-limits.js';
import { loadConfig } from '../../src/config/load-config.js';
import { parseConfig } from '../../src/config/parse-config.js';
import { aliasBomb, unknownKeys } from '../helpers/hostile-configs.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'slotwise-config-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function rejection(path: string, env: NodeJS.ProcessEnv | false = {}): Promise<ConfigError> {
  try {
    await loadConfig(path, { env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

const YAML = `# a comment
workflow:
  supplier: { type: fixed, slots: 4 }
activity:
  supplier:
    type: memory
    targetUtilization: 0.75
  costs:
    default: { memoryBytes: 256MiB }
`;

describe('loadConfig', () => {
  it('loadConfig() reads YAML (.yaml and .yml) and JSON with the same result', async () => {
    const json = JSON.stringify({
      workflow: { supplier: { type: 'fixed', slots: 4 } },
      activity: {
        supplier: { type: 'memory', targetUtilization: 0.75 },
        costs: { default: { memoryBytes: '256MiB' } },
      },
    });
    const expected = {
      workflow: { supplier: { type: 'fixed', slots: 4 } },
      activity: {
        supplier: { type: 'memory', targetUtilization: 0.75 },
        costs: { default: { memoryBytes: 256 * 1024 * 1024 } },
      },
    };
    for (const path of [write('a.yaml', YAML), write('b.yml', YAML), write('c.json', json)]) {
      const loaded = await loadConfig(path, { env: {} });
      expect(loaded.config).toEqual(expected);
      expect(loaded.source).toBe(path);
      expect(loaded.overrides).toEqual([]);
      expect(loaded.effective.activity).toMatchObject({
        type: 'memory',
        name: 'activity',
        targetUtilization: 0.75,
      });
    }
  });

  it('loadConfig() applies SLOTWISE_* overrides from options.env, from process.env by default, none with env: false', async () => {
    const path = write('slotwise.yaml', YAML);
    const loaded = await loadConfig(path, { env: { SLOTWISE_WORKFLOW__SUPPLIER__SLOTS: '6' } });
    expect(loaded.config.workflow?.supplier).toEqual({ type: 'fixed', slots: 6 });
    expect(loaded.overrides).toEqual([
      { variable: 'SLOTWISE_WORKFLOW__SUPPLIER__SLOTS', path: ['workflow', 'supplier', 'slots'], value: 6 },
    ]);
    process.env.SLOTWISE_WORKFLOW__SUPPLIER__SLOTS = '7';
    try {
      expect((await loadConfig(path)).config.workflow?.supplier).toEqual({ type: 'fixed', slots: 7 });
      expect((await loadConfig(path, { env: false })).config.workflow?.supplier).toEqual({
        type: 'fixed',
        slots: 4,
      });
    } finally {
      delete process.env.SLOTWISE_WORKFLOW__SUPPLIER__SLOTS;
    }
  });

  it('loadConfig() names the file and the path of an invalid value', async () => {
    const path = write('slotwise.yaml', 'activity:\n  supplier:\n    type: cpu\n    targetUtilization: 80\n');
    expect((await rejection(path)).message).toBe(
      `${path}: activity.supplier.targetUtilization: expected a ratio in (0, 1], got 80. Did you mean 0.8?`,
    );
  });

  it('loadConfig() reports YAML syntax errors with line and column', async () => {
    const path = write('slotwise.yaml', 'activity:\n  supplier:\n    type: fixed\n    slots: 2\n   bad: 3\n');
    const error = await rejection(path);
    expect(error.issues).toEqual([
      {
        path: '',
        line: 5,
        column: 1,
        message: 'YAML syntax error: All mapping items must start at the same column',
      },
    ]);
    expect(error.message).toBe(
      `${path}:5:1: YAML syntax error: All mapping items must start at the same column`,
    );
    const duplicate = write('dup.yaml', 'activity:\n  supplier: { type: fixed, slots: 2 }\nactivity: {}\n');
    expect((await rejection(duplicate)).message).toBe(
      `${duplicate}:3:1: YAML syntax error: Map keys must be unique`,
    );
  });

  it('loadConfig() reports JSON syntax errors with line and column', async () => {
    const path = write('slotwise.json', '{\n  "activity": {"supplier": {"type": "fixed", "slots": 2},}\n}\n');
    expect((await rejection(path)).message).toBe(
      `${path}:2:58: JSON syntax error: Expected double-quoted property name`,
    );
  });

  it.each([
    ['empty.yaml', '# only a comment\n', 'expected a mapping of settings, got an empty file'],
    ['empty.json', '  \n', 'expected a JSON object of settings, got an empty file'],
    ['list.yaml', '- 1\n- 2\n', 'expected a mapping, got [1,2]'],
    ['slotwise.toml', 'a = 1\n', 'expected a .yaml, .yml or .json file, got a .toml file'],
    ['slotwise', '{}', 'expected a .yaml, .yml or .json file, got a file without an extension'],
  ])('loadConfig() rejects %s', async (name, text, message) => {
    const path = write(name, text);
    expect((await rejection(path)).message).toBe(`${path}: ${message}`);
  });

  it('loadConfig() rejects a missing file, naming it', async () => {
    const path = join(dir, 'missing.yaml');
    expect((await rejection(path)).message).toBe(
      `${path}: cannot read the file: ENOENT: no such file or directory, open '${path}'`,
    );
  });

  it('loadConfig() refuses a FIFO in place of the file at once, instead of waiting for a writer', async () => {
    const path = join(dir, 'fifo.yaml');
    execFileSync('mkfifo', [path]);
    expect((await rejection(path)).message).toBe(`${path}: expected a regular file, got a FIFO (named pipe)`);
  });

  it('loadConfig() refuses a directory', async () => {
    const path = join(dir, 'config.yaml');
    mkdirSync(path);
    expect((await rejection(path)).message).toBe(`${path}: expected a regular file, got a directory`);
  });

  it('loadConfig() refuses a file larger than CONFIG_LIMITS.maxBytes, naming its size', async () => {
    const path = write('big.yaml', `# ${'x'.repeat(CONFIG_LIMITS.maxBytes)}\nactivity: {}\n`);
    expect((await rejection(path)).message).toBe(
      `${path}: expected a config of at most 256 KiB, got 256.02 KiB (${CONFIG_LIMITS.maxBytes + 16} bytes)`,
    );
  });

  it('loadConfig() refuses text that is not UTF-8', async () => {
    const path = join(dir, 'latin1.yaml');
    writeFileSync(path, Buffer.from([0x61, 0x3a, 0x20, 0xe9, 0x0a]));
    expect((await rejection(path)).message).toBe(
      `${path}: expected UTF-8 text, but the file holds bytes that are not UTF-8`,
    );
  });

  it('loadConfig() refuses a YAML alias bomb with a ConfigError naming the file', async () => {
    const path = write('bomb.yaml', aliasBomb());
    expect((await rejection(path)).message).toBe(
      `${path}: YAML aliases expand too far (more than 100 alias expansions, counting aliases inside aliases): write the values out`,
    );
  });

  it('loadConfig() accepts YAML anchors and aliases used a few times', async () => {
    const path = write(
      'aliases.yaml',
      'activity:\n  supplier: { type: memory }\n  costs:\n    activities:\n      a: &big { memoryBytes: 1GiB }\n      b: *big\n      c: *big\n',
    );
    const { config } = await loadConfig(path, { env: {} });
    expect(config.activity?.costs?.activities).toEqual({
      a: { memoryBytes: 2 ** 30 },
      b: { memoryBytes: 2 ** 30 },
      c: { memoryBytes: 2 ** 30 },
    });
  });

  it.each([
    ['lists.json', `${'['.repeat(5000)}${']'.repeat(5000)}`],
    ['objects.json', `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`],
    ['lists.yaml', `${'['.repeat(5000)}${']'.repeat(5000)}\n`],
    ['mappings.yaml', `${'{a: '.repeat(5000)}1${'}'.repeat(5000)}\n`],
  ])(
    'loadConfig() refuses 5000 levels of nesting (%s) with a ConfigError naming the file',
    async (name, text) => {
      const path = write(name, text);
      expect((await rejection(path)).message).toBe(
        `${path}: expected at most 64 levels of mappings and lists inside one another, got more`,
      );
    },
  );

  it('loadConfig() lists the first CONFIG_LIMITS.maxIssues problems and counts the rest', async () => {
    const path = write('keys.yaml', unknownKeys(5000));
    const error = await rejection(path);
    expect(error.issues.length).toBe(CONFIG_LIMITS.maxIssues + 1);
    expect(error.issues[0]).toEqual({
      path: 'key0',
      message:
        'unknown key (expected one of: sampler, suppliers, workflow, activity, localActivity, resourceBased, metrics, temporal)',
    });
    expect(error.issues[CONFIG_LIMITS.maxIssues]).toEqual({
      path: '',
      message: '4900 more problems not listed (only the first 100 are)',
    });
  });

  it('loadConfig() refuses a file of more than CONFIG_LIMITS.maxValues values', async () => {
    const path = write('values.json', `{"activity": [${Array(CONFIG_LIMITS.maxValues).fill(0).join(',')}]}`);
    expect((await rejection(path)).message).toBe(
      `${path}: expected at most 50000 values (mappings, lists and scalars), got more`,
    );
  });

  it('loadConfig() reports duplicate keys at any depth with line and column', async () => {
    const path = write('dup.yaml', 'activity:\n  supplier: { type: fixed, slots: 2, slots: 3 }\n');
    expect((await rejection(path)).message).toBe(`${path}:2:38: YAML syntax error: Map keys must be unique`);
  });

  it('parseConfig() refuses an object that contains itself', () => {
    const part: Record<string, unknown> = { type: 'composite' };
    part.parts = [part];
    expect(() => parseConfig({ activity: { supplier: part } }, { source: 'code' })).toThrow(
      new ConfigError('code', [
        {
          path: 'activity.supplier.parts[0]',
          message: 'expected plain data, got a value that contains itself (activity.supplier)',
        },
      ]),
    );
  });
});
