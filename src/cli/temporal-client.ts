import { Client, Connection } from '@temporalio/client';
import type { CliIo } from './cli-io.js';

/** The flags of a command that talks to a Temporal cluster. */
export interface TemporalFlags {
  address?: string | undefined;
  namespace?: string | undefined;
}

/**
 * Connects to the cluster `--address` (or `$TEMPORAL_ADDRESS`, else localhost:7233) names, runs
 * `run` with a client of `--namespace` (or `$TEMPORAL_NAMESPACE`, else "default") and closes the
 * connection. A cluster that cannot be reached is said on stderr, and the exit code is 1.
 */
export async function withTemporalClient(
  command: string,
  flags: TemporalFlags,
  io: CliIo,
  run: (client: Client) => Promise<number>,
): Promise<number> {
  const address = flags.address ?? io.env.TEMPORAL_ADDRESS ?? 'localhost:7233';
  const namespace = flags.namespace ?? io.env.TEMPORAL_NAMESPACE ?? 'default';
  let connection: Connection;
  try {
    connection = await Connection.connect({ address, connectTimeout: 5_000 });
  } catch (error) {
    io.err(
      `slotwise ${command}: cannot reach Temporal at ${address}: ${error instanceof Error ? error.message : String(error)}`,
    );
    return 1;
  }
  try {
    return await run(new Client({ connection, namespace }));
  } finally {
    await connection.close();
  }
}
