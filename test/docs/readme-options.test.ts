import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  RESOURCE_OPTION_RULES,
  type ResourceOptionKey,
  type ResourceOptionRule,
} from '../../src/suppliers/resource-supplier-options.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The row of the README's resource supplier options table that documents `key`. */
function rowOf(key: string): string | undefined {
  return README.split('\n').find(
    (line) => line.startsWith('| ') && line.split('|')[1]!.includes(`\`${key}\``),
  );
}

describe('README: resource supplier options', () => {
  it.each(Object.keys(RESOURCE_OPTION_RULES) as ResourceOptionKey[])(
    'the row of %s shows the defaults its rule gives',
    (key) => {
      const rule: ResourceOptionRule = RESOURCE_OPTION_RULES[key];
      const row = rowOf(key);
      expect(row, `README has no options table row for \`${key}\``).toBeDefined();
      const defaults = [...new Set(Object.values(rule.defaults))];
      const shown = defaults.map((value) => (value === null ? rule.computedDefault! : String(value)));
      const cells = row!.split('|');
      const defaultCell = cells[3]!;
      for (const text of shown)
        expect({ key, cell: defaultCell.includes(text) }).toEqual({ key, cell: true });
    },
  );
});
