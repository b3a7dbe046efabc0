// Runs every benchmark scenario in its shortest form (`--quick`) against the test dev server, so a
// scenario that rots fails the suite. Its figures are never looked at: only whether each scenario
// ran, and whether the preconditions the script itself must make hold did hold.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { ScenarioResult } from '../../bench/lib/runner.js';

const SCENARIOS = [
  'permit-cost',
  'throughput',
  'memory-guard',
  'cpu-tracking',
  'reaction',
  'fleet',
  'fleet-overhead',
  'concurrency-overhead',
];

describe('bench --quick', () => {
  const out = mkdtempSync(join(tmpdir(), 'slotwise-bench-smoke-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('run-all --quick runs every scenario, and no scenario is broken', { timeout: 20 * 60_000 }, async () => {
    const { code, output } = await new Promise<{ code: number | null; output: string }>((done) => {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          'bench/run-all.ts',
          '--quick',
          '--out',
          out,
          '--address',
          inject('temporalAddress'),
        ],
        { cwd: resolve('.'), stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let output = '';
      child.stdout.on('data', (d: Buffer) => {
        output += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        output += d.toString();
      });
      child.on('exit', (exitCode) => done({ code: exitCode, output }));
    });
    const tail = output.split('\n').slice(-60).join('\n');
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as {
      status: string;
      scenarios: Array<{ scenario: string; status: string; reason: string | null }>;
    };
    expect(
      summary.scenarios.map((s) => s.scenario),
      tail,
    ).toEqual(SCENARIOS);
    const broken = SCENARIOS.flatMap((name) => {
      const result = JSON.parse(readFileSync(join(out, `${name}.json`), 'utf8')) as ScenarioResult;
      if (result.status === 'FAILED') return [`${name} FAILED: ${result.reason}`];
      // INVALID only for the machine's load (a busy CI host) is not a broken script.
      return result.preconditions
        .filter((p) => !p.held && p.kind === 'scenario')
        .map((p) => `${name}: ${p.what}: ${p.detail}`);
    });
    expect(broken, tail).toEqual([]);
    expect(code, tail).toBe(summary.status === 'VALID' ? 0 : 3);
  });
});
