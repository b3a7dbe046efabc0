import type { Context } from '@temporalio/activity';
import { defaultPayloadConverter } from '@temporalio/common';
import { describe, expect, it, vi } from 'vitest';

type ResumeStateModule = typeof import('../../src/activities/resume-state.js');

/** A second, independent instance of the module, as the other build (ESM / CommonJS) of the package would load it. */
async function freshCopy(): Promise<ResumeStateModule> {
  vi.resetModules();
  return import('../../src/activities/resume-state.js');
}

describe('resume state of evictable calls', () => {
  it('resumeStateOf() finds the state recordResumeState() of another copy of the code recorded', async () => {
    const a = await freshCopy();
    const b = await freshCopy();
    expect(a.resumeStateOf).not.toBe(b.resumeStateOf); // really two copies of the code
    const context = {} as Context;
    const state = { evictions: 2, hasCheckpoint: true, checkpoint: { polls: 7 } };
    a.recordResumeState(context, { [a.EVICTABLE_HEADER]: defaultPayloadConverter.toPayload(state)! });
    expect(b.resumeStateOf(context)).toEqual(state);
  });

  it('recordResumeState() ignores a header it cannot read', async () => {
    const a = await freshCopy();
    const context = {} as Context;
    a.recordResumeState(context, { [a.EVICTABLE_HEADER]: defaultPayloadConverter.toPayload('not a state')! });
    expect(a.resumeStateOf(context)).toBeUndefined();
  });
});
