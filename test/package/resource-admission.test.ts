import { createServer, type Server } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { installedPackage, MODULE_FORMATS } from './installed-package.js';

interface HeapGateResult {
  results: string[];
  maxRunning: number;
  heapLimitSeen: boolean;
  snapshot: { issued: number; used: number; waiting: number; errors: number };
}

describe.each(MODULE_FORMATS)('the installed package, loaded as %s', (format) => {
  it('a HeapSlotSupplier in a composite of the other copy lets exactly the 4 tasks its declared heap cost allows run at once', async () => {
    const result = await installedPackage().runScenario<HeapGateResult>('heap-gate.mjs', format);
    expect(result).toEqual({
      results: Array(8).fill('held'),
      maxRunning: 4,
      heapLimitSeen: true,
      snapshot: expect.objectContaining({ issued: 0, used: 0, waiting: 0, errors: 0 }),
    });
  });
});

describe('the installed slotwise bin: slotwise costs', () => {
  let server: Server | undefined;
  afterAll(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  it('prints the costs a metrics endpoint says were learned as a ready-to-paste costs: block', async () => {
    // What a Worker's endpoint exports after its suppliers learned two activity types.
    const exposition = [
      '# TYPE slotwise_learned_task_memory_bytes gauge',
      `slotwise_learned_task_memory_bytes{supplier="mem",worker_type="ActivityWorker",task_kind="activities",task_type="resize"} ${256 * 2 ** 20}`,
      '# TYPE slotwise_learned_task_heap_bytes gauge',
      `slotwise_learned_task_heap_bytes{supplier="heap",worker_type="ActivityWorker",task_kind="activities",task_type="parse"} ${10 * 2 ** 20}`,
      '',
    ].join('\n');
    server = createServer((_, res) => res.end(exposition));
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const result = await installedPackage().slotwiseBin(['costs', '--url', `http://127.0.0.1:${port}`]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    // x1.2 margin, rounded up to whole MiB: 256 -> 308 (307.2), 10 -> 12.
    expect(result.stdout.split('\n').filter((line) => !line.startsWith('#'))).toEqual([
      'activity:',
      '  costs:',
      '    activities:',
      '      parse:',
      '        heapBytes: 12MiB',
      '      resize:',
      '        memoryBytes: 308MiB',
      '',
    ]);
  });

  it('exits 1 naming the endpoint when no Worker answers there', async () => {
    const result = await installedPackage().slotwiseBin(['costs', '--url', 'http://127.0.0.1:9/metrics']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(
      /^slotwise costs: cannot read http:\/\/127\.0\.0\.1:9\/metrics: .+\. Is a Worker with metrics\.listen running there\?\n$/,
    );
  });
});
