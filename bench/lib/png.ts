import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { GLYPH_H, GLYPH_W, glyph } from './font5x7.js';

/** An RGB colour, 0-255 per channel. */
export type Rgb = readonly [number, number, number];

/** A raster image in memory (RGB, 8 bits per channel). */
export class Raster {
  readonly data: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb = [255, 255, 255],
  ) {
    this.data = new Uint8Array(width * height * 3);
    for (let i = 0; i < width * height; i++) this.data.set(background, i * 3);
  }

  /** Sets one pixel (ignored outside the image). */
  set(x: number, y: number, color: Rgb): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    this.data.set(color, (y * this.width + x) * 3);
  }

  /** Fills a rectangle. */
  fillRect(x: number, y: number, w: number, h: number, color: Rgb): void {
    for (let yy = Math.round(y); yy < Math.round(y + h); yy++) {
      for (let xx = Math.round(x); xx < Math.round(x + w); xx++) this.set(xx, yy, color);
    }
  }

  /** Draws a line `thickness` pixels wide (Bresenham with a square brush); `dash` = [on, off] pixels. */
  line(
    x0: number,
    y0: number,
    x1: number,
    y1: number,
    color: Rgb,
    thickness = 1,
    dash?: [number, number],
  ): void {
    x0 = Math.round(x0);
    y0 = Math.round(y0);
    x1 = Math.round(x1);
    y1 = Math.round(y1);
    const dx = Math.abs(x1 - x0);
    const dy = -Math.abs(y1 - y0);
    const sx = x0 < x1 ? 1 : -1;
    const sy = y0 < y1 ? 1 : -1;
    let err = dx + dy;
    let step = 0;
    const half = Math.floor((thickness - 1) / 2);
    for (;;) {
      const on = !dash || step % (dash[0] + dash[1]) < dash[0];
      if (on) this.fillRect(x0 - half, y0 - half, thickness, thickness, color);
      step++;
      if (x0 === x1 && y0 === y1) break;
      const e2 = 2 * err;
      if (e2 >= dy) {
        err += dy;
        x0 += sx;
      }
      if (e2 <= dx) {
        err += dx;
        y0 += sy;
      }
    }
  }

  /** Draws `text` with its top-left corner at (x, y), each font pixel `scale` image pixels. */
  text(x: number, y: number, text: string, color: Rgb, scale = 2): void {
    let cx = Math.round(x);
    for (const ch of text) {
      const bitmap = glyph(ch);
      for (let row = 0; row < GLYPH_H; row++) {
        for (let col = 0; col < GLYPH_W; col++) {
          if (bitmap[row]![col]) this.fillRect(cx + col * scale, y + row * scale, scale, scale, color);
        }
      }
      cx += (GLYPH_W + 1) * scale;
    }
  }

  /** Draws `text` rotated 90° counter-clockwise, reading bottom to top, starting at (x, y) going up. */
  textUp(x: number, y: number, text: string, color: Rgb, scale = 2): void {
    let cy = Math.round(y);
    for (const ch of text) {
      const bitmap = glyph(ch);
      for (let row = 0; row < GLYPH_H; row++) {
        for (let col = 0; col < GLYPH_W; col++) {
          if (bitmap[row]![col]) this.fillRect(x + row * scale, cy - (col + 1) * scale, scale, scale, color);
        }
      }
      cy -= (GLYPH_W + 1) * scale;
    }
  }

  /** Encodes the image as PNG bytes. */
  toPng(): Buffer {
    const rowBytes = this.width * 3;
    const raw = Buffer.alloc((rowBytes + 1) * this.height);
    for (let y = 0; y < this.height; y++) {
      raw[y * (rowBytes + 1)] = 0; // filter: none
      raw.set(this.data.subarray(y * rowBytes, (y + 1) * rowBytes), y * (rowBytes + 1) + 1);
    }
    const header = Buffer.alloc(13);
    header.writeUInt32BE(this.width, 0);
    header.writeUInt32BE(this.height, 4);
    header[8] = 8; // bit depth
    header[9] = 2; // colour type: RGB
    header[10] = 0;
    header[11] = 0;
    header[12] = 0;
    return Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', header),
      chunk('IDAT', deflateSync(raw, { level: 9 })),
      chunk('IEND', Buffer.alloc(0)),
    ]);
  }
}

/** Width in pixels of `text` drawn at `scale`. */
export function textWidth(text: string, scale = 2): number {
  return text.length * (GLYPH_W + 1) * scale - scale;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, body: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length, 0);
  const typed = Buffer.concat([Buffer.from(type, 'ascii'), body]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed), 0);
  return Buffer.concat([len, typed, crc]);
}

/** One line of a chart. */
export interface Series {
  label: string;
  /** Points (x, y) in data units, x ascending. */
  points: ReadonlyArray<readonly [number, number]>;
  color?: Rgb;
  /** Draw points as small squares instead of a line (for events such as admissions). */
  markers?: boolean;
  dashed?: boolean;
}

/** A horizontal or vertical reference line with a label. */
export interface Rule {
  axis: 'x' | 'y';
  at: number;
  label: string;
  color?: Rgb;
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
  width?: number;
  height?: number;
}

/** A palette that stays distinguishable on white. */
export const PALETTE: Rgb[] = [
  [31, 119, 180],
  [214, 39, 40],
  [44, 160, 44],
  [255, 127, 14],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [23, 190, 207],
];

const INK: Rgb = [30, 30, 30];
const GRID: Rgb = [225, 225, 225];

/** Rasterises a line chart: axes with ticks, grid, lines, reference rules and a legend. */
export function renderChart(spec: ChartSpec): Raster {
  const width = spec.width ?? 1000;
  const left = 96;
  const right = width - 20;
  const titleLines = wrap(spec.title, Math.floor((width - left) / 12));
  const legendItem = Math.max(...spec.series.map((s) => textWidth(s.label) + 48), 100);
  const columns = Math.max(1, Math.min(spec.series.length, Math.floor((right - left) / legendItem)));
  const legendRows = Math.ceil(spec.series.length / columns);
  const height = spec.height ?? 400 + titleLines.length * 20 + legendRows * 20;
  const img = new Raster(width, height);
  const top = 24 + titleLines.length * 20;
  const bottom = height - 62 - legendRows * 20;
  const all = spec.series.flatMap((s) => s.points);
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
  const px = (x: number) => left + ((x - x0) / (x1 - x0 || 1)) * (right - left);
  const py = (y: number) => bottom - ((y - y0) / (y1 - y0 || 1)) * (bottom - top);

  titleLines.forEach((line, i) => {
    img.text(left - 60, 10 + i * 20, line, INK, 2);
  });
  for (const t of ticks(y0, y1, 6)) {
    const y = py(t);
    img.line(left, y, right, y, GRID);
    const label = tickLabel(t, y1 - y0);
    img.text(left - 8 - textWidth(label), y - 7, label, INK);
  }
  for (const t of ticks(x0, x1, 10)) {
    const x = px(t);
    img.line(x, top, x, bottom, GRID);
    const label = tickLabel(t, x1 - x0);
    img.text(x - textWidth(label) / 2, bottom + 8, label, INK);
  }
  img.line(left, top, left, bottom, INK);
  img.line(left, bottom, right, bottom, INK);
  img.text((left + right) / 2 - textWidth(spec.xLabel) / 2, bottom + 28, spec.xLabel, INK);
  img.textUp(8, (top + bottom) / 2 + textWidth(spec.yLabel) / 2, spec.yLabel, INK);

  for (const rule of spec.rules ?? []) {
    const color = rule.color ?? [120, 120, 120];
    if (rule.axis === 'y') {
      const y = py(rule.at);
      img.line(left, y, right, y, color, 2, [8, 6]);
      img.text(right - textWidth(rule.label) - 4, y - 18, rule.label, color);
    } else {
      const x = px(rule.at);
      img.line(x, top, x, bottom, color, 2, [8, 6]);
      img.text(x + 4, top + 4, rule.label, color);
    }
  }

  spec.series.forEach((series, i) => {
    const color = series.color ?? PALETTE[i % PALETTE.length]!;
    const pts = series.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (series.markers) {
      for (const [x, y] of pts) img.fillRect(px(x) - 2, py(y) - 2, 5, 5, color);
    } else {
      for (let k = 1; k < pts.length; k++) {
        const [ax, ay] = pts[k - 1]!;
        const [bx, by] = pts[k]!;
        img.line(
          px(ax),
          py(clamp(ay, y0, y1)),
          px(bx),
          py(clamp(by, y0, y1)),
          color,
          2,
          series.dashed ? [6, 4] : undefined,
        );
      }
    }
    const col = i % columns;
    const row = Math.floor(i / columns);
    const lx = left + col * ((right - left) / columns);
    const ly = bottom + 50 + row * 20;
    if (series.markers) img.fillRect(lx + 7, ly + 2, 10, 10, color);
    else img.fillRect(lx, ly + 5, 24, 4, color);
    img.text(lx + 32, ly, series.label, INK);
  });
  return img;
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

/** Renders `spec` and writes it to `file` as PNG. */
export function writeChart(file: string, spec: ChartSpec): void {
  writeFileSync(file, renderChart(spec).toPng());
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

function paddedRange(values: number[], fromZero: boolean): [number, number] {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return [0, 1];
  let lo = Math.min(...finite);
  let hi = Math.max(...finite);
  if (fromZero) lo = Math.min(0, lo);
  if (hi === lo) hi = lo + 1;
  if (fromZero) hi += (hi - lo) * 0.08;
  return [lo, hi];
}

function ticks(lo: number, hi: number, count: number): number[] {
  const span = hi - lo;
  if (!(span > 0)) return [lo];
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
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
