import { describe, expect, it } from 'vitest';
import type { ScenarioResult } from '../../bench/lib/runner.js';
import {
  BEGIN,
  END,
  pairsProblemsOf,
  problemsOf,
  type RecordedRun,
  recordedMarkdown,
  replaceBetweenMarkers,
  spread,
} from '../../bench/record.js';

function result(
  overrides: Partial<ScenarioResult> & { commit?: string; dirty?: string[] } = {},
): ScenarioResult {
  const { commit = 'abc1234', dirty = [], ...rest } = overrides;
  return {
    scenario: 'throughput',
    title: '2 throughput',
    status: 'ok',
    reason: null,
    quick: false,
    rounds: 3,
    machine: {
      date: '2026-12-02T10:00:00.000Z',
      hostname: 'h',
      cpuModel: 'cpu',
      cores: 2,
      memoryBytes: 8 * 1024 ** 3,
      kernel: 'k',
      node: 'v20',
      temporalSdk: '1.24.0',
      temporalCli: 'v1.5.1',
      cgroup: 'v1',
      loadavgAtStart: [0, 0, 0],
      source: { commit, uncommittedSrcFiles: dirty },
    },
    noise: {
      hostCpuBusyMean: 0.2,
      hostCpuBusyMax: 0.5,
      samples: 10,
      loadavgAtEnd: [0, 0, 0],
      idleHostCpuBusyBefore: 0.1,
    },
    seconds: 60,
    settings: {},
    preconditions: [],
    verdicts: [
      { target: 'tasks/s >= 0.95 of fixed-size(50)', met: true, note: 'median 0.97', result: 'MET' },
    ],
    figures: [{ id: 'ratio/50', label: 'tasks/s ratio at 50 slots', value: 0.97, unit: 'ratio', digits: 3 }],
    tables: [],
    charts: [],
    data: null,
    ...rest,
  };
}

function run(
  dir: string,
  results: ScenarioResult[],
  summary: Partial<RecordedRun['summary']> = {},
): RecordedRun {
  return { dir, summary: { status: 'VALID', quick: false, rounds: 3, minutes: 14, ...summary }, results };
}

describe('bench/record.ts', () => {
  it('problemsOf() accepts two valid full runs of one clean commit', () => {
    expect(problemsOf(run('a', [result()]), run('b', [result()]))).toEqual([]);
  });

  it('problemsOf() refuses quick, INVALID, dirty and mismatched runs, saying why', () => {
    const invalid = result({ status: 'INVALID', reason: 'the step happened: peak 0.46 of the limit' });
    const problems = problemsOf(
      run('a', [invalid], { status: 'INVALID' }),
      run('b', [result({ commit: 'def5678', dirty: ['src/suppliers/permit-ledger.ts'] })], { quick: true }),
    );
    expect(problems).toEqual([
      'run 1 (a) is INVALID: throughput INVALID: the step happened: peak 0.46 of the limit',
      'run 2 (b) is a --quick smoke run',
      'run 2 measured uncommitted src/ changes: src/suppliers/permit-ledger.ts',
      'the runs measured different commits: abc1234, def5678',
    ]);
  });

  it('spread() is the difference relative to the larger value', () => {
    expect([spread(0.9, 1), spread(1, 0.9), spread(0, 0), spread(Number.NaN, 1)]).toEqual([
      '10%',
      '10%',
      '0%',
      '-',
    ]);
  });

  it('recordedMarkdown() shows both runs of every figure with its spread and flags a verdict not reproduced', () => {
    const second = result({
      verdicts: [
        { target: 'tasks/s >= 0.95 of fixed-size(50)', met: false, note: 'median 0.91', result: 'MISSED' },
      ],
      figures: [
        { id: 'ratio/50', label: 'tasks/s ratio at 50 slots', value: 0.91, unit: 'ratio', digits: 3 },
      ],
    });
    const md = recordedMarkdown([run('a', [result()]), run('b', [second])]);
    expect(md.startsWith(`${BEGIN}\n### 2 throughput\n`) && md.endsWith(END)).toBe(true);
    expect(md).toContain('Recorded at commit `abc1234`');
    // Padded as the Markdown formatter writes it, so the README passes lint as recorded.
    expect(md).toContain('| 2 throughput | tasks/s ratio at 50 slots | 0.970 | 0.910 |     6% |');
    expect(md).toContain('**not reproduced** (MET / MISSED)');
  });

  it('records pairs measured at different commits as separate sections, each with its own commit', () => {
    const cost = (commit: string) => result({ commit, scenario: 'permit-cost', title: '1 permit cost' });
    const md = recordedMarkdown(
      [run('results/run-1', [cost('aaa1111')]), run('results/run-2', [cost('aaa1111')])],
      [
        run('results/s7-1', [result({ commit: 'bbb2222' })]),
        run('results/s7-2', [result({ commit: 'bbb2222' })]),
      ],
    );
    expect(md.match(/^### .*$/gm)).toEqual(['### 1 permit cost', '### 2 throughput']);
    expect(md.match(/Recorded at commit `\w+`/g)).toEqual([
      'Recorded at commit `aaa1111`',
      'Recorded at commit `bbb2222`',
    ]);
  });

  it('pairsProblemsOf() names the pair of each problem and refuses a scenario recorded by two pairs', () => {
    const ok = run('a', [result()]);
    expect(pairsProblemsOf([[ok, ok]])).toEqual([]);
    expect(
      pairsProblemsOf([
        [ok, ok],
        [run('c', [result()]), run('d', [result()], { quick: true })],
      ]),
    ).toEqual(['pair 2: run 2 (d) is a --quick smoke run', 'throughput is in pair 1 and pair 2']);
  });

  it('replaceBetweenMarkers() replaces only the recorded section, and insists on the markers', () => {
    const readme = `# Bench\n\nintro\n${BEGIN}\nto be recorded\n${END}\n\nafter\n`;
    expect(replaceBetweenMarkers(readme, `${BEGIN}\nnew\n${END}`)).toBe(
      `# Bench\n\nintro\n${BEGIN}\nnew\n${END}\n\nafter\n`,
    );
    expect(() => replaceBetweenMarkers('# no markers', 'x')).toThrow(/recorded-results:begin/);
  });
});
