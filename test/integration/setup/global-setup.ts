import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import { startDevServer } from '../../../src/dev-server/dev-server.js';
import { ensureTemporalCli } from '../../../src/dev-server/temporal-cli.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `host:port` of the dev server every integration test talks to. */
    temporalAddress: string;
    /** A workflow bundle of test/integration/workflows.ts, built once for all test files. */
    workflowBundlePath: string;
  }
}

const outDir = resolve('test-results');

/**
 * Starts one real `temporal server start-dev` for the integration tests (in memory, free ports,
 * fairness on, log in test-results/) and stops it afterwards, however the run ends.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  mkdirSync(outDir, { recursive: true });
  const log = (line: string) => console.log(line);
  const cliPath = await ensureTemporalCli({ log });
  const server = await startDevServer({ cliPath, log, logFile: join(outDir, 'temporal-dev-server.log') });
  const stopOnSignal = () => void server.stop().then(() => process.exit(130));
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  try {
    const started = Date.now();
    const { code } = await bundleWorkflowCode({
      workflowsPath: resolve('test/integration/workflows.ts'),
      logger: { trace() {}, debug() {}, info() {}, warn: log, error: log, log() {} },
    });
    // Per run: concurrent runs on one machine must not read each other's half-written bundle.
    const workflowBundlePath = join(outDir, `workflow-bundle-${process.pid}.js`);
    writeFileSync(workflowBundlePath, code);
    log(`slotwise: bundled test workflows in ${Date.now() - started} ms`);
    project.provide('temporalAddress', server.address);
    project.provide('workflowBundlePath', workflowBundlePath);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return async () => {
    rmSync(join(outDir, `workflow-bundle-${process.pid}.js`), { force: true });
    process.removeListener('SIGINT', stopOnSignal);
    process.removeListener('SIGTERM', stopOnSignal);
    await server.stop();
  };
}
