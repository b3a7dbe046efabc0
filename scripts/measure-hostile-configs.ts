// Measures what `slotwise validate --json` costs on hostile config files: an alias bomb, 5000
// levels of nesting, 400k unknown keys, and the largest files still read (the size limit filled
// with unknown keys, with invalid costs, with valid costs). Each file is checked in
// a fresh Node process that reports its wall time and the growth of its peak RSS over the
// process's own baseline (imports loaded), so one case cannot inflate the next.
//
//   npx tsx scripts/measure-hostile-configs.ts          # every case, one table
//   npx tsx scripts/measure-hostile-configs.ts --runs 2 # twice, to see the figures agree
//
// The README's "Security and failure model" section quotes these figures.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIG_LIMITS } from '../src/config/config-limits.js';

interface Case {
  name: string;
  file: string;
  text: () => string;
}

/** Ten anchors, each a list of nine aliases of the one before: 9^10 nodes if expanded. */
function aliasBomb(): string {
  let text = 'a0: &a0 [x, x, x, x, x, x, x, x, x]\n';
  for (let i = 1; i <= 9; i++) {
    const previous = `*a${i - 1}`;
    text += `a${i}: &a${i} [${Array(9).fill(previous).join(', ')}]\n`;
  }
  return text;
}

/** Lines from `line(0)`, `line(1)`, ... after `head`, as many as fit in `bytes`. */
function filled(bytes: number, line: (i: number) => string, head = ''): string {
  let text = head;
  for (let i = 0; ; i++) {
    const next = line(i);
    if (Buffer.byteLength(text) + Buffer.byteLength(next) > bytes) return text;
    text += next;
  }
}

function unknownKeysJson(count: number): string {
  const parts: string[] = [];
  for (let i = 0; i < count; i++) parts.push(`"key${i}":1`);
  return `{${parts.join(',')}}`;
}

function unknownKeysYaml(count: number): string {
  const lines: string[] = [];
  for (let i = 0; i < count; i++) lines.push(`key${i}: 1`);
  return `${lines.join('\n')}\n`;
}

const LIMIT = CONFIG_LIMITS.maxBytes;
const COSTS_HEAD = 'activity:\n  supplier: { type: memory }\n  costs:\n    activities:\n';

const CASES: Case[] = [
  { name: 'YAML alias bomb (9^10 nodes)', file: 'bomb.yaml', text: aliasBomb },
  {
    name: 'JSON 5000 nested lists',
    file: 'deep-lists.json',
    text: () => `${'['.repeat(5000)}${']'.repeat(5000)}`,
  },
  {
    name: 'JSON 5000 nested objects',
    file: 'deep-objects.json',
    text: () => `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`,
  },
  {
    name: 'YAML 5000 nested flow lists',
    file: 'deep.yaml',
    text: () => `${'['.repeat(5000)}${']'.repeat(5000)}\n`,
  },
  { name: 'JSON 400k unknown keys (5 MiB)', file: 'keys.json', text: () => unknownKeysJson(400_000) },
  { name: 'YAML 400k unknown keys (5 MiB)', file: 'keys.yaml', text: () => unknownKeysYaml(400_000) },
  {
    name: 'YAML unknown keys up to the size limit',
    file: 'keys-limit.yaml',
    text: () => filled(LIMIT, (i) => `key${i}: 1\n`),
  },
  {
    name: 'YAML invalid costs up to the size limit',
    file: 'costs-limit.yaml',
    text: () => filled(LIMIT, (i) => `      a${i}: { cpu: -1 }\n`, COSTS_HEAD),
  },
  {
    name: 'YAML valid costs up to the size limit',
    file: 'valid-limit.yaml',
    text: () => filled(LIMIT, (i) => `      a${i}: { cpu: 1 }\n`, COSTS_HEAD),
  },
  {
    name: 'a valid small config',
    file: 'valid.yaml',
    text: () => 'activity:\n  supplier: { type: fixed, slots: 4 }\n',
  },
];

interface Measurement {
  ms: number;
  rssGrowthMiB: number;
  exitCode: number;
  outputBytes: number;
  problems: number;
  first: string;
}

/** In the child: validates one file and prints a {@link Measurement} as JSON. */
async function measureOne(file: string): Promise<void> {
  const { validateCommand } = await import('../src/cli/commands/validate.js');
  const baseline = process.resourceUsage().maxRSS;
  let outputBytes = 0;
  const out: string[] = [];
  const io = {
    out: (line: string) => {
      outputBytes += line.length + 1;
      if (out.length < 2000) out.push(line);
    },
    err: (line: string) => {
      outputBytes += line.length + 1;
    },
    env: {},
  };
  const start = performance.now();
  let exitCode: number;
  let first = '';
  let problems = 0;
  try {
    exitCode = await validateCommand([file, '--json'], io);
    try {
      const result = JSON.parse(out.join('\n')) as { errors?: { message: string }[] };
      problems = result.errors?.length ?? 0;
      first = result.errors?.[0]?.message ?? 'valid';
    } catch {
      first = `stdout is not JSON: ${out[0]?.slice(0, 80) ?? '(nothing)'}`;
    }
  } catch (error) {
    exitCode = -1;
    first = `threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
  }
  const ms = performance.now() - start;
  const rssGrowthMiB = (process.resourceUsage().maxRSS - baseline) / 1024;
  const measurement: Measurement = { ms, rssGrowthMiB, exitCode, outputBytes, problems, first };
  process.stdout.write(`${JSON.stringify(measurement)}\n`);
}

/** A case still running after this long is killed and reported as such. */
const TIMEOUT_MS = 300_000;

function main(): void {
  const runsIndex = process.argv.indexOf('--runs');
  const runs = runsIndex === -1 ? 1 : Number(process.argv[runsIndex + 1]);
  const dir = mkdtempSync(join(tmpdir(), 'slotwise-hostile-'));
  const self = fileURLToPath(import.meta.url);
  try {
    for (const c of CASES) writeFileSync(join(dir, c.file), c.text());
    for (let run = 1; run <= runs; run++) {
      console.log(`run ${run} of ${runs}`);
      console.log(
        'case                               | time ms | peak RSS growth MiB | exit | problems | first problem',
      );
      for (const c of CASES) {
        let m: Measurement;
        try {
          const output = execFileSync(
            process.execPath,
            ['--import', 'tsx', self, '--one', join(dir, c.file)],
            {
              encoding: 'utf8',
              maxBuffer: 64 * 1024 * 1024,
              timeout: TIMEOUT_MS,
            },
          );
          m = JSON.parse(output.trim().split('\n').pop()!) as Measurement;
        } catch (error) {
          const killed = (error as { signal?: string }).signal === 'SIGTERM';
          const what = killed ? `killed after ${TIMEOUT_MS / 1000} s` : String(error).split('\n')[0]!;
          console.log(`${c.name.padEnd(34)} | ${what}`);
          continue;
        }
        console.log(
          [
            c.name.padEnd(34),
            m.ms.toFixed(0).padStart(7),
            m.rssGrowthMiB.toFixed(1).padStart(19),
            String(m.exitCode).padStart(4),
            String(m.problems).padStart(8),
            m.first.slice(0, 110),
          ].join(' | '),
        );
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const one = process.argv.indexOf('--one');
if (one === -1) main();
else await measureOne(process.argv[one + 1]!);
