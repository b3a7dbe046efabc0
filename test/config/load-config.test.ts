import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.js';
import { loadConfig } from '../../src/config/load-config.js';

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
});
