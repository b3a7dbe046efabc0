/** Summary of repeated measurements of one quantity. */
export interface Summary {
  /** How many values. */
  n: number;
  median: number;
  min: number;
  max: number;
  mean: number;
  /** Sample standard deviation (0 for fewer than two values). */
  stdev: number;
  /** `(max - min) / |median|`: the relative spread across rounds. */
  relSpread: number;
}

/** The `q` quantile (0..1) of `values`, linearly interpolated; `NaN` for none. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** The median of `values`; `NaN` for none. */
export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Arithmetic mean; `NaN` for none. */
export function mean(values: readonly number[]): number {
  const finite = values.filter((v) => Number.isFinite(v));
  return finite.length === 0 ? Number.NaN : finite.reduce((s, v) => s + v, 0) / finite.length;
}

/** Sample standard deviation; 0 for fewer than two values. */
export function stdev(values: readonly number[]): number {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length < 2) return 0;
  const m = mean(finite);
  return Math.sqrt(finite.reduce((s, v) => s + (v - m) ** 2, 0) / (finite.length - 1));
}

/** Median, range, mean and spread of `values` (non-finite values are ignored). */
export function summarize(values: readonly number[]): Summary {
  const finite = values.filter((v) => Number.isFinite(v));
  const med = median(finite);
  const min = finite.length ? Math.min(...finite) : Number.NaN;
  const max = finite.length ? Math.max(...finite) : Number.NaN;
  return {
    n: finite.length,
    median: med,
    min,
    max,
    mean: mean(finite),
    stdev: stdev(finite),
    relSpread: med === 0 || !Number.isFinite(med) ? Number.NaN : (max - min) / Math.abs(med),
  };
}

/**
 * Ratio of medians with a range: the median of the per-round ratios, and their min and max. Rounds
 * pair contenders measured back to back, so a per-round ratio cancels slow drifts of the machine.
 */
export function ratioSummary(numerators: readonly number[], denominators: readonly number[]): Summary {
  const ratios: number[] = [];
  for (let i = 0; i < Math.min(numerators.length, denominators.length); i++) {
    const d = denominators[i]!;
    if (d !== 0 && Number.isFinite(d) && Number.isFinite(numerators[i]!)) ratios.push(numerators[i]! / d);
  }
  return summarize(ratios);
}

/** Formats a number with `digits` significant decimals, `-` for non-finite. */
export function fmt(value: number, digits = 2): string {
  if (!Number.isFinite(value)) return '-';
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${(value / 1e6).toFixed(digits)}M`;
  if (abs >= 1e4) return `${(value / 1e3).toFixed(1)}k`;
  if (abs >= 100) return value.toFixed(0);
  return value.toFixed(digits);
}

/** `median [min..max]` of a summary. */
export function fmtSummary(summary: Summary, digits = 2, unit = ''): string {
  return fmtSummaryWith(summary, (v) => fmt(v, digits), unit);
}

/** `median [min..max]` of a summary, each value formatted by `f`. */
export function fmtSummaryWith(summary: Summary, f: (v: number) => string, unit = ''): string {
  if (summary.n === 0) return '-';
  if (summary.n === 1) return `${f(summary.median)}${unit}`;
  return `${f(summary.median)}${unit} [${f(summary.min)}..${f(summary.max)}]`;
}

/** An integer with thousands separators. */
export function fmtInt(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '-';
}

/** Milliseconds as a short human string. */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 10) return `${ms.toFixed(0)} ms`;
  return `${ms.toFixed(2)} ms`;
}
