import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { beforeAll, describe, expect, it } from 'vitest';
import { instrumentBlock, type ReadmeBlock, readmeBlocks, toJavaScript } from '../docs/readme-blocks.js';
import type { CheckResult } from '../docs/readme-expected.js';
import { installedPackage } from './installed-package.js';

// README.md's TypeScript blocks run against the installed package, and every `// =>` result in them
// is checked where it runs. How a block runs is said by a `<!-- readme-test: ... -->` comment on the
// line before it (see test/docs/readme-blocks.ts); blocks run one after another in
// `<consumer>/readme/`, which holds the files the README mentions (./workflows.js, slotwise.yaml,
// ./heavy.mjs).

const README = readFileSync('README.md', 'utf8');
const blocks = readmeBlocks(README);
const tsBlocks = blocks.filter((block) => block.lang === 'ts');
const fakeGpuDir = resolve('test', 'resources', 'fixtures');

/** Setups a block can ask for with `setup:<name>`. */
const SETUPS: Record<string, (address: string) => Promise<void>> = {
  /** 25 running workflows of type 'render' (no Worker polls their queue), visible to queries. */
  async 'render-workflows'(address) {
    const connection = await Connection.connect({ address });
    try {
      const client = new Client({ connection });
      const query = "WorkflowType = 'render' AND ExecutionStatus = 'Running'";
      for (let i = 0; i < 25; i++) {
        await client.workflow.start('render', {
          taskQueue: `readme-render-${process.pid}`,
          workflowId: `readme-render-${process.pid}-${i}`,
        });
      }
      for (const deadline = Date.now() + 60_000; (await client.workflow.count(query)).count !== 25; ) {
        if (Date.now() > deadline) throw new Error('the 25 render workflows never showed in visibility');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    } finally {
      await connection.close();
    }
  },
};

const fileOf = (block: ReadmeBlock) => `readme-${block.line}.mjs`;
let readmeDir: string;
let bundlePath: string;

beforeAll(async () => {
  const pkg = installedPackage();
  readmeDir = join(pkg.consumerDir, 'readme');
  mkdirSync(readmeDir, { recursive: true });
  const fixture = (name: string) => join(pkg.consumerDir, name);
  // The files README blocks refer to.
  copyFileSync(fixture('workflows.mjs'), join(readmeDir, 'workflows.js'));
  copyFileSync(fixture('heavy.mjs'), join(readmeDir, 'heavy.mjs'));
  const yaml = blocks.find((block) => block.lang === 'yaml');
  if (yaml) writeFileSync(join(readmeDir, 'slotwise.yaml'), `${yaml.code}\n`);
  // What instrumented blocks call (through fixtures/readme-check.mjs).
  writeFileSync(
    fixture('readme-expected.mjs'),
    toJavaScript(readFileSync(resolve('test', 'docs', 'readme-expected.ts'), 'utf8')),
  );
  // Workflow blocks go into one bundle with the consumer's workflows.
  const workflowBlocks = tsBlocks.filter((block) => block.directive.kind === 'workflow');
  for (const block of tsBlocks) {
    if (block.directive.kind === 'skip') continue;
    const code =
      block.directive.kind === 'workflow' ? block.code : instrumentBlock(block.code, block.line + 1).code;
    writeFileSync(join(readmeDir, fileOf(block)), toJavaScript(code));
  }
  writeFileSync(
    join(readmeDir, 'readme-workflows.js'),
    [
      "export * from './workflows.js';",
      ...workflowBlocks.map((b) => `export * from './${fileOf(b)}';`),
      '',
    ].join('\n'),
  );
  bundlePath = join(readmeDir, 'readme-bundle.js');
  const bundled = await pkg.exec(
    process.execPath,
    ['../bundle-workflows.mjs', 'readme-workflows.js', bundlePath],
    { cwd: readmeDir },
  );
  expect(bundled.stderr).toBe('');
  expect(bundled.code).toBe(0);
}, 300_000);

describe('README.md', () => {
  it('has TypeScript blocks to run', () => {
    expect(tsBlocks.length).toBeGreaterThan(10);
  });

  it('the config block validates with the installed `slotwise validate`', async () => {
    const result = await installedPackage().slotwiseBin(['validate', 'slotwise.yaml'], { cwd: readmeDir });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it.each(
    tsBlocks.map((block) => {
      const { kind, server } = block.directive;
      return [
        `README.md:${block.line} (${kind}${server && kind === 'script' ? ', server' : ''})`,
        block,
      ] as const;
    }),
  )('%s runs against the installed package and its `// =>` results hold', async (_name, block) => {
    const { directive } = block;
    if (directive.kind === 'skip') {
      console.log(`README.md:${block.line} not run: ${directive.skipReason}`);
      return;
    }
    const pkg = installedPackage();
    if (directive.setup !== undefined) {
      const setup = SETUPS[directive.setup];
      if (setup === undefined) throw new Error(`README.md:${block.line}: unknown setup "${directive.setup}"`);
      await setup(pkg.temporalAddress);
    }
    const checks = directive.kind === 'workflow' ? [] : instrumentBlock(block.code, block.line + 1).checks;
    const args = ['--import', '../readme-check.mjs'];
    // The shims are for blocks that connect and run Workers themselves; the host does that for
    // activity and workflow blocks.
    if (directive.server && directive.kind === 'script') args.push('--import', '../readme-shims.mjs');
    args.push('../readme-host.mjs', directive.kind, fileOf(block));
    if (directive.kind === 'activity' || directive.kind === 'workflow') {
      const bundle = directive.kind === 'workflow' ? bundlePath : pkg.workflowBundlePath;
      args.push(directive.name!, JSON.stringify(directive.args), bundle);
    }
    const result = await pkg.exec(process.execPath, args, {
      cwd: readmeDir,
      env: {
        ...(directive.gpu ? { PATH: `${fakeGpuDir}:${process.env.PATH}` } : {}),
        // The config block listens on a fixed port: move it where concurrent runs cannot collide.
        SLOTWISE_METRICS__LISTEN: '127.0.0.1:0',
      },
    });
    const output = `--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`;
    const checked = JSON.parse(/^README_CHECKS (.*)$/m.exec(result.stdout)?.[1] ?? '[]') as CheckResult[];
    expect(result.code, output).toBe(0);
    expect(
      checked.filter((c) => !c.ok),
      output,
    ).toEqual([]);
    // Every `// =>` ran (a check in a function nobody called would prove nothing).
    expect([...new Set(checked.map((c) => c.line))].sort(), output).toEqual([...checks].sort());
  });
});
