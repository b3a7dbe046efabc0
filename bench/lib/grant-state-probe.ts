// What one decision of a concurrency controller costs when its state is full (issue 12: a group that
// scales with keys). Fills a ConcurrencyGrants with 3,000 runs (about 80 % of the default 1 MiB
// budget) of the size withConcurrency() makes (a workflow id, UUID-long run ids), then times requests and releases
// in three shapes: one flooded key (everything waits behind maxRuns 1), thousands of keys waiting
// behind groupMaxRuns 1, and thousands of keys granted at once (no group limit).
//
//   npx tsx bench/lib/grant-state-probe.ts [operations=1000]
//
// Not a scenario: the grant logic alone, in one process, no server. Compare commits by running it
// on each (it prints milliseconds per 100 operations after a warm-up of as many).
import { ConcurrencyGrants } from '../../src/workflows/concurrency/grant-state.js';
import type { ConcurrencyPolicy, ConcurrencyRequest } from '../../src/workflows/concurrency/types.js';

const operations = Number(process.argv[2] ?? 1000);
if (!Number.isInteger(operations) || operations < 100) {
  console.error(`usage: grant-state-probe.ts [operations >= 100], got ${JSON.stringify(process.argv[2])}`);
  process.exit(2);
}

/** Runs granted and waiting before timing: about 80 % of the default budget with these ids. */
const ENTRIES = 3000;

function requestOf(n: number, keys: number, policy: ConcurrencyPolicy): ConcurrencyRequest {
  const workflowId = `customer-report-${String(n).padStart(6, '0')}`;
  const runId = `0f3c9a4e-1b2d-4c5e-8f70-${String(n).padStart(12, '0')}`;
  return {
    requestId: `${workflowId}/${runId}/1`,
    key: `tenant-${n % keys}`,
    workflowId,
    runId,
    originalRunId: runId,
    policy,
    acceptsFull: true,
  };
}

const shapes: Array<{ name: string; keys: number; policy: ConcurrencyPolicy }> = [
  { name: 'one flooded key', keys: 1, policy: { strategy: 'GROUP_ROUND_ROBIN', maxRuns: 1 } },
  {
    name: '4,000 keys waiting (groupMaxRuns 1)',
    keys: 4000,
    policy: { strategy: 'GROUP_ROUND_ROBIN', maxRuns: 1, groupMaxRuns: 1 },
  },
  { name: '4,000 keys granted', keys: 4000, policy: { strategy: 'GROUP_ROUND_ROBIN', maxRuns: 1 } },
];

for (const { name, keys, policy } of shapes) {
  // No byte budget: the probe runs on commits from before it too.
  const grants = new ConcurrencyGrants();
  let n = 0;
  while (grants.state.running.length + grants.state.queued.length < ENTRIES)
    grants.request(requestOf(n++, keys, policy), 0);
  const { running, queued } = grants.state;
  const size = `${running.length} granted, ${queued.length} waiting`;
  // Warm-up, then the timed operations; each request is followed by a release, so the state stays full.
  const time = (count: number) => {
    let requests = 0;
    let releases = 0;
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      grants.request(requestOf(n++, keys, policy), 0);
      const t1 = performance.now();
      grants.release(grants.state.running[0]!.requestId, 0);
      releases += performance.now() - t1;
      requests += t1 - t0;
    }
    return { requests, releases };
  };
  time(operations);
  const { requests, releases } = time(operations);
  const per100 = (ms: number) => ((ms / operations) * 100).toFixed(2);
  console.log(
    `${name} (${size}): ${per100(requests)} ms per 100 requests, ${per100(releases)} ms per 100 releases`,
  );
}
