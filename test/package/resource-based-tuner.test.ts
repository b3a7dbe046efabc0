import { describe, expect, it } from 'vitest';
import { installedPackage, MODULE_FORMATS } from './installed-package.js';

interface Counts {
  issued: number;
  used: number;
  waiting: number;
  errors: number;
}

interface ResourceBasedTunerResult {
  results: unknown[];
  floors: unknown[];
  counts: Counts[];
}

describe.each(MODULE_FORMATS)('the installed package, loaded as %s', (format) => {
  it("resourceBasedTuner(), its config form and a composite across both builds serve every slot type of a Worker, with Temporal's floors, and release every permit", async () => {
    const { results, floors, counts } = await installedPackage().runScenario<ResourceBasedTunerResult>(
      'resource-based-tuner.mjs',
      format,
    );
    expect(results).toEqual([
      [0, 1],
      [0, 1],
      [0, 1],
    ]);
    const temporal = { workflow: 2, activity: 1, localActivity: 1 };
    expect(floors).toEqual([temporal, temporal, temporal]);
    expect(counts).toEqual(Array.from({ length: 5 }, () => ({ issued: 0, used: 0, waiting: 0, errors: 0 })));
  });
});
