// `npm test`'s vitest step: the test projects as two vitest processes running at the same time.
//
// Vitest runs every file of a project with `fileParallelism: false` one after another, and on a
// 2-core machine runs the unit files one at a time as well, so the projects would simply add up.
// The integration project and the package project each start their own dev server and never share
// files (the package project tests a packed build in a temporary consumer project), so they can run
// side by side: lane 1 runs the integration files, lane 2 the unit files and then the package files.
// Within a lane, files still run one after another. Most of both lanes is waiting on Workers and
// dev servers, not computing, so two lanes on two cores finish well before one lane of everything.
//
// Each output line is prefixed with its lane; the exit code is the first non-zero one. Arguments
// (`npm test -- test/x.test.ts`) go to one plain `vitest run` instead.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const vitest = ['node_modules/vitest/vitest.mjs', 'run'];
const extra = process.argv.slice(2);
const lanes =
  extra.length > 0
    ? [{ name: '', args: extra }]
    : [
        { name: 'integration', args: ['--project', 'integration'] },
        { name: 'unit+package', args: ['--project', 'unit', '--project', 'package'] },
      ];

const children = lanes.map(({ name, args }) => {
  const child = spawn(process.execPath, [...vitest, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const prefix = name ? `[${name}] ` : '';
  for (const [from, to] of [
    [child.stdout, process.stdout],
    [child.stderr, process.stderr],
  ]) {
    createInterface({ input: from, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) => {
      to.write(`${prefix}${line}\n`);
    });
  }
  const started = Date.now();
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      const minutes = ((Date.now() - started) / 60_000).toFixed(1);
      process.stdout.write(`${prefix}vitest exited with ${code ?? signal} after ${minutes} min\n`);
      resolve(code ?? 1);
    });
  });
  return { child, exited };
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const { child } of children) if (child.exitCode === null) child.kill(signal);
  });
}

const codes = await Promise.all(children.map((c) => c.exited));
process.exit(codes.find((code) => code !== 0) ?? 0);
