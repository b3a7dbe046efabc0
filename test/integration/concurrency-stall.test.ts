import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import { parseHistoryJson, withoutLangFlag } from './history-files.js';

// The controller history of a run of concurrency-crash.test.ts that stalled (3 of 12 runs done after
// 90 s, load ~15), made by the controller before its handlers sent their own commands: its third
// Worker failed every workflow task with "[TMPRL1100] Nondeterminism error: Update machine does not
// handle this event: HistoryEvent(id: 24, SignalExternalWorkflowExecutionInitiated)". In the task of
// events 22-35 the controller's loop sent 3 decision signals and a timer (24-27) before the 4
// acquireBatch updates were accepted (28-31): the SDK ran that activation in two batches (the 12
// request signals, the workflow's code, then the updates), yet its completed event (23) records SDK
// flag 2, which makes a replay run it in one batch (updates accepted before the loop runs). Replayed
// without flag 2 the history replays, which is the proof. The controller no longer depends on the
// batch mode (concurrency-batch-modes.test.ts); a history like this one, made by the old controller,
// stays unreplayable, which the first case records.

Runtime.install({ logger: new DefaultLogger('ERROR') });

const FILE = resolve('test/fixtures/histories/stall/query-then-updates--controller.json');
const replay = (history: ReturnType<typeof parseHistoryJson>) =>
  Worker.runReplayHistory(
    { workflowBundle: { codePath: inject('workflowBundlePath') } },
    history,
    'slotwise-concurrency:stalled',
  );

describe('the controller history of a stalled crash-test run', () => {
  const history = () => parseHistoryJson(JSON.parse(readFileSync(FILE, 'utf8')));

  it('Worker.runReplayHistory() fails on it as recorded: with SDK flag 2 the updates are accepted before the decisions sent in the original task', async () => {
    await expect(replay(history())).rejects.toThrow(
      /Update machine does not handle this event: HistoryEvent\(id: 24, SignalExternalWorkflowExecutionInitiated\)/,
    );
  });

  it('Worker.runReplayHistory() replays it without SDK flag 2: the task ran in two batches', async () => {
    await expect(replay(withoutLangFlag(history(), 2))).resolves.toBeUndefined();
  });
});
