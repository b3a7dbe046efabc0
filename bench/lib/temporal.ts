import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { type DevServer, startDevServer } from '../../src/dev-server/dev-server.js';
import { BENCH_DIR } from './results.js';

/** A Temporal server, a client and the bundled benchmark workflows, shared by the scenarios of one run. */
export interface BenchEnv {
  address: string;
  client: Client;
  /** Bundled bench/lib/workflows.ts, on disk (for the Worker child processes). */
  bundlePath: string;
  /** Stops what {@link startBenchEnv} started. */
  close(): Promise<void>;
}

/** A slotwise logger for a scenario's in-process Worker helpers: errors only, the rest would drown the progress lines. */
export const errorsOnlyLogger = {
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error: (m: string) => console.error(m),
  log() {},
};

const quietLogger = {
  trace() {},
  debug() {},
  info() {},
  warn: (m: string) => console.warn(m),
  error: (m: string) => console.error(m),
  log() {},
};

/**
 * Starts a dev server (in memory), or uses the one at `address` (left running), connects a client
 * and bundles the workflows.
 */
export async function startBenchEnv(address: string | null = null): Promise<BenchEnv> {
  const dir = mkdtempSync(join(tmpdir(), 'slotwise-bench-'));
  let server: DevServer | undefined;
  try {
    server = address
      ? undefined
      : await startDevServer({
          logFile: join(dir, 'temporal-dev-server.log'),
          log: (line) => console.log(line),
        });
    const serverAddress = server?.address ?? address!;
    const connection = await Connection.connect({ address: serverAddress });
    const client = new Client({ connection });
    const { code } = await bundleWorkflowCode({
      workflowsPath: join(BENCH_DIR, 'lib/workflows.ts'),
      logger: quietLogger,
    });
    const bundlePath = join(dir, 'workflow-bundle.js');
    writeFileSync(bundlePath, code);
    const s = server;
    return {
      address: serverAddress,
      client,
      bundlePath,
      async close() {
        await connection.close();
        await s?.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** A task queue name unique to this process and call. */
export function uniqueQueue(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}
