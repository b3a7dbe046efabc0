/** Options of {@link livePageHtml}. */
export interface LivePageOptions {
  /**
   * Shown as the page title and heading.
   * @default 'slotwise'
   */
  title?: string;
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const STYLE = `
:root { color-scheme: light dark; --fg: #111827; --muted: #6b7280; --bg: #ffffff; --card: #f9fafb; --line: #e5e7eb; }
@media (prefers-color-scheme: dark) { :root { --fg: #e5e7eb; --muted: #9ca3af; --bg: #111827; --card: #1f2937; --line: #374151; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; gap: 16px; align-items: baseline; flex-wrap: wrap; padding: 12px 20px; border-bottom: 1px solid var(--line); }
header h1 { font-size: 18px; margin: 0; }
header nav a { color: var(--muted); margin-right: 10px; }
#status { margin-left: auto; color: var(--muted); }
#status[data-state="error"] { color: #dc2626; }
#status[data-state="live"]::before { content: ""; display: inline-block; width: 8px; height: 8px; border-radius: 50%; background: #16a34a; margin-right: 6px; }
main { padding: 12px 20px; display: grid; gap: 16px; }
section.supplier { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; }
section.supplier h2 { font-size: 16px; margin: 0 0 8px; }
section.supplier h2 small { color: var(--muted); font-weight: normal; margin-left: 8px; }
.grid { display: grid; grid-template-columns: minmax(220px, 280px) 1fr 1fr; gap: 16px; align-items: start; }
@media (max-width: 1000px) { .grid { grid-template-columns: 1fr; } }
table.now { border-collapse: collapse; width: 100%; }
table.now th { text-align: left; font-weight: normal; color: var(--muted); padding: 2px 8px 2px 0; }
table.now td { text-align: right; font-variant-numeric: tabular-nums; padding: 2px 0; }
figure { margin: 0; }
figcaption { color: var(--muted); margin-bottom: 4px; }
canvas { width: 100%; height: 180px; display: block; }
.legend { display: flex; flex-wrap: wrap; gap: 10px; color: var(--muted); font-size: 12px; margin-top: 4px; }
.legend i { display: inline-block; width: 10px; height: 3px; margin-right: 4px; vertical-align: middle; }
p.counters { color: var(--muted); margin: 8px 0 0; font-size: 12px; }
#empty { color: var(--muted); padding: 0 20px; }
`;

// Plain ES5-style script (no template literals) so it can live inside this TypeScript string as is.
const SCRIPT = `
(function () {
  'use strict';
  var state = { samples: [], current: null, since: 0, intervalMs: 1000, historyMs: 300000, polls: 0 };
  // [field, label, color, dashed, width]: issued is drawn wide beneath used, so both show when equal.
  var SLOT_SERIES = [
    ['capacity', 'capacity', '#6b7280', true, 2],
    ['waiting', 'waiting', '#dc2626', false, 2],
    ['issued', 'issued', 'rgba(37, 99, 235, 0.55)', false, 6],
    ['used', 'used', '#16a34a', false, 2]
  ];
  var GPU_COLORS = ['#0891b2', '#ca8a04', '#db2777', '#4f46e5', '#65a30d', '#0d9488', '#c026d3', '#ea580c'];
  var FIELDS = [
    ['capacity', 'Capacity', 'count'],
    ['issued', 'Issued', 'count'],
    ['used', 'Used', 'count'],
    ['available', 'Available', 'count'],
    ['waiting', 'Waiting', 'count'],
    ['errors', 'Errors', 'count'],
    ['cpuUtilization', 'CPU', 'ratio'],
    ['cpuUsableCores', 'Usable cores', 'number'],
    ['memoryWorkingSetBytes', 'Memory working set', 'bytes'],
    ['memoryLimitBytes', 'Memory limit', 'bytes'],
    ['heapUsedBytes', 'V8 heap used', 'bytes'],
    ['heapLimitBytes', 'V8 heap limit', 'bytes']
  ];
  var root = document.getElementById('suppliers');
  var statusEl = document.getElementById('status');
  var emptyEl = document.getElementById('empty');
  var sections = {};

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function format(value, kind) {
    if (value === null || value === undefined) return '\\u2013';
    if (kind === 'ratio') return (value * 100).toFixed(1) + ' %';
    if (kind === 'bytes') {
      var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
      var i = 0;
      var v = value;
      while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
      return (i === 0 ? String(v) : v.toFixed(1)) + ' ' + units[i];
    }
    if (kind === 'number') return String(Math.round(value * 100) / 100);
    if (kind === 'flag') return value ? 'yes' : 'no';
    return String(value);
  }

  function setStatus(kind, text) {
    statusEl.setAttribute('data-state', kind);
    statusEl.textContent = text;
  }

  function niceCeil(v) {
    if (v <= 1) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(v)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * p >= v) return steps[i] * p;
    return 10 * p;
  }

  function drawChart(canvas, series, opts) {
    var dpr = window.devicePixelRatio || 1;
    var w = canvas.clientWidth || 480;
    var h = canvas.clientHeight || 180;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(h * dpr);
    }
    var ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    var pad = { l: 48, r: 8, t: 8, b: 20 };
    var pw = w - pad.l - pad.r;
    var ph = h - pad.t - pad.b;
    var tEnd = opts.tEnd;
    var tStart = tEnd - opts.windowMs;
    var yMax = opts.yMax;
    if (yMax === undefined) {
      yMax = 0;
      series.forEach(function (s) {
        s.points.forEach(function (p) { if (p[1] !== null && p[1] > yMax) yMax = p[1]; });
      });
      yMax = opts.integer ? Math.max(4, Math.ceil((yMax * 1.1) / 4) * 4) : niceCeil(yMax);
    }
    var css = getComputedStyle(document.documentElement);
    var muted = css.getPropertyValue('--muted') || '#6b7280';
    var line = css.getPropertyValue('--line') || '#e5e7eb';
    ctx.font = '11px system-ui, sans-serif';
    ctx.lineWidth = 1;
    ctx.setLineDash([]);
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'right';
    for (var i = 0; i <= 4; i++) {
      var gy = pad.t + (ph * i) / 4;
      ctx.strokeStyle = line;
      ctx.beginPath();
      ctx.moveTo(pad.l, gy + 0.5);
      ctx.lineTo(pad.l + pw, gy + 0.5);
      ctx.stroke();
      ctx.fillStyle = muted;
      ctx.fillText(opts.format(yMax * (1 - i / 4)), pad.l - 6, gy);
    }
    var tickMs = [10000, 30000, 60000, 120000, 300000, 600000].filter(function (t) {
      return opts.windowMs / t <= 6;
    })[0] || 600000;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (var ago = 0; ago <= opts.windowMs; ago += tickMs) {
      var tx = pad.l + pw * (1 - ago / opts.windowMs);
      var label = ago === 0 ? 'now' : ago % 60000 === 0 ? '-' + ago / 60000 + 'm' : '-' + ago / 1000 + 's';
      ctx.fillStyle = muted;
      ctx.textAlign = ago === 0 ? 'right' : ago + tickMs > opts.windowMs ? 'left' : 'center';
      ctx.fillText(label, tx, pad.t + ph + 4);
    }
    var xOf = function (t) { return pad.l + (pw * (t - tStart)) / opts.windowMs; };
    var yOf = function (v) { return pad.t + ph * (1 - Math.min(v, yMax) / yMax); };
    ctx.save();
    ctx.beginPath();
    ctx.rect(pad.l, pad.t - 2, pw, ph + 4);
    ctx.clip();
    series.forEach(function (s) {
      ctx.strokeStyle = s.color;
      ctx.lineWidth = s.width || 2;
      ctx.setLineDash(s.dashed ? [5, 4] : []);
      ctx.beginPath();
      var pen = false;
      var lastY = 0;
      s.points.forEach(function (p) {
        if (p[1] === null) { pen = false; return; }
        var x = xOf(p[0]);
        var y = yOf(p[1]);
        if (!pen) ctx.moveTo(x, y);
        else { if (opts.step) ctx.lineTo(x, lastY); ctx.lineTo(x, y); }
        pen = true;
        lastY = y;
      });
      ctx.stroke();
    });
    ctx.restore();
  }

  function legend(container, series) {
    container.textContent = '';
    series.forEach(function (s) {
      var item = el('span', null, '');
      var swatch = el('i');
      swatch.style.background = s.color;
      item.appendChild(swatch);
      item.appendChild(document.createTextNode(s.label));
      container.appendChild(item);
    });
  }

  function sectionFor(sample) {
    var section = sections[sample.supplier];
    if (section) return section;
    var node = el('section', { class: 'supplier', 'data-supplier': sample.supplier });
    var heading = el('h2', null, sample.supplier);
    var meta = el('small', { 'data-role': 'labels' });
    heading.appendChild(meta);
    node.appendChild(heading);
    var grid = el('div', { class: 'grid' });
    var table = el('table', { class: 'now' });
    var body = el('tbody');
    var cells = {};
    FIELDS.forEach(function (f) {
      var row = el('tr', { 'data-row': f[0] });
      row.appendChild(el('th', null, f[1]));
      var cell = el('td', { 'data-field': f[0], 'data-value': '' }, '\\u2013');
      row.appendChild(cell);
      body.appendChild(row);
      cells[f[0]] = { cell: cell, row: row, kind: f[2] };
    });
    table.appendChild(body);
    grid.appendChild(table);
    var slots = el('figure');
    slots.appendChild(el('figcaption', null, 'Slots'));
    var slotsCanvas = el('canvas', { 'data-chart': 'slots', role: 'img', 'aria-label': 'slots over time' });
    slots.appendChild(slotsCanvas);
    var slotsLegend = el('div', { class: 'legend' });
    slots.appendChild(slotsLegend);
    grid.appendChild(slots);
    var readings = el('figure', { 'data-role': 'readings' });
    readings.appendChild(el('figcaption', null, 'Readings (% of limit)'));
    var readingsCanvas = el('canvas', { 'data-chart': 'readings', role: 'img', 'aria-label': 'readings over time' });
    readings.appendChild(readingsCanvas);
    var readingsLegend = el('div', { class: 'legend' });
    readings.appendChild(readingsLegend);
    readings.hidden = true;
    grid.appendChild(readings);
    node.appendChild(grid);
    var counters = el('p', { class: 'counters', 'data-role': 'counters' });
    node.appendChild(counters);
    root.appendChild(node);
    section = {
      node: node, meta: meta, body: body, cells: cells, gpuRows: {}, counters: counters,
      slots: slots, slotsCanvas: slotsCanvas, slotsLegend: slotsLegend,
      readings: readings, readingsCanvas: readingsCanvas, readingsLegend: readingsLegend
    };
    sections[sample.supplier] = section;
    return section;
  }

  function setCell(entry, value) {
    entry.cell.textContent = format(value, entry.kind);
    entry.cell.setAttribute('data-value', value === null || value === undefined ? '' : String(value));
    if (entry.row) entry.row.hidden = (value === null || value === undefined) && entry.kind !== 'count';
  }

  function gpuCells(section, gpu) {
    var rows = section.gpuRows[gpu.gpu];
    if (rows) return rows;
    rows = {};
    [['utilization', 'GPU ' + gpu.gpu, 'ratio'], ['memoryUsedBytes', 'GPU ' + gpu.gpu + ' memory', 'bytes'],
      ['memoryTotalBytes', 'GPU ' + gpu.gpu + ' memory total', 'bytes']].forEach(function (f) {
      var row = el('tr', { 'data-row': 'gpu.' + gpu.gpu + '.' + f[0] });
      row.appendChild(el('th', { title: gpu.uuid }, f[1]));
      var cell = el('td', { 'data-field': 'gpu.' + gpu.gpu + '.' + f[0], 'data-value': '' }, '\\u2013');
      row.appendChild(cell);
      section.body.appendChild(row);
      rows[f[0]] = { cell: cell, row: row, kind: f[2] };
    });
    section.gpuRows[gpu.gpu] = rows;
    return rows;
  }

  // The fleet rows of a fleet supplier: the fleet as its lease manager last said, and this process.
  var FLEET_FIELDS = [
    ['slots', 'Fleet slots', 'count'],
    ['leased', 'Fleet leased', 'count'],
    ['waiting', 'Fleet waiting', 'count'],
    ['held', 'Leases held here', 'count'],
    ['used', 'Leases used here', 'count'],
    ['wanted', 'Leases wanted here', 'count'],
    ['valid', 'Leases renewed', 'flag'],
    ['expired', 'Leases expired here', 'count'],
    ['overdrawn', 'Permits overdrawn', 'count'],
    ['syncErrors', 'Lease sync errors', 'count']
  ];

  function fleetCells(section, fleet) {
    if (section.fleetRows) return section.fleetRows;
    var rows = {};
    var title = el('tr', { 'data-row': 'fleet' });
    title.appendChild(el('th', { colspan: '2', 'data-role': 'fleet-name' }, 'Fleet \u201c' + fleet.fleet + '\u201d'));
    section.body.appendChild(title);
    FLEET_FIELDS.forEach(function (f) {
      var row = el('tr', { 'data-row': 'fleet.' + f[0] });
      row.appendChild(el('th', null, f[1]));
      var cell = el('td', { 'data-field': 'fleet.' + f[0], 'data-value': '' }, '\u2013');
      row.appendChild(cell);
      section.body.appendChild(row);
      rows[f[0]] = { cell: cell, row: row, kind: f[2] };
    });
    section.fleetRows = rows;
    return rows;
  }

  function entries(record) {
    return Object.keys(record).map(function (k) { return k + ' ' + record[k]; }).join(', ') || 'none';
  }

  function render() {
    var current = state.current;
    if (!current) return;
    var points = state.samples.slice();
    var last = points[points.length - 1];
    if (!last || current.time > last.time) points.push(current);
    var tEnd = current.time;
    var names = {};
    current.suppliers.forEach(function (sample) {
      names[sample.supplier] = true;
      var section = sectionFor(sample);
      section.meta.textContent = [sample.namespace, sample.taskQueue || 'any task queue', sample.workerType || 'any worker type'].join(' \\u00b7 ');
      FIELDS.forEach(function (f) { setCell(section.cells[f[0]], sample[f[0]]); });
      if (sample.fleet) {
        var fleetRows = fleetCells(section, sample.fleet);
        FLEET_FIELDS.forEach(function (f) { setCell(fleetRows[f[0]], sample.fleet[f[0]]); });
      }
      sample.gpus.forEach(function (gpu) {
        var rows = gpuCells(section, gpu);
        setCell(rows.utilization, gpu.utilization);
        setCell(rows.memoryUsedBytes, gpu.memoryUsedBytes);
        setCell(rows.memoryTotalBytes, gpu.memoryTotalBytes);
      });
      var ages = Object.keys(sample.readingAgeSeconds || {}).map(function (k) {
        return k + ' ' + sample.readingAgeSeconds[k].toFixed(1) + ' s';
      });
      var learned = Object.keys(sample.learned || {}).map(function (k) {
        var cost = sample.learned[k];
        return k.replace(/^[a-z]+\\//, '') + ' ' + Object.keys(cost).map(function (d) {
          return /Bytes$/.test(d) ? format(cost[d], 'bytes') : String(+cost[d].toFixed(3)) + ' ' + d;
        }).join(' + ');
      });
      section.counters.textContent =
        'Reservations: ' + entries(sample.reservations) +
        ' \\u00b7 Releases: ' + entries(sample.releases) +
        ' \\u00b7 Running by type: ' + entries(sample.usedByTaskType) +
        (ages.length ? ' \\u00b7 Reading age: ' + ages.join(', ') : '') +
        (learned.length ? ' \\u00b7 Learned per task: ' + learned.join(', ') : '');
      var mine = points.map(function (p) {
        var found = null;
        for (var i = 0; i < p.suppliers.length; i++) if (p.suppliers[i].supplier === sample.supplier) found = p.suppliers[i];
        return [p.time, found];
      });
      section.node.setAttribute('data-points', String(mine.filter(function (m) { return m[1] !== null; }).length));
      var readingSeries = [];
      var pick = function (label, color, read) {
        var pts = mine.map(function (m) { return [m[0], m[1] ? read(m[1]) : null]; });
        if (pts.some(function (p) { return p[1] !== null; })) readingSeries.push({ label: label, color: color, points: pts });
      };
      pick('CPU', '#9333ea', function (s) { return s.cpuUtilization === null ? null : s.cpuUtilization * 100; });
      pick('memory', '#ea580c', function (s) {
        return s.memoryWorkingSetBytes === null || !s.memoryLimitBytes ? null : (100 * s.memoryWorkingSetBytes) / s.memoryLimitBytes;
      });
      pick('heap', '#0f766e', function (s) {
        return s.heapUsedBytes === null || !s.heapLimitBytes ? null : (100 * s.heapUsedBytes) / s.heapLimitBytes;
      });
      sample.gpus.forEach(function (gpu, index) {
        var color = GPU_COLORS[index % GPU_COLORS.length];
        var find = function (s) { return s.gpus.filter(function (g) { return g.gpu === gpu.gpu; })[0]; };
        pick('GPU ' + gpu.gpu, color, function (s) { var g = find(s); return g && g.utilization !== null ? g.utilization * 100 : null; });
      });
      section.readings.hidden = readingSeries.length === 0;
      var wide = readingSeries.length === 0 ? 'span 2' : '';
      if (section.slots.style.gridColumn !== wide) section.slots.style.gridColumn = wide;
      var slotSeries = SLOT_SERIES.map(function (s) {
        return {
          label: s[1], color: s[2], dashed: s[3], width: s[4],
          points: mine.map(function (m) { return [m[0], m[1] ? m[1][s[0]] : null]; })
        };
      });
      legend(section.slotsLegend, slotSeries);
      drawChart(section.slotsCanvas, slotSeries, {
        tEnd: tEnd, windowMs: state.historyMs, step: true, integer: true, format: function (v) { return String(v); }
      });
      if (readingSeries.length > 0) {
        legend(section.readingsLegend, readingSeries);
        drawChart(section.readingsCanvas, readingSeries, {
          tEnd: tEnd, windowMs: state.historyMs, yMax: 100, step: false, format: function (v) { return Math.round(v) + '%'; }
        });
      }
    });
    Object.keys(sections).forEach(function (name) {
      if (!names[name]) { root.removeChild(sections[name].node); delete sections[name]; }
    });
    emptyEl.hidden = current.suppliers.length > 0;
    document.body.setAttribute('data-polls', String(state.polls));
    document.body.setAttribute('data-time', String(current.time));
  }

  function poll() {
    fetch('api/history?since=' + state.since, { cache: 'no-store' })
      .then(function (response) {
        if (!response.ok) throw new Error('HTTP ' + response.status);
        return response.json();
      })
      .then(function (data) {
        state.intervalMs = data.intervalMs;
        state.historyMs = data.historyMs;
        data.samples.forEach(function (s) {
          if (s.time > state.since) { state.samples.push(s); state.since = s.time; }
        });
        var oldest = data.current.time - state.historyMs;
        while (state.samples.length > 0 && state.samples[0].time < oldest) state.samples.shift();
        state.current = data.current;
        state.polls++;
        render();
        setStatus('live', 'live \\u00b7 updated ' + new Date(data.current.time).toLocaleTimeString());
      })
      .catch(function (error) {
        setStatus('error', 'cannot reach the metrics server (' + error.message + '), retrying');
      })
      .then(function () { setTimeout(poll, state.intervalMs); });
  }

  window.addEventListener('resize', render);
  poll();
})();
`;

/**
 * The live page served at `/` by {@link startMetricsServer}: one self-contained HTML document (no
 * build step, no CDN) that polls `api/history` and draws each supplier's slots and readings over the
 * last minutes on `<canvas>`, next to a table of the current values.
 *
 * @example
 * ```ts
 * import { livePageHtml } from 'slotwise/internal/metrics/live-page.js';
 * livePageHtml({ title: 'billing workers' }).startsWith('<!doctype html>'); // => true
 * ```
 */
export function livePageHtml(options: LivePageOptions = {}): string {
  const title = escapeHtml(options.title ?? 'slotwise');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${title}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${title}</h1>
<nav><a href="metrics">/metrics</a><a href="healthz">/healthz</a><a href="api/history">/api/history</a></nav>
<span id="status" data-state="connecting">connecting\u2026</span>
</header>
<main id="suppliers"></main>
<p id="empty" hidden>No slotwise suppliers are tracked by this server yet.</p>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
