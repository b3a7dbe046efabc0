import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BenchArgs } from '../../bench/lib/args.js';
import {
  classify,
  exitCodeOf,
  runScenarios,
  runStatus,
  type ScenarioResult,
  verdictResult,
} from '../../bench/lib/runner.js';
import {
  precondition,
  type Scenario,
  type ScenarioReport,
  ScenarioUnavailableError,
} from '../../bench/lib/scenario.js';

const met = { target: 'fast enough', met: true, note: '' };
const missed = { target: 'safe enough', met: false, note: '' };
const info = { target: 'for comparison', met: null, note: '' };

function report(preconditions: ScenarioReport['preconditions']): ScenarioReport {
  return {
    settings: {},
    preconditions,
    tables: [],
    verdicts: [met, missed, info],
    figures: [{ id: 'x', label: 'x', value: 1, unit: 'ratio' }],
    data: null,
  };
}

describe('bench runner', () => {
  it('classify() is ok when every precondition held', () => {
    expect(classify(report([precondition('the step happened', true, 'at 6.1 s')]))).toEqual({
      status: 'ok',
      reason: null,
    });
  });

  it('classify() is INVALID with every precondition that did not hold, and what was observed', () => {
    const result = classify(
      report([
        precondition('the step happened', false, 'the hog never held its memory'),
        precondition('the cgroup had its limit', true, '4 GiB'),
        precondition('the quota was reachable', false, 'got 0.41 of it'),
      ]),
    );
    expect(result).toEqual({
      status: 'INVALID',
      reason: 'the step happened: the hog never held its memory; the quota was reachable: got 0.41 of it',
    });
  });

  it('verdictResult() reports MET, MISSED and n/a only for a valid scenario', () => {
    expect([met, missed, info].map((v) => verdictResult(v, 'ok'))).toEqual(['MET', 'MISSED', 'n/a']);
  });

  it('verdictResult() reports INVALID for every verdict of an INVALID scenario, never MET or MISSED', () => {
    expect([met, missed, info].map((v) => verdictResult(v, 'INVALID'))).toEqual([
      'INVALID',
      'INVALID',
      'INVALID',
    ]);
  });

  const of = (...statuses: ScenarioResult['status'][]) => runStatus(statuses.map((status) => ({ status })));

  it('runStatus() is VALID when every scenario is ok or skipped', () => {
    expect(of('ok', 'SKIPPED', 'ok')).toBe('VALID');
  });

  it('runStatus() is INVALID when one scenario is INVALID', () => {
    expect(of('ok', 'INVALID', 'SKIPPED')).toBe('INVALID');
  });

  it('runStatus() is FAILED when one scenario threw, whatever the others', () => {
    expect(of('INVALID', 'FAILED', 'ok')).toBe('FAILED');
  });

  it('exitCodeOf() maps VALID, INVALID and FAILED to 0, 3 and 1', () => {
    expect([exitCodeOf('VALID'), exitCodeOf('INVALID'), exitCodeOf('FAILED')]).toEqual([0, 3, 1]);
  });
});

describe('runScenarios()', () => {
  let out: string;
  beforeEach(() => {
    out = mkdtempSync(join(tmpdir(), 'slotwise-bench-runner-'));
    vi.spyOn(console, 'log').mockImplementation(() => {});
    vi.spyOn(console, 'error').mockImplementation(() => {});
  });
  afterEach(() => {
    vi.restoreAllMocks();
    rmSync(out, { recursive: true, force: true });
  });

  const args = (): BenchArgs => ({ quick: true, rounds: 1, write: true, out, only: null, address: null });
  const scenario = (name: string, run: () => Promise<ScenarioReport>): Scenario => ({
    name,
    title: name,
    run,
  });

  it('runScenarios() marks a scenario whose step never happened INVALID, its verdicts INVALID, and the run INVALID', {
    timeout: 30_000,
  }, async () => {
    const { status, results } = await runScenarios(
      [
        scenario('fine', async () => report([precondition('load created', true, '12 tasks')])),
        scenario('no-step', async () =>
          report([precondition('the step happened', false, 'peak 0.46 of the limit')]),
        ),
      ],
      args(),
      { summary: true },
    );
    expect(status).toBe('INVALID');
    expect(results.map((r) => [r.scenario, r.status])).toEqual([
      ['fine', 'ok'],
      ['no-step', 'INVALID'],
    ]);
    const written = JSON.parse(readFileSync(join(out, 'no-step.json'), 'utf8')) as ScenarioResult;
    expect(written.status).toBe('INVALID');
    expect(written.reason).toBe('the step happened: peak 0.46 of the limit');
    expect(written.verdicts.map((v) => v.result)).toEqual(['INVALID', 'INVALID', 'INVALID']);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as {
      status: string;
      summary: { rows: string[][] };
    };
    expect(summary.status).toBe('INVALID');
    expect(summary.summary.rows.filter((row) => row[0] === 'no-step').map((row) => row[2])).toEqual([
      'INVALID',
      'INVALID',
      'INVALID',
      'INVALID',
    ]);
    expect(readFileSync(join(out, 'summary.md'), 'utf8')).toContain('RUN INVALID');
  });

  it('runScenarios() skips a scenario that cannot run here without failing the run, and fails on a throw', {
    timeout: 30_000,
  }, async () => {
    const skipped = await runScenarios(
      [
        scenario('needs-root', async () => {
          throw new ScenarioUnavailableError('creating a cgroup needs root');
        }),
      ],
      args(),
      { summary: false },
    );
    expect(skipped.status).toBe('VALID');
    expect(skipped.results.map((r) => [r.status, r.reason])).toEqual([
      ['SKIPPED', 'creating a cgroup needs root'],
    ]);

    const failed = await runScenarios(
      [
        scenario('broken', async () => {
          throw new Error('worker not ready after 90 s');
        }),
      ],
      args(),
      { summary: false },
    );
    expect(failed.status).toBe('FAILED');
    expect(failed.results.map((r) => [r.status, r.reason])).toEqual([
      ['FAILED', 'worker not ready after 90 s'],
    ]);
  });
});
