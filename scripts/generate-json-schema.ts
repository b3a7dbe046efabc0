// Writes schema/slotwise.schema.json from the zod schema of the config (src/config/schema.ts),
// formatted like the rest of the repository. Run after changing the schema:
// `npx tsx scripts/generate-json-schema.ts`. test/config/json-schema.test.ts fails while the
// committed file is stale.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { JSON_SCHEMA_FILE, slotwiseJsonSchemaText } from '../src/config/json-schema.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const target = `${root}${JSON_SCHEMA_FILE}`;
writeFileSync(target, slotwiseJsonSchemaText());
execFileSync(`${root}node_modules/.bin/biome`, ['format', '--write', target], { cwd: root, stdio: 'ignore' });
console.log(`wrote ${target}`);
