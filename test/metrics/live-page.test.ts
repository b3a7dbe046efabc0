import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type HistoryResponse,
  type MetricsServer,
  startMetricsServer,
} from '../../src/metrics/metrics-server.js';
import type { MetricsSnapshot } from '../../src/metrics/trackable-supplier.js';
import { FixedSlotSupplier } from '../../src/suppliers/fixed-slot-supplier.js';
import type { SlotwisePermit, SupplierListener } from '../../src/suppliers/types.js';
import { activityInfo, recordingLogger, reserveCtx } from '../helpers/fakes.js';
import { parsePrometheusText, seriesKey } from './metric-values.js';

const CHROMIUM = process.env.SLOTWISE_CHROMIUM ?? '/usr/bin/chromium';
const INSTALL_SCRIPT = 'scripts/install-chromium.sh';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Launches Debian's Chromium, or fails with what to run: this test never skips. */
async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is missing at ${CHROMIUM}, so the live page cannot be tested: run \`sudo ${INSTALL_SCRIPT}\` (apt-get install -y chromium), or set SLOTWISE_CHROMIUM to a Chromium binary`,
    );
  }
  let playwright: typeof import('playwright-core');
  try {
    playwright = await import('playwright-core');
  } catch (error) {
    throw new Error(
      `playwright-core is not installed, so the live page cannot be tested: npm install --save-dev playwright-core (${String(error)})`,
    );
  }
  return playwright.chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** Page field -> metric name, per supplier. */
const FIELD_METRICS: Record<string, string> = {
  capacity: 'slotwise_slots_capacity',
  issued: 'slotwise_slots_issued',
  used: 'slotwise_slots_used',
  available: 'slotwise_slots_available',
  waiting: 'slotwise_reservations_waiting',
  errors: 'slotwise_supplier_errors_total',
  cpuUtilization: 'slotwise_cpu_utilization_ratio',
  cpuUsableCores: 'slotwise_cpu_usable_cores',
  memoryWorkingSetBytes: 'slotwise_memory_working_set_bytes',
  memoryLimitBytes: 'slotwise_memory_limit_bytes',
  heapUsedBytes: 'slotwise_heap_used_bytes',
  heapLimitBytes: 'slotwise_heap_limit_bytes',
};

/** Every `data-field` cell on the page: supplier -> field -> { value, text }. */
async function pageValues(
  page: Page,
): Promise<Record<string, Record<string, { value: string; text: string }>>> {
  return page.$$eval('section[data-supplier]', (sections) =>
    Object.fromEntries(
      sections.map((section) => [
        section.getAttribute('data-supplier'),
        Object.fromEntries(
          [...section.querySelectorAll('td[data-field]')].map((cell) => [
            cell.getAttribute('data-field'),
            { value: cell.getAttribute('data-value'), text: cell.textContent },
          ]),
        ),
      ]),
    ),
  );
}

/** What /metrics says for the same cells, in the page's terms (absent series are ''). */
async function metricsValues(
  server: MetricsServer,
  labelsOf: Record<string, Record<string, string>>,
): Promise<Record<string, Record<string, string>>> {
  const samples = parsePrometheusText(await (await fetch(`${server.url}metrics`)).text());
  const out: Record<string, Record<string, string>> = {};
  for (const [supplier, labels] of Object.entries(labelsOf)) {
    const fields: Record<string, string> = {};
    for (const [field, name] of Object.entries(FIELD_METRICS)) {
      const value = samples.get(seriesKey(name, labels));
      fields[field] = value === undefined ? '' : String(value);
    }
    for (const [key, value] of samples) {
      const gpu =
        /^slotwise_gpu_(utilization_ratio|memory_used_bytes|memory_total_bytes)\{.*,gpu="(\d+)"/.exec(key);
      if (gpu && key.includes(`supplier="${supplier}"`)) {
        const field = {
          utilization_ratio: 'utilization',
          memory_used_bytes: 'memoryUsedBytes',
          memory_total_bytes: 'memoryTotalBytes',
        }[gpu[1] as 'utilization_ratio'];
        fields[`gpu.${gpu[2]}.${field}`] = String(value);
      }
    }
    out[supplier] = fields;
  }
  return out;
}

const onlyValues = (values: Record<string, Record<string, { value: string; text: string }>>) =>
  Object.fromEntries(
    Object.entries(values).map(([s, fields]) => [
      s,
      Object.fromEntries(Object.entries(fields).map(([f, v]) => [f, v.value])),
    ]),
  );

function resourceSupplier(name: string) {
  const listeners = new Set<SupplierListener>();
  const fake = {
    name,
    current: {
      name,
      capacity: 4,
      issued: 1,
      used: 1,
      waiting: 0,
      errors: 0,
      readings: {
        cpu: { utilization: 0.5, usableCores: 2 },
        memory: { usedBytes: 1_073_741_824, limitBytes: 4_294_967_296 },
        gpus: [
          {
            index: 0,
            uuid: 'GPU-test',
            utilization: 0.25,
            memoryUsedBytes: 536_870_912,
            memoryTotalBytes: 2_147_483_648,
          },
        ],
      },
    } as MetricsSnapshot,
    snapshot: () => fake.current,
    subscribe: (listener: SupplierListener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return fake;
}

describe('live page in headless Chromium', () => {
  let browser: Browser;
  let server: MetricsServer;
  const slots = new FixedSlotSupplier({ slots: 4, name: 'page-slots', logger: recordingLogger() });
  const gpu = resourceSupplier('page-gpu');
  const permits: SlotwisePermit[] = [];
  const labelsOf = {
    'page-slots': {
      namespace: 'default',
      task_queue: 'orders',
      worker_type: 'ActivityWorker',
      supplier: 'page-slots',
    },
    'page-gpu': { namespace: 'default', task_queue: '', worker_type: '', supplier: 'page-gpu' },
  };
  const pageErrors: string[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
    server = await startMetricsServer({
      port: 0,
      suppliers: [slots, gpu],
      sampleIntervalMs: 100,
      historySeconds: 60,
    });
    for (let i = 0; i < 4; i++) permits.push(slots.tryReserveSlot(reserveCtx('orders'))!);
    void slots.reserveSlot(reserveCtx('orders'), new AbortController().signal); // waits: all 4 are issued
    slots.markSlotUsed({ permit: permits[0]!, slotInfo: activityInfo('render') });
    slots.markSlotUsed({ permit: permits[1]!, slotInfo: activityInfo('render') });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function openPage(): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    return page;
  }

  it('livePageHtml() loads and shows the numbers /metrics shows, for slots and readings', async () => {
    const page = await openPage();
    await page.goto(server.url);
    await page.waitForSelector('body[data-polls]');
    const values = await pageValues(page);
    expect(onlyValues(values)).toEqual(await metricsValues(server, labelsOf));
    expect(onlyValues(values)['page-slots']).toMatchObject({
      capacity: '4',
      issued: '4',
      used: '2',
      available: '0',
      waiting: '1',
      errors: '0',
      cpuUtilization: '',
    });
    expect(values['page-slots']!.issued!.text).toBe('4');
    expect(values['page-gpu']).toMatchObject({
      cpuUtilization: { value: '0.5', text: '50.0 %' },
      memoryWorkingSetBytes: { value: '1073741824', text: '1.0 GiB' },
      'gpu.0.utilization': { value: '0.25', text: '25.0 %' },
    });
    expect(await page.getAttribute('#status', 'data-state')).toBe('live');
    expect(
      await page.$$eval('section[data-supplier] figure[data-role="readings"]', (figures) =>
        figures.map((f) => [f.closest('section')!.getAttribute('data-supplier'), f.hasAttribute('hidden')]),
      ),
    ).toEqual([
      ['page-slots', true],
      ['page-gpu', false],
    ]);
    // Which canvases have ink on them (evaluated in the page; this file has no DOM types).
    const inked = await page.evaluate(`[...document.querySelectorAll('canvas[data-chart]')].map((canvas) => {
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let painted = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
      return [canvas.closest('section').getAttribute('data-supplier'), canvas.dataset.chart, painted > 0];
    })`);
    expect(inked).toEqual([
      ['page-slots', 'slots', true],
      ['page-slots', 'readings', false], // hidden: this supplier has no readings
      ['page-gpu', 'slots', true],
      ['page-gpu', 'readings', true],
    ]);
    expect(await page.textContent('section[data-supplier="page-slots"] [data-role="counters"]')).toBe(
      'Reservations: granted 0, aborted 0, eager-granted 4, eager-denied 0, error 0 · Releases: normal 0, unused 0, manual 0, reclaimed 0 · Running by type: render 2',
    );
    expect(pageErrors).toEqual([]);
    await page.close();
  }, 60_000);

  it('livePageHtml() updates itself when slots and readings change', async () => {
    const page = await openPage();
    await page.goto(server.url);
    await page.waitForSelector('section[data-supplier="page-slots"] td[data-field="issued"][data-value="4"]');
    slots.releaseSlot({ permit: permits[0]! }); // the waiting reservation takes it
    slots.releaseSlot({ permit: permits[2]! });
    gpu.current = {
      ...gpu.current,
      readings: { ...gpu.current.readings, cpu: { utilization: 0.75, usableCores: 2 } },
    };
    expect(slots.snapshot()).toMatchObject({ issued: 3, used: 1, waiting: 0 });
    await page.waitForSelector('section[data-supplier="page-slots"] td[data-field="issued"][data-value="3"]');
    await page.waitForSelector(
      'section[data-supplier="page-gpu"] td[data-field="cpuUtilization"][data-value="0.75"]',
    );
    const values = onlyValues(await pageValues(page));
    expect(values).toEqual(await metricsValues(server, labelsOf));
    expect(values['page-slots']).toMatchObject({ issued: '3', used: '1', available: '1', waiting: '0' });
    expect(pageErrors).toEqual([]);
    await page.close();
  }, 60_000);

  it('livePageHtml() shows the history the server kept as soon as it loads', async () => {
    await vi.waitFor(
      async () => {
        const body = (await (await fetch(`${server.url}api/history`)).json()) as HistoryResponse;
        if (body.samples.length < 5) throw new Error(`only ${body.samples.length} samples so far`);
      },
      { timeout: 30_000, interval: 50 },
    );
    const page = await openPage();
    // Hold every poll after the first, so the first render can be read before the next one.
    let releasePolls!: () => void;
    const pollsHeld = new Promise<void>((resolve) => {
      releasePolls = resolve;
    });
    await page.route(
      (url) => url.pathname === '/api/history' && url.searchParams.get('since') !== '0',
      async (route) => {
        await pollsHeld;
        await route.continue();
      },
    );
    const firstPoll = page.waitForResponse((r) => r.url().endsWith('/api/history?since=0'));
    await page.goto(server.url);
    const received = (await (await firstPoll).json()) as HistoryResponse;
    await page.waitForSelector('body[data-polls="1"]');
    const pointsOnFirstRender = await page.getAttribute('section[data-supplier="page-slots"]', 'data-points');
    releasePolls();
    const last = received.samples[received.samples.length - 1]!;
    const expected = received.samples.length + (received.current.time > last.time ? 1 : 0);
    expect(received.samples.length).toBeGreaterThanOrEqual(5);
    expect(pointsOnFirstRender).toBe(String(expected));
    expect(pageErrors).toEqual([]);
    await page.close();
  }, 60_000);
});

describe('live page of a fleet supplier in headless Chromium', () => {
  it('livePageHtml() shows the fleet rows of a fleet supplier, with the values /metrics shows', async () => {
    const fleet = resourceSupplier('page-fleet');
    fleet.current = {
      name: 'page-fleet',
      capacity: 3,
      issued: 2,
      used: 2,
      waiting: 1,
      errors: 0,
      fleet: {
        fleet: 'licensed-api',
        slots: 40,
        leased: 38,
        fleetWaiting: 5,
        held: 3,
        inUse: 2,
        wanted: 1,
        valid: false,
        expiredLeases: 7,
        overdrawn: 0,
        syncErrors: 4,
      },
    };
    const browser = await launchChromium();
    const server = await startMetricsServer({ port: 0, suppliers: [fleet], sampleIntervalMs: 100 });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(server.url);
      await page.waitForSelector(
        'section[data-supplier="page-fleet"] td[data-field="fleet.slots"][data-value="40"]',
      );
      const cells = (await pageValues(page))['page-fleet']!;
      const fleetCells = Object.fromEntries(
        Object.entries(cells)
          .filter(([field]) => field.startsWith('fleet.'))
          .map(([field, cell]) => [field, [cell.value, cell.text]]),
      );
      expect(fleetCells).toEqual({
        'fleet.slots': ['40', '40'],
        'fleet.leased': ['38', '38'],
        'fleet.waiting': ['5', '5'],
        'fleet.held': ['3', '3'],
        'fleet.used': ['2', '2'],
        'fleet.wanted': ['1', '1'],
        'fleet.valid': ['0', 'no'],
        'fleet.expired': ['7', '7'],
        'fleet.overdrawn': ['0', '0'],
        'fleet.syncErrors': ['4', '4'],
      });
      // The same numbers /metrics exports, labelled with the fleet.
      const samples = parsePrometheusText(await (await fetch(`${server.url}metrics`)).text());
      const labels = {
        namespace: 'default',
        task_queue: '',
        worker_type: '',
        supplier: 'page-fleet',
        fleet: 'licensed-api',
      };
      expect(samples.get(seriesKey('slotwise_fleet_leases_expired_total', labels))).toBe(7);
      expect(samples.get(seriesKey('slotwise_fleet_lease_valid', labels))).toBe(0);
      expect(await page.textContent('section[data-supplier="page-fleet"] [data-role="fleet-name"]')).toBe(
        'Fleet \u201clicensed-api\u201d',
      );
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
      await server.close();
    }
  }, 60_000);
});
