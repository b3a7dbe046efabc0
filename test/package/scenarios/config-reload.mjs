// Hot reload from the installed package: a config mounted the way the kubelet mounts a ConfigMap
// (slotwise.yaml -> ..data/slotwise.yaml, ..data -> a revision directory) is updated by swapping
// ..data; the watcher applies the new slots. Then a FIFO put in place of the file is refused and a
// regular file after it is applied again. Also reports the metrics server's default bounds.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const fixed = (slots) => `activity:\n  supplier: { type: fixed, slots: ${slots} }\n`;

function revision(root, name, text, previous) {
  mkdirSync(join(root, name));
  writeFileSync(join(root, name, 'slotwise.yaml'), text);
  symlinkSync(name, join(root, '..data_tmp'));
  renameSync(join(root, '..data_tmp'), join(root, '..data'));
  if (previous === undefined) symlinkSync('..data/slotwise.yaml', join(root, 'slotwise.yaml'));
  else rmSync(join(root, previous), { recursive: true });
}

export default async function configReload({ slotwise }) {
  const root = mkdtempSync(join(tmpdir(), 'slotwise-package-reload-'));
  const events = [];
  let wake;
  const next = async () => {
    // Bounded, so a watcher that misses the change fails the scenario instead of hanging it.
    let timer;
    while (events.length === 0) {
      const woke = await Promise.race([
        new Promise((resolve) => {
          wake = () => resolve(true);
        }),
        new Promise((resolve) => {
          timer = setTimeout(() => resolve(false), 30_000);
        }),
      ]);
      clearTimeout(timer);
      if (!woke) throw new Error('no reload within 30 s');
    }
    return events.shift();
  };
  const silent = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
  revision(root, '..rev1', fixed(1));
  const path = join(root, 'slotwise.yaml');
  const built = slotwise.buildTuner((await slotwise.loadConfig(path, { env: false })).config);
  const watcher = slotwise.watchConfig(path, built, {
    env: false,
    signal: false,
    logger: silent,
    onReload: (result) => {
      events.push({ applied: result.applied });
      wake?.();
    },
    onError: (error) => {
      events.push({ error: `${error.name}: ${error.message.replace(root, '<dir>')}` });
      wake?.();
    },
  });
  try {
    await watcher.ready;
    revision(root, '..rev2', fixed(3), '..rev1');
    const swapped = await next();
    unlinkSync(path);
    execFileSync('mkfifo', [path]);
    const fifo = await next();
    unlinkSync(path);
    writeFileSync(path, fixed(4));
    const back = await next();
    const server = await slotwise.startMetricsServer({ port: 0 });
    const limits = server.limits;
    await server.close();
    return { swapped, fifo, back, capacity: built.suppliers.get('activity').snapshot().capacity, limits };
  } finally {
    watcher.close();
    built.close();
    rmSync(root, { recursive: true, force: true });
  }
}
