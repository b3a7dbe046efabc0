import { describe, expect, it } from 'vitest';
import { renderSvgChart } from '../../bench/lib/svg-chart.js';

describe('renderSvgChart()', () => {
  const svg = renderSvgChart({
    title: 'working set <limit> & target',
    xLabel: 'seconds',
    yLabel: 'ratio',
    yRange: [0, 1.1],
    series: [
      {
        label: 'slotwise',
        points: [
          [0, 0.1],
          [1, 0.5],
          [2, Number.NaN],
          [3, 2],
        ],
      },
      { label: 'admissions', points: [[0.5, 0.05]], markers: true, color: '#123456' },
      { label: 'empty', points: [] },
    ],
    rules: [{ axis: 'y', at: 1, label: 'limit' }],
  });

  it('renderSvgChart() draws one line per series with points, skipping non-finite ones', () => {
    const lines = [...svg.matchAll(/<path d="(M[^"]*)" fill="none" stroke="#[0-9a-f]{6}" stroke-width="2"/g)];
    expect(lines).toHaveLength(1);
    expect(lines[0]![1]!.match(/[ML]/g)).toHaveLength(3);
    expect(svg.match(/<path d="[^"]*" fill="#123456"\/>/g)).toHaveLength(1);
  });

  it('renderSvgChart() clamps values to the y range and escapes text', () => {
    const ys = [...svg.matchAll(/L[\d.]+ ([\d.]+)/g)].map((m) => Number(m[1]));
    expect(Math.min(...ys)).toBeGreaterThanOrEqual(0);
    expect(svg).toContain('working set &lt;limit&gt; &amp; target');
    expect(svg).not.toContain('<limit>');
  });

  it('renderSvgChart() lists every series in the legend', () => {
    for (const label of ['slotwise', 'admissions', 'empty', 'limit'])
      expect(svg).toContain(`>${label}</text>`);
  });
});
