import { describe, expect, it } from 'vitest';
import { type JobPayload, signJob, verifyJob } from './job.js';

const payload: JobPayload = {
  runId: 'r-1',
  taskId: 'build',
  attempt: 1,
  commit: '0'.repeat(40),
  file: 'slipway.yml',
  pipelineDigest: 'f'.repeat(64),
  hash: 'abc',
  deps: { gen: 'def', lint: '123' },
  cpu: 1,
  memory: 0,
  queuedAt: 1,
};

describe('signed jobs', () => {
  it('a job signed with the key verifies, whatever the order of its keys', () => {
    const signed = signJob('k', payload);
    const reordered = JSON.parse(
      JSON.stringify({ sig: signed.sig, payload: { ...signed.payload, deps: { lint: '123', gen: 'def' } } }),
    );
    expect(verifyJob('k', reordered)).toEqual({ ok: true, payload });
  });

  it('another key, a changed field, a missing signature or junk is refused', () => {
    const signed = signJob('k', payload);
    expect(verifyJob('other', signed)).toMatchObject({
      ok: false,
      why: expect.stringMatching(/bad signature/),
    });
    expect(verifyJob('k', { ...signed, payload: { ...payload, taskId: 'deploy' } })).toMatchObject({
      ok: false,
    });
    expect(
      verifyJob('k', { ...signed, payload: { ...payload, deps: { ...payload.deps, x: 'y' } } }),
    ).toMatchObject({
      ok: false,
    });
    expect(verifyJob('k', { payload })).toMatchObject({ ok: false, why: expect.stringMatching(/unsigned/) });
    expect(verifyJob('k', { payload: { ...payload, command: 'rm -rf /' }, sig: signed.sig })).toMatchObject({
      ok: false,
    });
    expect(verifyJob('k', 'junk')).toMatchObject({ ok: false });
  });
});
