import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { METRIC_DEFINITIONS } from '../../src/metrics/metric-names.js';

describe('README', () => {
  it('METRIC_DEFINITIONS: every metric is in README’s table with its type', () => {
    const readme = readFileSync('README.md', 'utf8');
    // A table row: | `name` | type | ... (cells may be padded by the Markdown formatter).
    const rows = new Map(
      [...readme.matchAll(/^\| `(slotwise_[a-z_]+)` +\| (\w+) +\|/gm)].map((m) => [m[1], m[2]] as const),
    );
    const wrong = METRIC_DEFINITIONS.filter((d) => rows.get(d.name) !== d.type).map((d) => d.name);
    expect(wrong).toEqual([]);
    expect(rows.size).toBe(METRIC_DEFINITIONS.length);
  });
});
