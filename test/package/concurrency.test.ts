import { describe, expect, it } from 'vitest';
import { installedPackage, MODULE_FORMATS } from './installed-package.js';

interface ConcurrencyResult {
  results: string[];
  markersPerRun: number[];
  released: number;
  reclaimed: number;
  notRunning: string;
  priorities: Array<{ fairnessKey: string }>;
  mostAtOnce: Record<string, number>;
  workCount: number;
  small: { results: number; granted: number; released: number; answeredFull: boolean; mostAtOnce: number };
}

describe.each(MODULE_FORMATS)('withConcurrency() from the installed package, loaded as %s', (format) => {
  it('withConcurrency() runs 3 runs of each of 2 keys with exactly maxRuns = 1 at once per key, all complete and release through the Worker sink, and getConcurrencyState() reads the controller; 24 runs against a 4 KiB controller are answered full, ask again and all complete one at a time', async () => {
    const result = await installedPackage().runScenario<ConcurrencyResult>('concurrency.mjs', format);
    expect(result).toEqual({
      results: ['a', 'a', 'a', 'b', 'b', 'b'],
      markersPerRun: [1, 1, 1, 1, 1, 1],
      released: 6,
      reclaimed: 0,
      notRunning:
        "no controller of concurrency group '<group>-never' answers: it never ran in this namespace; " +
        'check the group name, its controller.shards and the namespace',
      priorities: ['a', 'a', 'a', 'b', 'b', 'b'].map((key) => ({ fairnessKey: key })),
      mostAtOnce: { a: 1, b: 1 },
      workCount: 6 + 24,
      small: { results: 24, granted: 24, released: 24, answeredFull: true, mostAtOnce: 1 },
    });
  });
});
