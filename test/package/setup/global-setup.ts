import { execFile } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import { startDevServer } from '../../../src/dev-server/dev-server.js';
import { ensureTemporalCli } from '../../../src/dev-server/temporal-cli.js';
import type { PackageFixture } from '../installed-package.js';

const run = promisify(execFile);
const root = resolve('.');
const outDir = resolve('test-results');

/** The `@temporalio/*` peers the consumer installs: the versions the repository tests with. */
const PEERS = ['activity', 'client', 'common', 'worker', 'workflow'].map((name) => {
  const { version } = JSON.parse(
    readFileSync(join(root, 'node_modules', '@temporalio', name, 'package.json'), 'utf8'),
  ) as { version: string };
  return `@temporalio/${name}@${version}`;
});

async function step<T>(log: (line: string) => void, what: string, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const result = await work();
  log(`slotwise package tests: ${what} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return result;
}

/**
 * Global setup of the `package` test project: what a user gets from `npm install slotwise`, built
 * once per test run.
 *
 * 1. `npm run build`, then `npm pack` into a temporary directory;
 * 2. a consumer project in `os.tmpdir()` (outside the repository, so nothing resolves to the
 *    sources) that installs the tarball and the `@temporalio/*` peers from the registry (npm's cache
 *    makes the second run fast);
 * 3. a workflow bundle of `test/package/fixtures/workflows.mjs`, made by the consumer's own
 *    `@temporalio/worker` and resolving `slotwise/workflows` and `slotwise/examples/workflows` from
 *    the installed package;
 * 4. a real `temporal server start-dev`.
 *
 * Tests reach all of it through `installedPackage()` in `test/package/installed-package.ts`.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  mkdirSync(outDir, { recursive: true });
  const log = (line: string) => console.log(line);
  const reuse = process.env.SLOTWISE_REUSE_CONSUMER;
  const work = reuse === undefined ? mkdtempSync(join(tmpdir(), 'slotwise-package-')) : resolve(reuse, '..');
  const consumer = join(work, 'consumer');
  if (reuse === undefined) mkdirSync(consumer);
  let serverStarting: ReturnType<typeof startDevServer> | undefined;
  const cleanup = async () => {
    await (await serverStarting?.catch(() => undefined))?.stop();
    if (process.env.SLOTWISE_KEEP_CONSUMER === undefined && reuse === undefined)
      rmSync(work, { recursive: true, force: true });
    else log(`slotwise package tests: consumer project kept at ${consumer}`);
  };
  try {
    // The server starts while the package builds; a failure surfaces where it is awaited.
    serverStarting = ensureTemporalCli({ log }).then((cliPath) =>
      startDevServer({
        cliPath,
        log,
        logFile: join(outDir, `temporal-dev-server-package-${process.pid}.log`),
      }),
    );
    serverStarting.catch(() => {});

    let tarball: string;
    if (reuse !== undefined) {
      // A consumer kept by an earlier run (SLOTWISE_KEEP_CONSUMER): no build, no install.
      log(`slotwise package tests: reusing ${consumer} (SLOTWISE_REUSE_CONSUMER): its package may be stale`);
      tarball =
        readdirSync(join(consumer, '..'))
          .map((name) => join(consumer, '..', name))
          .find((p) => p.endsWith('.tgz')) ?? '';
    } else {
      writeFileSync(
        join(consumer, 'package.json'),
        `${JSON.stringify({ name: 'slotwise-consumer', version: '1.0.0', private: true }, null, 2)}\n`,
      );
      const npmInstall = (packages: string[]) =>
        run(
          'npm',
          ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...packages],
          {
            cwd: consumer,
            maxBuffer: 16 * 1024 * 1024,
          },
        );
      // The peers install while the package builds; the tarball joins them afterwards.
      const [, peersInstalled] = await Promise.all([
        step(log, 'built dist/', () => run('npm', ['run', '--silent', 'build'], { cwd: root })),
        step(log, `installed ${PEERS.join(', ')}`, () => npmInstall(PEERS)).then(
          () => undefined,
          (error: unknown) => error,
        ),
      ]);
      if (peersInstalled !== undefined) throw peersInstalled;
      const packed = await step(log, 'packed the tarball', () =>
        run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: root }),
      );
      const [{ filename }] = JSON.parse(packed.stdout) as [{ filename: string }];
      tarball = join(work, filename);
      await step(log, `installed ${filename}`, () => npmInstall([tarball, ...PEERS]));
    }

    for (const name of readdirSync(join(root, 'test', 'package', 'fixtures'))) {
      copyFileSync(join(root, 'test', 'package', 'fixtures', name), join(consumer, name));
    }
    const workflowBundlePath = join(consumer, 'workflow-bundle.js');
    await step(log, 'bundled the consumer workflows', () =>
      run(process.execPath, ['bundle-workflows.mjs', 'workflows.mjs', workflowBundlePath], { cwd: consumer }),
    );

    const server = await serverStarting;
    const fixture: PackageFixture = {
      consumerDir: consumer,
      tarball,
      temporalAddress: server.address,
      workflowBundlePath,
    };
    project.provide('slotwisePackage', fixture);
  } catch (error) {
    await cleanup();
    throw error;
  }
  return cleanup;
}
