// Makes the Temporal CLI available (TEMPORAL_CLI_PATH, PATH, the slotwise cache, or a one-time
// `go install` build) and prints where it is. Used by .ci/run before the tests.
import { execFileSync } from 'node:child_process';
import { ensureTemporalCli, TemporalCliNotFoundError } from '../src/dev-server/temporal-cli.js';

try {
  const cli = await ensureTemporalCli({ log: (line) => console.log(line) });
  const version = execFileSync(cli, ['--version'], { encoding: 'utf8' }).trim();
  console.log(`slotwise: Temporal CLI ready: ${cli} (${version})`);
} catch (error) {
  console.error(error instanceof TemporalCliNotFoundError ? error.message : error);
  process.exit(1);
}
