import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { Connection } from '@temporalio/client';
import { formatByteSize } from '../../config/byte-size.js';
import { parseListenAddress } from '../../config/listen-address.js';
import { ensureTemporalCli, TEMPORAL_CLI_VERSION } from '../../dev-server/temporal-cli.js';
import { describeHost, type HostInventory } from '../../resources/host-inventory.js';
import { type CliIo, UsageError } from '../cli-io.js';
import { addressFlag, intFlag, parseCommandArgs } from '../parse-args.js';
import { textTable } from '../text-table.js';

/** The text of `slotwise doctor --help`. */
export const DOCTOR_HELP = `Usage: slotwise doctor [options]

Shows what slotwise sees on this host: the cgroup version and limits, usable cores, memory, GPUs
(one nvidia-smi call), the Temporal CLI, and whether the Temporal server answers.

Options:
  --address <host:port>   Temporal frontend to check (default: $TEMPORAL_ADDRESS; not checked without one)
  --timeout-ms <ms>       how long the server check may take (default: 2000)
  --json                  print the findings as JSON on stdout
  --root <dir>            read cgroup and /proc files under <dir> instead of / (for tests)
  -h, --help              show this help

Exit codes: 0 nothing failed, 1 a check failed (the server did not answer), 2 usage error.`;

/** How a check came out: `fail` makes the exit code 1; `warn` and `info` do not. */
export type DoctorStatus = 'ok' | 'info' | 'warn' | 'fail' | 'skip';

/** One row of the doctor's table. */
export interface DoctorCheck {
  check: string;
  status: DoctorStatus;
  detail: string;
}

interface CliFinding {
  path: string | null;
  version: string | null;
  error: string | null;
}

interface ServerFinding {
  address: string | null;
  reachable: boolean | null;
  serverVersion: string | null;
  latencyMs: number | null;
  error: string | null;
}

/**
 * `slotwise doctor`: what slotwise sees here (cgroup, cores, memory, GPUs, Temporal CLI, server), in
 * a table. Returns the exit code: 0 when nothing failed, 1 when a check failed (the server did not
 * answer); bad usage throws a {@link UsageError} (exit 2).
 *
 * @example
 * ```ts
 * import { processIo } from 'slotwise/internal/cli/cli-io.js';
 * import { doctorCommand } from 'slotwise/internal/cli/commands/doctor.js';
 * const code = await doctorCommand(['--address', 'localhost:7233'], processIo); // => 0
 * ```
 */
export async function doctorCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs('doctor', argv, {
    address: { type: 'string' },
    'timeout-ms': { type: 'string' },
    json: { type: 'boolean' },
    root: { type: 'string' },
  });
  if (values.help) {
    io.out(DOCTOR_HELP);
    return 0;
  }
  const timeoutMs = intFlag('doctor', 'timeout-ms', values['timeout-ms'], 1) ?? 2000;
  const address = addressFlag('doctor', values.address, io.env);
  const [host, cli, server] = await Promise.all([
    describeHost({ env: io.env, ...(values.root === undefined ? {} : { root: values.root }) }),
    findCli(io.env),
    checkServer(address, timeoutMs),
  ]);
  const checks = [...hostChecks(host, io.env), cliCheck(cli), serverCheck(server, timeoutMs), nodeCheck()];
  const failed = checks.some((check) => check.status === 'fail');
  if (values.json) {
    io.out(JSON.stringify({ ok: !failed, checks, host, temporalCli: cli, server }, null, 2));
  } else {
    io.out('slotwise doctor: what slotwise sees on this host');
    io.out('');
    for (const line of textTable([
      ['CHECK', 'STATUS', 'DETAIL'],
      ...checks.map((c) => [c.check, c.status, c.detail]),
    ])) {
      io.out(line);
    }
  }
  return failed ? 1 : 0;
}

function hostChecks(host: HostInventory, env: NodeJS.ProcessEnv): DoctorCheck[] {
  const quota = host.cpuQuotaCores === null ? 'no CPU quota' : `CPU quota ${round(host.cpuQuotaCores)} cores`;
  const limit =
    host.memoryLimitBytes === null
      ? 'no memory limit'
      : `memory limit ${formatByteSize(host.memoryLimitBytes)}`;
  const checks: DoctorCheck[] = [
    {
      check: 'cgroup',
      status: host.cgroupVersion === 'none' ? 'info' : 'ok',
      detail:
        host.cgroupVersion === 'none'
          ? 'none found (not Linux, or no cgroup filesystem)'
          : `${host.cgroupVersion}, ${quota}, ${limit}`,
    },
    {
      check: 'CPU',
      status: 'ok',
      detail: `${round(host.usableCores)} usable cores (${host.hostCores} online, ${quota})`,
    },
    {
      check: 'memory',
      status: 'ok',
      detail:
        host.memoryLimitBytes === null
          ? `${formatByteSize(host.hostMemoryBytes)} (host total, no cgroup limit)`
          : `${formatByteSize(host.memoryLimitBytes)} (cgroup limit; host total ${formatByteSize(host.hostMemoryBytes)})`,
    },
  ];
  const visible =
    env.CUDA_VISIBLE_DEVICES === undefined
      ? ''
      : `, CUDA_VISIBLE_DEVICES=${JSON.stringify(env.CUDA_VISIBLE_DEVICES)}`;
  const { gpus } = host;
  if (gpus.status === 'absent') {
    checks.push({ check: 'GPUs', status: 'info', detail: `none: ${gpus.error ?? 'nvidia-smi not found'}` });
  } else if (gpus.status === 'error') {
    checks.push({ check: 'GPUs', status: 'warn', detail: `nvidia-smi failed: ${gpus.error}` });
  } else if (gpus.status === 'ok') {
    checks.push({
      check: 'GPUs',
      status: 'ok',
      detail: `${gpus.devices.length} visible (nvidia-smi${visible})`,
    });
    for (const device of gpus.devices) {
      const busy =
        device.utilization === null ? 'utilization unknown' : `${Math.round(device.utilization * 100)}% busy`;
      const memory =
        device.memoryUsedBytes === null || device.memoryTotalBytes === null
          ? 'memory unknown'
          : `${formatByteSize(device.memoryUsedBytes)} of ${formatByteSize(device.memoryTotalBytes)} used`;
      checks.push({
        check: `GPU ${device.index}`,
        status: 'ok',
        detail: `${device.uuid}: ${busy}, ${memory}`,
      });
    }
  }
  return checks;
}

function cliCheck(cli: CliFinding): DoctorCheck {
  if (cli.path === null) {
    return {
      check: 'Temporal CLI',
      status: 'warn',
      detail: `not found: slotwise worker needs it for an embedded dev server (set TEMPORAL_CLI_PATH, put \`temporal\` on PATH, or install Go so slotwise can build ${TEMPORAL_CLI_VERSION})`,
    };
  }
  return {
    check: 'Temporal CLI',
    status: cli.error === null ? 'ok' : 'warn',
    detail: `${cli.path}${cli.version ? ` (${cli.version})` : ''}${cli.error ? `: ${cli.error}` : ''}`,
  };
}

function serverCheck(server: ServerFinding, timeoutMs: number): DoctorCheck {
  if (server.address === null) {
    return {
      check: 'Temporal server',
      status: 'skip',
      detail: 'no --address or TEMPORAL_ADDRESS given (slotwise worker would start an embedded dev server)',
    };
  }
  if (server.reachable) {
    return {
      check: 'Temporal server',
      status: 'ok',
      detail: `${server.address} answers: Temporal server ${server.serverVersion ?? '(version unknown)'}`,
    };
  }
  return {
    check: 'Temporal server',
    status: 'fail',
    detail: `${server.address} ${server.error ?? `did not answer within ${timeoutMs} ms`}`,
  };
}

function nodeCheck(): DoctorCheck {
  const major = Number(process.versions.node.split('.')[0]);
  return {
    check: 'Node.js',
    status: major >= 20 ? 'ok' : 'fail',
    detail: major >= 20 ? process.version : `${process.version}: slotwise needs Node.js 20 or later`,
  };
}

async function findCli(env: NodeJS.ProcessEnv): Promise<CliFinding> {
  let path: string;
  try {
    path = await ensureTemporalCli({ build: false, env, log: () => {} });
  } catch {
    return { path: null, version: null, error: null };
  }
  return new Promise((resolve) => {
    execFile(path, ['--version'], { timeout: 5000, env }, (error, stdout) => {
      const version = stdout.trim().split('\n')[0] || null;
      resolve({
        path,
        version,
        error: error ? `\`temporal --version\` failed: ${error.message.split('\n')[0]}` : null,
      });
    });
  });
}

async function checkServer(address: string | undefined, timeoutMs: number): Promise<ServerFinding> {
  const finding: ServerFinding = {
    address: address ?? null,
    reachable: null,
    serverVersion: null,
    latencyMs: null,
    error: null,
  };
  if (address === undefined) return finding;
  const { host, port } = parseListenAddress(address)!;
  const started = performance.now();
  const tcpError = await new Promise<string | null>((resolve) => {
    const socket = connect({ host, port });
    const done = (error: string | null) => {
      socket.destroy();
      clearTimeout(timer);
      resolve(error);
    };
    const timer = setTimeout(() => done(`did not answer within ${timeoutMs} ms`), timeoutMs);
    socket.once('connect', () => done(null));
    socket.once('error', (error: NodeJS.ErrnoException) =>
      done(`is unreachable: ${error.code ?? 'error'} (${error.message})`),
    );
  });
  if (tcpError !== null) return { ...finding, reachable: false, error: tcpError };
  const left = Math.max(1, timeoutMs - (performance.now() - started));
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: left });
    const info = await connection.workflowService.getSystemInfo({});
    return {
      ...finding,
      reachable: true,
      serverVersion: info.serverVersion || null,
      latencyMs: Math.round(performance.now() - started),
    };
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return {
      ...finding,
      reachable: false,
      error: `accepts connections but is not a Temporal frontend: ${message}`,
    };
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

const round = (n: number): number => Math.round(n * 100) / 100;
