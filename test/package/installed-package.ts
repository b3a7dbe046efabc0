/**
 * The package test harness: tests of what users install, not of src/.
 *
 * The `package` vitest project's global setup (`setup/global-setup.ts`) builds the package, packs it
 * with `npm pack`, installs the tarball and the `@temporalio/*` peers into a consumer project in
 * `os.tmpdir()`, bundles `fixtures/workflows.mjs` there, and starts a real Temporal dev server.
 * `installedPackage()` gives a test file all of it. Nothing here imports from src/: the consumer
 * resolves `slotwise` to the installed tarball only.
 *
 * To add a package test:
 * - put `<name>.test.ts` in test/package/ (the `package` project runs every test file here);
 * - to run Workers, write a scenario module in `test/package/scenarios/<name>.mjs` whose default
 *   export receives `{ slotwise, activities, slotwiseOther, input, env, format }` (the modules as the
 *   entry of the chosen format loaded them) and returns a JSON-able result; then
 *   `await installedPackage().runScenario('<name>.mjs', 'esm', input)` returns that result. Run it in
 *   every format of {@link MODULE_FORMATS}: `esm` and `cjs` load everything with `import` / `require`;
 *   `mixed-esm` and `mixed-cjs` load `slotwise` in the program's own format and `slotwise/activities`
 *   (and `slotwiseOther`, the main entry again) in the other one, as a program whose dependencies
 *   use the other format would;
 * - workflows come from the prebuilt bundle (`workflowBundle: { codePath: env.WORKFLOW_BUNDLE_PATH }`);
 *   add yours to `fixtures/workflows.mjs`; files in `fixtures/` are copied into the consumer project;
 * - `exec()` and `slotwiseBin()` run any command, or the installed `slotwise` bin, in the consumer
 *   project, with `TEMPORAL_ADDRESS` set to the dev server.
 *
 * Set `SLOTWISE_KEEP_CONSUMER=1` to keep the consumer project after the run (its path is logged), and
 * `SLOTWISE_REUSE_CONSUMER=<that path>` to run against it again without building and installing (fast
 * while writing a test; the package in it is as old as that run, so never in CI).
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { inject } from 'vitest';

/** What the global setup provides. */
export interface PackageFixture {
  /** The consumer project: the tarball and the peers are installed in its node_modules. */
  consumerDir: string;
  /** The packed tarball. */
  tarball: string;
  /** `host:port` of the dev server. */
  temporalAddress: string;
  /** A workflow bundle of `fixtures/workflows.mjs`, made in the consumer project. */
  workflowBundlePath: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    slotwisePackage: PackageFixture;
  }
}

/** How a scenario's program loads slotwise (see the module comment). */
export type ModuleFormat = 'esm' | 'cjs' | 'mixed-esm' | 'mixed-cjs';

/** Every {@link ModuleFormat}, for `describe.each`. */
export const MODULE_FORMATS: readonly ModuleFormat[] = ['esm', 'cjs', 'mixed-esm', 'mixed-cjs'];

const ENTRY: Record<ModuleFormat, string> = {
  esm: 'entry-esm.mjs',
  cjs: 'entry-cjs.cjs',
  'mixed-esm': 'entry-mixed-esm.mjs',
  'mixed-cjs': 'entry-mixed-cjs.cjs',
};

/** How a command run by {@link InstalledPackage.exec} ended. */
export interface ExecResult {
  /** Exit code, or `null` when a signal ended it. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Whether the hard timeout killed it. */
  timedOut: boolean;
}

/** Options of {@link InstalledPackage.exec}. */
export interface ExecOptions {
  /** Extra environment variables (on top of the test process's, plus `TEMPORAL_ADDRESS`). */
  env?: NodeJS.ProcessEnv;
  /** Kills the process (SIGKILL) after this long. @default 120_000 */
  timeoutMs?: number;
  /** Written to the process's stdin, which is then closed. */
  stdin?: string;
  /** Working directory. @default the consumer project */
  cwd?: string;
  /** Close the read end of the process's stdout at once, as `| head` does early (stdout is then ''). */
  closeStdout?: boolean;
}

/** The installed package, and ways to run code against it. */
export interface InstalledPackage extends PackageFixture {
  /** Runs `file` with `args` in the consumer project. Never rejects for a non-zero exit. */
  exec(file: string, args: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** Runs the installed `slotwise` bin (`node_modules/.bin/slotwise`) with `args`. */
  slotwiseBin(args: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /**
   * Runs `test/package/scenarios/<scenario>` in a fresh Node process whose entry loads slotwise in
   * `format`; resolves with the scenario's result, rejects with its error and output.
   */
  runScenario<T>(scenario: string, format: ModuleFormat, input?: unknown, options?: ExecOptions): Promise<T>;
  /** Writes a file into the consumer project; returns its path. */
  writeFile(name: string, text: string): string;
}

/** The package as a user installs it; see the module comment. */
export function installedPackage(): InstalledPackage {
  const fixture = inject('slotwisePackage');
  const cwd = fixture.consumerDir;
  const exec = (file: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> =>
    new Promise((resolvePromise, reject) => {
      const child = spawn(file, args, {
        cwd: options.cwd ?? cwd,
        env: {
          ...process.env,
          TEMPORAL_ADDRESS: fixture.temporalAddress,
          WORKFLOW_BUNDLE_PATH: fixture.workflowBundlePath,
          ...options.env,
        },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      if (options.closeStdout) child.stdout.destroy();
      else
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          stdout += chunk;
        });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
      });
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, options.timeoutMs ?? 120_000);
      child.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolvePromise({ code, signal, stdout, stderr, timedOut });
      });
      child.stdin.end(options.stdin ?? '');
    });
  return {
    ...fixture,
    exec,
    slotwiseBin: (args, options) => exec(join(cwd, 'node_modules', '.bin', 'slotwise'), args, options),
    async runScenario<T>(
      scenario: string,
      format: ModuleFormat,
      input: unknown = {},
      options: ExecOptions = {},
    ) {
      const name = `scenario-${scenario}`;
      copyFileSync(resolve('test', 'package', 'scenarios', scenario), join(cwd, name));
      const result = await exec(process.execPath, [ENTRY[format], name, JSON.stringify(input)], options);
      const line = result.stdout.split('\n').find((l) => l.startsWith('SLOTWISE_RESULT '));
      if (result.code === 0 && line !== undefined)
        return JSON.parse(line.slice('SLOTWISE_RESULT '.length)) as T;
      throw new Error(
        `scenario ${scenario} (${format}) ${result.timedOut ? 'timed out' : `exited with ${String(result.code ?? result.signal)}`}\n` +
          `--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`,
      );
    },
    writeFile(name, text) {
      const path = join(cwd, name);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
      return path;
    },
  };
}
