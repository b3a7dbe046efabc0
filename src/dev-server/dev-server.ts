import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Connection } from '@temporalio/client';
import { ensureTemporalCli } from './temporal-cli.js';

/**
 * Dynamic config slotwise turns on in every dev server it starts: task-queue fairness
 * (`fairnessKey`, `fairnessWeight`) acts in the server's matching service, which the dev server
 * runs without it unless these two settings are on.
 */
export const DEV_SERVER_DYNAMIC_CONFIG: Readonly<Record<string, string>> = {
  'matching.enableFairness': 'true',
  'matching.useNewMatcher': 'true',
};

/** Options of {@link startDevServer}. */
export interface DevServerOptions {
  /** Path of the Temporal CLI. @default the result of `ensureTemporalCli()` */
  cliPath?: string;
  /** Loopback address to bind. @default '127.0.0.1' */
  ip?: string;
  /** Frontend gRPC port. @default a free port */
  port?: number;
  /** File the server's output is written to. @default a new file under the OS temp directory */
  logFile?: string;
  /**
   * SQLite file the server keeps its state in, so a server started again on it (same `port`)
   * carries on where the last one stopped. @default none: in memory
   */
  dbFilename?: string;
  /** Extra `--dynamic-config-value KEY=VALUE` entries, on top of {@link DEV_SERVER_DYNAMIC_CONFIG}. */
  dynamicConfig?: Record<string, string>;
  /** How long to wait for the server to answer, in milliseconds. @default 60_000 */
  startTimeoutMs?: number;
  /** Where progress lines go. @default stderr */
  log?: (line: string) => void;
}

/** A running `temporal server start-dev`. */
export interface DevServer {
  /** `host:port` of the frontend, for `Connection.connect({ address })`. */
  readonly address: string;
  /** Where the server writes its log. */
  readonly logFile: string;
  /** PID of the supervising process (the server runs as its child, in its own process group). */
  readonly pid: number;
  /** Stops the server and waits for it to exit. Safe to call twice. */
  stop(): Promise<void>;
}

/** Returns a TCP port that was free a moment ago on `ip`. */
export async function freePort(ip = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, ip, () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/**
 * A supervisor run as `node -e`: it starts the server as its child and kills it when told to stop
 * or when the process that started it dies (even by SIGKILL), so no server outlives its owner.
 */
const SUPERVISOR = `
const { spawn } = require('node:child_process');
const [ownerPid, cli, ...args] = process.argv.slice(1);
const child = spawn(cli, args, { stdio: 'inherit' });
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  child.kill('SIGTERM');
  setTimeout(() => child.kill('SIGKILL'), 5000).unref();
};
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
child.on('error', (e) => { console.error('slotwise: cannot start the Temporal CLI: ' + e.message); process.exit(127); });
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('SIGHUP', stop);
// Reparenting (the owner died, even as an unreaped zombie) or a failed signal check means: stop.
setInterval(() => {
  if (process.ppid !== Number(ownerPid)) return stop();
  try { process.kill(Number(ownerPid), 0); } catch { stop(); }
}, 500);
`;

/**
 * Starts `temporal server start-dev` headless and in memory on free loopback ports, with
 * fairness enabled, waits until its frontend answers, and returns its address.
 *
 * @example
 * ```ts
 * import { startDevServer } from 'slotwise';
 * const server = await startDevServer();
 * server.address; // => '127.0.0.1:40123'
 * await server.stop();
 * ```
 */
export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const cliPath = options.cliPath ?? (await ensureTemporalCli({ log }));
  const ip = options.ip ?? '127.0.0.1';
  const logFile = options.logFile ?? join(tmpdir(), `slotwise-temporal-${process.pid}-${Date.now()}.log`);
  mkdirSync(dirname(logFile), { recursive: true });
  const attempts = options.port === undefined ? 3 : 1;
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const port = options.port ?? (await freePort(ip));
    const uiPort = await freePort(ip);
    const dynamic = { ...DEV_SERVER_DYNAMIC_CONFIG, ...options.dynamicConfig };
    const args = [
      'server',
      'start-dev',
      '--headless',
      '--ip',
      ip,
      '--port',
      String(port),
      '--ui-port',
      String(uiPort),
      '--http-port',
      String(await freePort(ip)),
      '--metrics-port',
      String(await freePort(ip)),
      '--log-level',
      'warn',
      ...(options.dbFilename === undefined ? [] : ['--db-filename', options.dbFilename]),
      ...Object.entries(dynamic).flatMap(([key, value]) => ['--dynamic-config-value', `${key}=${value}`]),
    ];
    const fd = openSync(logFile, 'a');
    const supervisor = spawn(process.execPath, ['-e', SUPERVISOR, String(process.pid), cliPath, ...args], {
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    const server = supervise(supervisor, `${ip}:${port}`, logFile);
    try {
      await waitUntilServing(server.address, options.startTimeoutMs ?? 60_000, server.exited, logFile);
      log(`slotwise: Temporal dev server listening on ${server.address} (log: ${logFile})`);
      return server;
    } catch (error) {
      lastError = error;
      await server.stop();
    }
  }
  throw lastError;
}

function supervise(
  supervisor: ReturnType<typeof spawn>,
  address: string,
  logFile: string,
): DevServer & { exited: Promise<number | null> } {
  const exited = new Promise<number | null>((resolve) => supervisor.on('exit', (code) => resolve(code)));
  const pid = supervisor.pid ?? -1;
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  };
  const onExit = () => killGroup('SIGKILL');
  process.once('exit', onExit);
  let stopped: Promise<void> | undefined;
  return {
    address,
    logFile,
    pid,
    exited,
    stop() {
      stopped ??= (async () => {
        process.removeListener('exit', onExit);
        if (supervisor.exitCode === null && supervisor.signalCode === null) {
          killGroup('SIGTERM');
          const timer = setTimeout(() => killGroup('SIGKILL'), 8000);
          await exited;
          clearTimeout(timer);
        }
        killGroup('SIGKILL'); // anything left in the group
      })();
      return stopped;
    },
  };
}

async function waitUntilServing(
  address: string,
  timeoutMs: number,
  exited: Promise<number | null>,
  logFile: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void exited.then((code) => {
    exitCode = code;
  });
  for (;;) {
    if (exitCode !== undefined)
      throw new Error(
        `the Temporal dev server exited with code ${exitCode} before it answered; last lines of ${logFile}:\n${tailOf(logFile)}`,
      );
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.getSystemInfo({});
        await connection.workflowService.describeNamespace({ namespace: 'default' });
        return;
      } finally {
        await connection.close();
      }
    } catch (error) {
      if (Date.now() > deadline) {
        throw new Error(
          `the Temporal dev server at ${address} did not answer within ${timeoutMs} ms: ${String(error)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/** The last `lines` lines of a file, for error messages. */
export function tailOf(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
