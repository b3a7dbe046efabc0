// Line charts as SVG text: readable in any browser, diffable, and shown inline by GitHub.

/** One line (or row of markers) of a chart. */
export interface Series {
  label: string;
  /** Points (x, y) in data units, x ascending. */
  points: ReadonlyArray<readonly [number, number]>;
  /** A CSS colour; picked from {@link PALETTE} by position when absent. */
  color?: string;
  /** Draw points as small squares instead of a line (for events such as admissions). */
  markers?: boolean;
  dashed?: boolean;
}

/** A horizontal (`axis: 'y'`) or vertical (`axis: 'x'`) reference line with a label. */
export interface Rule {
  axis: 'x' | 'y';
  at: number;
  label: string;
  color?: string;
}

/** A line chart. */
export interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  rules?: Rule[];
  /** Fixed axis ranges; computed from the data when absent. */
  xRange?: [number, number];
  yRange?: [number, number];
  /** @default 960 */
  width?: number;
}

/** Colours that stay distinguishable on white (the d3 category-10 set). */
export const PALETTE = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#17becf',
] as const;

const FONT = 'font-family="sans-serif" font-size="12"';
const LINE_HEIGHT = 18;

/** Renders `spec` as a standalone SVG document. */
export function renderSvgChart(spec: ChartSpec): string {
  const width = spec.width ?? 960;
  const left = 70;
  const right = width - 20;
  const titleLines = wrap(spec.title, Math.floor((width - 40) / 7.5));
  const top = 20 + titleLines.length * LINE_HEIGHT;
  const plotHeight = 320;
  const bottom = top + plotHeight;
  const legendTop = bottom + 50;
  const height = legendTop + spec.series.length * LINE_HEIGHT + 10;
  const all = spec.series
    .flatMap((s) => s.points)
    .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const [x0, x1] =
    spec.xRange ??
    paddedRange(
      all.map((p) => p[0]),
      false,
    );
  const [y0, y1] =
    spec.yRange ??
    paddedRange(
      all.map((p) => p[1]),
      true,
    );
  const px = (x: number) => round(left + ((x - x0) / (x1 - x0 || 1)) * (right - left));
  const py = (y: number) => round(bottom - ((clamp(y, y0, y1) - y0) / (y1 - y0 || 1)) * (bottom - top));

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    ...titleLines.map(
      (line, i) => `<text x="20" y="${20 + i * LINE_HEIGHT}" ${FONT} font-weight="bold">${esc(line)}</text>`,
    ),
  ];
  for (const t of ticks(y0, y1, 6)) {
    out.push(
      `<line x1="${left}" y1="${py(t)}" x2="${right}" y2="${py(t)}" stroke="#e5e5e5"/>`,
      `<text x="${left - 6}" y="${py(t) + 4}" ${FONT} text-anchor="end">${tickLabel(t, y1 - y0)}</text>`,
    );
  }
  for (const t of ticks(x0, x1, 10)) {
    out.push(
      `<line x1="${px(t)}" y1="${top}" x2="${px(t)}" y2="${bottom}" stroke="#e5e5e5"/>`,
      `<text x="${px(t)}" y="${bottom + 16}" ${FONT} text-anchor="middle">${tickLabel(t, x1 - x0)}</text>`,
    );
  }
  out.push(
    `<path d="M${left} ${top}V${bottom}H${right}" fill="none" stroke="#222"/>`,
    `<text x="${(left + right) / 2}" y="${bottom + 36}" ${FONT} text-anchor="middle">${esc(spec.xLabel)}</text>`,
    `<text transform="translate(16 ${(top + bottom) / 2}) rotate(-90)" ${FONT} text-anchor="middle">${esc(spec.yLabel)}</text>`,
  );
  for (const rule of spec.rules ?? []) {
    const color = rule.color ?? '#777';
    if (rule.axis === 'y') {
      out.push(
        `<line x1="${left}" y1="${py(rule.at)}" x2="${right}" y2="${py(rule.at)}" stroke="${color}" stroke-width="1.5" stroke-dasharray="8 6"/>`,
        `<text x="${right - 4}" y="${py(rule.at) - 5}" ${FONT} fill="${color}" text-anchor="end">${esc(rule.label)}</text>`,
      );
    } else {
      out.push(
        `<line x1="${px(rule.at)}" y1="${top}" x2="${px(rule.at)}" y2="${bottom}" stroke="${color}" stroke-width="1.5" stroke-dasharray="8 6"/>`,
        `<text x="${px(rule.at) + 4}" y="${top + 14}" ${FONT} fill="${color}">${esc(rule.label)}</text>`,
      );
    }
  }
  spec.series.forEach((series, i) => {
    const color = series.color ?? PALETTE[i % PALETTE.length]!;
    const pts = series.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (series.markers) {
      const d = pts.map(([x, y]) => `M${px(x) - 2} ${py(y) - 2}h4v4h-4z`).join('');
      if (d) out.push(`<path d="${d}" fill="${color}"/>`);
    } else if (pts.length > 1) {
      const d = pts.map(([x, y], k) => `${k === 0 ? 'M' : 'L'}${px(x)} ${py(y)}`).join('');
      const dash = series.dashed ? ' stroke-dasharray="6 4"' : '';
      out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
    }
    const ly = legendTop + i * LINE_HEIGHT;
    out.push(
      series.markers
        ? `<rect x="${left + 7}" y="${ly - 9}" width="10" height="10" fill="${color}"/>`
        : `<rect x="${left}" y="${ly - 6}" width="24" height="4" fill="${color}"/>`,
      `<text x="${left + 32}" y="${ly}" ${FONT}>${esc(series.label)}</text>`,
    );
  });
  out.push('</svg>', '');
  return out.join('\n');
}

function wrap(text: string, maxChars: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > maxChars) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

function esc(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

function paddedRange(values: number[], fromZero: boolean): [number, number] {
  if (values.length === 0) return [0, 1];
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (fromZero) lo = Math.min(0, lo);
  if (hi === lo) hi = lo + 1;
  if (fromZero) hi += (hi - lo) * 0.08;
  return [lo, hi];
}

function ticks(lo: number, hi: number, count: number): number[] {
  const span = hi - lo;
  if (!(span > 0)) return [lo];
  const mag = 10 ** Math.floor(Math.log10(span / count));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => span / s <= count) ?? 10 * mag;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toFixed(10)));
  return out;
}

function tickLabel(value: number, span: number): string {
  if (span >= 20) return value.toFixed(0);
  if (span >= 2) return value.toFixed(1).replace(/\.0$/, '');
  return value.toFixed(2);
}
