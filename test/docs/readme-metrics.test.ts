import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { METRIC_DEFINITIONS } from '../../src/metrics/metric-names.js';

describe('README', () => {
  it('METRIC_DEFINITIONS: every metric is in README’s table with its type', () => {
    const readme = readFileSync('README.md', 'utf8');
    const missing = METRIC_DEFINITIONS.filter((d) => !readme.includes(`| \`${d.name}\` | ${d.type} |`)).map(
      (d) => d.name,
    );
    expect(missing).toEqual([]);
  });
});
