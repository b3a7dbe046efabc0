import { describe, expect, it } from 'vitest';
import { installedPackage, MODULE_FORMATS } from './installed-package.js';

const change = (from: number, to: number) => ({
  applied: [{ path: 'activity.supplier.slots', supplier: 'activity', from, to }],
});

describe('the installed slotwise validate', () => {
  it('`slotwise validate` reports every problem at once, an unknown SLOTWISE_FOO among them, in text and --json', async () => {
    const pkg = installedPackage();
    const path = pkg.writeFile(
      'all-at-once.yaml',
      [
        'suppliers:',
        '  pool: { type: fixed, slots: 4 }',
        'activity:',
        '  supplier: { type: cpu, minSlots: 5, maxSlots: 3 }',
        '  costs: { default: { memoryBytes: 99999999TiB } }',
        'localActivity:',
        '  supplier: poool',
        '',
      ].join('\n'),
    );
    const env = { SLOTWISE_FOO: '1' };
    const text = await pkg.slotwiseBin(['validate', path], { env });
    expect(text.code).toBe(1);
    expect(text.stdout).toBe('');
    expect(text.stderr.trim().split('\n')).toEqual([
      `${path}: activity.costs.default.memoryBytes: expected a size of at most 9007199254740991 bytes (8 PiB - 1 B), got "99999999TiB"`,
      `${path}: SLOTWISE_FOO (foo): unknown key (expected one of: sampler, suppliers, workflow, activity, localActivity, resourceBased, metrics, temporal). Every SLOTWISE_* variable sets a config key, except SLOTWISE_CACHE_DIR`,
      `${path}: localActivity.supplier: expected the name of a shared supplier (pool), got "poool"`,
      `${path}: activity.supplier.maxSlots: expected an integer >= minSlots (5), got 3`,
      `slotwise validate: ${path} is invalid (4 problems)`,
    ]);
    const json = await pkg.slotwiseBin(['validate', path, '--json'], { env });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ valid: false, file: path });
    expect(JSON.parse(json.stdout).errors.map((e: { path: string }) => e.path)).toEqual([
      'activity.costs.default.memoryBytes',
      'foo',
      'localActivity.supplier',
      'activity.supplier.maxSlots',
    ]);
  });

  it('`slotwise validate --json` refuses an alias bomb and 5000 levels of nesting with the file named', async () => {
    const pkg = installedPackage();
    let bomb = 'a0: &a0 [x, x, x, x, x, x, x, x, x]\n';
    for (let i = 1; i <= 9; i++)
      bomb += `a${i}: &a${i} [${Array(9)
        .fill(`*a${i - 1}`)
        .join(', ')}]\n`;
    for (const [name, text, message] of [
      [
        'bomb.yaml',
        bomb,
        'YAML aliases expand too far (more than 100 alias expansions, counting aliases inside aliases): write the values out',
      ],
      [
        'deep.json',
        `${'['.repeat(5000)}${']'.repeat(5000)}`,
        'expected at most 64 levels of mappings and lists inside one another, got more',
      ],
    ]) {
      const path = pkg.writeFile(name!, text!);
      const result = await pkg.slotwiseBin(['validate', path, '--json']);
      expect({ code: result.code, stderr: result.stderr, out: JSON.parse(result.stdout) }).toEqual({
        code: 1,
        stderr: '',
        out: { valid: false, file: path, errors: [{ path: '', message }] },
      });
    }
  });
});

describe.each(MODULE_FORMATS)('the installed package, loaded as %s', (format) => {
  it('watchConfig() follows a ConfigMap ..data swap and refuses a FIFO; the metrics server is bounded by default', async () => {
    const result = await installedPackage().runScenario('config-reload.mjs', format);
    expect(result).toEqual({
      swapped: change(1, 3),
      fifo: { error: 'ConfigError: <dir>/slotwise.yaml: expected a regular file, got a FIFO (named pipe)' },
      back: change(3, 4),
      capacity: 4,
      limits: { headersTimeoutMs: 10_000, idleTimeoutMs: 15_000, maxConnections: 64 },
    });
  });
});
