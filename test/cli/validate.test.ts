import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/cli-io.js';
import { VALIDATE_HELP, validateCommand } from '../../src/cli/commands/validate.js';
import { aliasBomb } from '../helpers/hostile-configs.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'slotwise-validate-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function io(env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l), env }, out, err };
}

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const CONFIG = `suppliers:
  pool: { type: fixed, slots: 12 }
activity:
  supplier:
    type: composite
    parts:
      - { type: fixed, slots: 8 }
      - pool
      - { type: memory, maxSlots: 64 }
  costs:
    default: { memoryBytes: 256MiB }
    activities:
      renderVideo: { cpu: 2, memoryBytes: 2GiB }
localActivity:
  supplier: pool
metrics:
  listen: 127.0.0.1:9464
`;

describe('slotwise validate', () => {
  it('validateCommand() prints the effective limits per slot type, defaults filled in and marked, and exits 0', async () => {
    const path = write('slotwise.yaml', CONFIG);
    const t = io({
      SLOTWISE_ACTIVITY__SUPPLIER__PARTS__0__SLOTS: '6',
      SLOTWISE_TEMPORAL__ADDRESS: 'localhost:7233',
    });
    expect(await validateCommand([path], t.io)).toBe(0);
    expect(t.err).toEqual([]);
    expect(t.out.join('\n')).toBe(
      [
        `${path}: valid`,
        '',
        'environment overrides',
        '  VARIABLE                                      SETS                              VALUE',
        '  SLOTWISE_ACTIVITY__SUPPLIER__PARTS__0__SLOTS  activity.supplier.parts[0].slots  6',
        '  SLOTWISE_TEMPORAL__ADDRESS                    temporal.address                  "localhost:7233"',
        '',
        'workflow: workflow tasks (workflow.supplier)',
        '  SUPPLIER             SETTING   VALUE',
        '  temporal-fixed-size  numSlots  40 (default)',
        '',
        'activity: activity tasks (activity.supplier)',
        '  SUPPLIER                                 SETTING                       VALUE',
        '  composite "activity"                     parts                         3: a permit takes one from each',
        '    fixed "activity-fixed"                 slots                         6',
        '    fixed "pool" (shared: suppliers.pool)  slots                         12',
        '    memory "activity-memory"               minSlots                      1 (default)',
        '                                           maxSlots                      64',
        '                                           targetUtilization             0.8 (default)',
        '                                           hysteresis                    0.05 (default)',
        '                                           rampThrottleMs                50 (default)',
        '                                           settleMs                      1000 (default)',
        '                                           costs.default                 memoryBytes 256 MiB (from activity.costs)',
        '                                           costs.activities.renderVideo  cpu 2, memoryBytes 2 GiB',
        '',
        'localActivity: local activity tasks (localActivity.supplier)',
        '  SUPPLIER                               SETTING  VALUE',
        '  fixed "pool" (shared: suppliers.pool)  slots    12',
        '',
        'shared suppliers',
        '  NAME  USED BY',
        '  pool  activity.supplier.parts[1], localActivity.supplier',
        '',
        'nexus tasks',
        '  SUPPLIER             SETTING   VALUE',
        '  temporal-fixed-size  numSlots  100 (always)',
        '',
        'other settings',
        '  SETTING                    VALUE',
        '  sampler                    one, reading memory',
        '  sampler.intervalMs         100 (default)',
        '  sampler.memory.scope       cgroup (default)',
        '  sampler.memory.limitBytes  the cgroup limit, else the host total (default)',
        '  metrics.listen             127.0.0.1:9464',
        '  temporal.address           localhost:7233',
        '  temporal.namespace         not set ("default")',
        '  temporal.taskQueue         not set',
      ].join('\n'),
    );
  });

  it('validateCommand() prints every problem with file and path on stderr and exits 1', async () => {
    const path = write(
      'slotwise.yaml',
      'workflow:\n  supplier: { type: fixed, slots: 1 }\nactivity:\n  supplier: { type: cpu, targetUtilization: 80, slot: 2 }\n',
    );
    const t = io();
    expect(await validateCommand([path], t.io)).toBe(1);
    expect(t.out).toEqual([]);
    expect(t.err).toEqual([
      `${path}: activity.supplier.targetUtilization: expected a ratio in (0, 1], got 80. Did you mean 0.8?`,
      `${path}: activity.supplier.slot: unknown key (expected one of: type, name, minSlots, maxSlots, targetUtilization, hysteresis, rampThrottleMs, settleMs, staleAfterMs, costs, floors, ceilings)`,
      `${path}: workflow.supplier.slots: expected an integer >= 2, as it serves workflow tasks (core holds a sticky and a non-sticky workflow slot), got 1`,
      `slotwise validate: ${path} is invalid (3 problems)`,
    ]);
  });

  it('validateCommand() exits 1 for a file it cannot read or parse', async () => {
    const missing = join(dir, 'missing.yaml');
    const t = io();
    expect(await validateCommand([missing], t.io)).toBe(1);
    expect(t.err).toEqual([
      `${missing}: cannot read the file: ENOENT: no such file or directory, open '${missing}'`,
      `slotwise validate: ${missing} is invalid (1 problem)`,
    ]);
    const broken = write('broken.json', '{"activity": {},}');
    const u = io();
    expect(await validateCommand([broken], u.io)).toBe(1);
    expect(u.err).toEqual([
      `${broken}:1:17: JSON syntax error: Expected double-quoted property name`,
      `slotwise validate: ${broken} is invalid (1 problem)`,
    ]);
  });

  it('validateCommand() --json prints the effective config, or the problems, as JSON on stdout', async () => {
    const path = write('slotwise.yaml', 'activity:\n  supplier: { type: fixed, slots: 3 }\n');
    const t = io({ SLOTWISE_ACTIVITY__SUPPLIER__SLOTS: '4' });
    expect(await validateCommand([path, '--json'], t.io)).toBe(0);
    const result = JSON.parse(t.out.join('\n'));
    expect(result).toMatchObject({
      valid: true,
      file: path,
      overrides: [
        { variable: 'SLOTWISE_ACTIVITY__SUPPLIER__SLOTS', path: 'activity.supplier.slots', value: 4 },
      ],
      effective: {
        activity: { type: 'fixed', name: 'activity', path: 'activity.supplier', slots: 4, shared: false },
        workflow: { type: 'temporal-fixed-size', numSlots: 40 },
        nexus: { type: 'temporal-fixed-size', numSlots: 100 },
        sampler: null,
        metrics: { listen: false },
      },
    });

    const bad = write('bad.yaml', 'activity:\n  supplier: { type: fixed, slots: 0 }\n');
    const u = io({ SLOTWISE_TEMPORAL__ADRESS: 'x:1' });
    expect(await validateCommand(['--json', bad], u.io)).toBe(1);
    expect(u.err).toEqual([]);
    expect(JSON.parse(u.out.join('\n'))).toEqual({
      valid: false,
      file: bad,
      errors: [
        { path: 'activity.supplier.slots', message: 'expected an integer >= 1, got 0' },
        {
          path: 'temporal.adress',
          variable: 'SLOTWISE_TEMPORAL__ADRESS',
          message: 'unknown key; did you mean `address`? (expected one of: address, namespace, taskQueue)',
        },
      ],
    });
  });

  it.each([
    [
      'bomb.yaml',
      aliasBomb(),
      'YAML aliases expand too far (more than 100 alias expansions, counting aliases inside aliases): write the values out',
    ],
    [
      'deep.json',
      `${'['.repeat(5000)}${']'.repeat(5000)}`,
      'expected at most 64 levels of mappings and lists inside one another, got more',
    ],
    [
      'deep.yaml',
      `${'{a: '.repeat(5000)}1${'}'.repeat(5000)}\n`,
      'expected at most 64 levels of mappings and lists inside one another, got more',
    ],
  ])(
    'validateCommand() refuses a hostile %s with the file named, in text and in --json',
    async (name, text, message) => {
      const path = write(name, text);
      const t = io();
      expect(await validateCommand([path], t.io)).toBe(1);
      expect(t.out).toEqual([]);
      expect(t.err).toEqual([`${path}: ${message}`, `slotwise validate: ${path} is invalid (1 problem)`]);
      const u = io();
      expect(await validateCommand([path, '--json'], u.io)).toBe(1);
      expect(u.err).toEqual([]);
      expect(JSON.parse(u.out.join('\n'))).toEqual({
        valid: false,
        file: path,
        errors: [{ path: '', message }],
      });
    },
  );

  it('validateCommand() --help prints usage and exits 0', async () => {
    const t = io();
    expect(await validateCommand(['--help'], t.io)).toBe(0);
    expect(t.out).toEqual([VALIDATE_HELP]);
    expect(VALIDATE_HELP.split('\n')[0]).toBe('Usage: slotwise validate <config> [options]');
  });

  it.each([
    [[], 'slotwise validate: expected one config file, got none. Run `slotwise validate --help` for usage.'],
    [
      ['a.yaml', 'b.yaml'],
      'slotwise validate: expected one config file, got 2. Run `slotwise validate --help` for usage.',
    ],
    [
      ['a.yaml', '--strict'],
      'slotwise validate: unknown option --strict. Run `slotwise validate --help` for usage.',
    ],
  ])('validateCommand() throws a UsageError (exit 2) for %j', async (argv, message) => {
    const attempt = validateCommand(argv, io().io);
    await expect(attempt).rejects.toThrow(UsageError);
    await expect(validateCommand(argv, io().io)).rejects.toThrow(message);
  });
});
