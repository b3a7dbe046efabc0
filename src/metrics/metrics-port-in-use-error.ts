import { brandClass } from '../class-brand.js';
/**
 * Thrown by {@link startMetricsServer} when another process (or server) already listens on the port.
 * The message says which address, and how to choose another.
 *
 * @example
 * ```ts
 * import { MetricsPortInUseError, startMetricsServer } from 'slotwise';
 * try {
 *   await startMetricsServer({ port: 9464 });
 * } catch (error) {
 *   if (error instanceof MetricsPortInUseError) console.error(error.message);
 *   // => metrics port 9464 on 127.0.0.1 is already in use: choose another with metrics.listen ...
 * }
 * ```
 */
export class MetricsPortInUseError extends Error {
  override name = 'MetricsPortInUseError';
  /** Node's error code, for callers that switch on it. */
  readonly code = 'EADDRINUSE';

  constructor(
    /** The address the server tried to listen on. */
    readonly host: string,
    /** The port that is taken. */
    readonly port: number,
    options?: { cause?: unknown },
  ) {
    super(
      `metrics port ${port} on ${host} is already in use: choose another with metrics.listen (for example "${host.includes(':') ? `[${host}]` : host}:${port + 1}", or port 0 for any free port), or stop the process that holds it`,
      options,
    );
  }
}
brandClass(MetricsPortInUseError, 'MetricsPortInUseError');
