import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FLEET_OPTION_RULES } from '../../src/fleet/fleet-supplier-options.js';
import type { SupplierOptionRule } from '../../src/option-rules.js';
import { FIXED_OPTION_RULES } from '../../src/suppliers/fixed-supplier-options.js';
import {
  RESOURCE_OPTION_RULES,
  type ResourceOptionKey,
  type ResourceOptionRule,
} from '../../src/suppliers/resource-supplier-options.js';
import { GROUP_LINGER_MS } from '../../src/suppliers/slot-groups.js';

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
      const defaults = [
        ...new Set([
          ...Object.values(rule.defaults),
          ...(rule.workflowDefault === undefined ? [] : [rule.workflowDefault]),
        ]),
      ];
      const shown = defaults.map((value) => (value === null ? rule.computedDefault! : String(value)));
      const cells = row!.split('|');
      const defaultCell = cells[3]!;
      for (const text of shown)
        expect({ key, cell: defaultCell.includes(text) }).toEqual({ key, cell: true });
    },
  );
});

/** The rows of the first options table after the heading `heading`. */
function tableAfter(heading: string): string[] {
  const lines = README.split('\n');
  const start = lines.indexOf(heading);
  if (start < 0) throw new Error(`README has no heading ${heading}`);
  const first = lines.findIndex((line, i) => i > start && line.startsWith('| option'));
  const end = lines.findIndex((line, i) => i > first && !line.startsWith('|'));
  return lines.slice(first, end);
}

describe.each([
  ['FixedSlotSupplier', '### Options', FIXED_OPTION_RULES],
  ['FleetSlotSupplier', '## Fleet-wide budgets', FLEET_OPTION_RULES],
] as const)('README: %s options', (_, heading, rules) => {
  it.each(Object.keys(rules))('the row of %s shows the default its rule gives', (key) => {
    const rule: SupplierOptionRule = rules[key as keyof typeof rules];
    const rows = tableAfter(heading);
    const header = rows[0]!.split('|').map((cell) => cell.trim());
    const row = rows.find((line) => line.split('|')[1]!.trim() === `\`${key}\``);
    expect(row, `README's table after ${heading} has no row for \`${key}\``).toBeDefined();
    const cell = row!.split('|')[header.indexOf('default')]!.trim();
    const shown = rule.default === undefined ? 'required' : String(rule.default);
    expect({ key, cell }).toEqual({ key, cell: typeof rule.default === 'string' ? `\`${shown}\`` : shown });
  });
});

describe('README: internal constants it states', () => {
  it('states how long an idle task queue keeps room as GROUP_LINGER_MS says', () => {
    expect(README).toContain(
      `A task queue no Worker polls any more stops holding room after ${GROUP_LINGER_MS / 1000} s.`,
    );
  });
});
