/** A table: a header row and rows of cells, every cell already formatted. */
export interface Table {
  title: string;
  headers: string[];
  rows: string[][];
  /** Lines printed under the table. */
  notes?: string[];
}

/** Renders `table` as aligned plain text (first column left-aligned, the others right-aligned). */
export function renderTable(table: Table): string {
  const widths = table.headers.map((h, i) =>
    Math.max(h.length, ...table.rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [
    table.title,
    line(table.headers),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...table.rows.map(line),
  ];
  for (const note of table.notes ?? []) out.push(`  ${note}`);
  return out.join('\n');
}

/** Renders `table` as a Markdown table (for bench/README.md). */
export function markdownTable(table: Table): string {
  const esc = (cell: string) => cell.replaceAll('|', '\\|');
  const headers = table.headers.map(esc);
  const rows = table.rows.map((row) => row.map(esc));
  // Padded the way the repository's Markdown formatter (biome) writes tables, so a table written
  // into a README passes lint as written: the first column left-aligned, the others right-aligned.
  const widths = headers.map((header, i) =>
    Math.max(3, header.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: string[]) =>
    `| ${widths.map((width, i) => (i === 0 ? (cells[i] ?? '').padEnd(width) : (cells[i] ?? '').padStart(width))).join(' | ')} |`;
  const rule = `| ${widths.map((width, i) => (i === 0 ? '-'.repeat(width) : `${'-'.repeat(width - 1)}:`)).join(' | ')} |`;
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

/** Prints a table to stdout with a blank line before it. */
export function printTable(table: Table): void {
  console.log(`\n${renderTable(table)}`);
}
