import { describe, expect, it } from 'vitest';
import { installedPackage } from './installed-package.js';

describe('the installed slotwise bin', () => {
  it('`slotwise worker --config` runs a burst through the configured suppliers and exits 0', async () => {
    const pkg = installedPackage();
    const config = pkg.writeFile(
      'cli-worker.yaml',
      ['activity:', '  supplier: { type: fixed, slots: 2, name: acts }', ''].join('\n'),
    );
    const result = await pkg.slotwiseBin([
      'worker',
      '--config',
      config,
      '--task-queue',
      `package-cli-${process.pid}`,
      '--burst',
      '4',
      '--work-ms',
      '50',
      '--once',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('slotwise: activity slots: fixed (name acts, 2 slots)');
    expect(result.stdout).toMatch(/slotwise-burst-\d+ completed 4 activities/);
    expect(result.stdout.trim().split('\n').at(-1)).toBe(
      'slotwise: worker stopped; activity slots issued 0, waiting 0',
    );
  });

  it('`slotwise worker --workflows/--activities` takes paths relative to the current directory', async () => {
    const pkg = installedPackage();
    pkg.writeFile(
      'app/workflows.mjs',
      [
        "import { proxyActivities } from '@temporalio/workflow';",
        "export { fanOutWorkflow } from 'slotwise/examples/workflows';",
        'export async function greet(name) {',
        "  const { hello } = proxyActivities({ startToCloseTimeout: '1 minute' });",
        '  return hello(name);',
        '}',
        '',
      ].join('\n'),
    );
    pkg.writeFile(
      'app/activities.mjs',
      "export async function simulatedWork({ index }) { return index; }\nexport async function hello(name) { return 'hello ' + name; }\n",
    );
    const result = await pkg.slotwiseBin([
      'worker',
      '--workflows',
      'app/workflows.mjs',
      '--activities',
      'app/activities.mjs',
      '--activity-slots',
      '2',
      '--task-queue',
      `package-cli-relative-${process.pid}`,
      '--burst',
      '3',
      '--work-ms',
      '10',
      '--once',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/slotwise-burst-\d+ completed 3 activities/);
  });

  it('`slotwise concurrency status` reaches the server and says why a group has no controller, exit code 1', async () => {
    const group = `package-never-${process.pid}`;
    const result = await installedPackage().slotwiseBin(['concurrency', 'status', group]);
    expect({ code: result.code, stdout: result.stdout, stderr: result.stderr.trim() }).toEqual({
      code: 1,
      stdout: '',
      stderr: `slotwise concurrency: no controller of concurrency group '${group}' answers: it never ran in this namespace; check the group name, its controller.shards and the namespace`,
    });
  });

  it('usage errors name the flag and suggest the one meant, with exit code 2', async () => {
    const pkg = installedPackage();
    const typo = await pkg.slotwiseBin(['worker', '--burts', '3']);
    expect({ code: typo.code, stderr: typo.stderr.trim() }).toEqual({
      code: 2,
      stderr:
        'slotwise worker: unknown option --burts. Did you mean --burst? Run `slotwise worker --help` for usage.',
    });
    const once = await pkg.slotwiseBin(['worker', '--once']);
    expect(once.code).toBe(2);
    expect(once.stderr).toContain('--once exits when the burst completes, so it needs --burst <n>');
    const cancel = await pkg.slotwiseBin(['cancel', '--concurency', '3', '--ids', 'a']);
    expect({ code: cancel.code, stderr: cancel.stderr.trim() }).toEqual({
      code: 2,
      stderr:
        'slotwise cancel: unknown option --concurency. Did you mean --concurrency? Run `slotwise cancel --help` for usage.',
    });
    const command = await pkg.slotwiseBin(['doctr']);
    expect(command.code).toBe(2);
    expect(command.stderr).toContain('slotwise: unknown command "doctr". Did you mean `slotwise doctor`?');
  });

  it('`slotwise validate ... | head` exits 0 without an EPIPE error when the reader is gone', async () => {
    const pkg = installedPackage();
    const config = pkg.writeFile('pipe.yaml', 'activity:\n  supplier: { type: fixed, slots: 2 }\n');
    const result = await pkg.slotwiseBin(['validate', config], { closeStdout: true });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });
});
