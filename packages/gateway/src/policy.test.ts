import { describe, expect, it } from 'vitest';
import { dispose, disposeFailure, escalate, policyFor } from './policy.js';

describe('dispose', () => {
  it('writes SpamAssassin-compatible headers for a tag verdict', () => {
    const d = dispose({
      v: 1,
      action: 'tag',
      score: 7.25,
      reasons: ['BAYES_99', 'URIBL'],
      headers: { 'X-Cls': 'r1' },
    });
    expect(d).toEqual({
      kind: 'deliver',
      status: 'spam',
      headers: [
        ['X-PSF-Status', 'spam; action=tag'],
        ['X-PSF-Score', '7.3'],
        ['X-Spam-Flag', 'YES'],
        ['X-Spam-Status', 'Yes, score=7.3 tests=BAYES_99,URIBL'],
        ['X-Cls', 'r1'],
      ],
    });
  });

  it('marks accepted mail clean and discards on discard', () => {
    const d = dispose({ v: 1, action: 'accept', score: -1 });
    expect(d.kind === 'deliver' && d.headers[2]).toEqual(['X-Spam-Flag', 'NO']);
    expect(dispose({ v: 1, action: 'discard' })).toEqual({ kind: 'discard', status: 'discarded' });
  });
});

describe('disposeFailure', () => {
  it('delivers unchecked on timeout, bad verdict and classifier error under onTimeout=accept', () => {
    expect(disposeFailure('TIMEOUT', { onTimeout: 'accept' })).toEqual({
      kind: 'deliver',
      status: 'unchecked:timeout',
      headers: [['X-PSF-Status', 'unchecked; reason=timeout']],
    });
    expect(disposeFailure('BAD_VERDICT', {}).status).toBe('unchecked:bad-verdict');
    expect(disposeFailure('CLASSIFIER_FAILED', {}).status).toBe('unchecked:classifier-error');
  });

  it('tempfails on timeout under onTimeout=tempfail, and always on broker failures', () => {
    expect(disposeFailure('TIMEOUT', { onTimeout: 'tempfail' }).kind).toBe('tempfail');
    expect(disposeFailure('BROKER_UNAVAILABLE', { onTimeout: 'accept' }).kind).toBe('tempfail');
    expect(disposeFailure('PUBLISH_REFUSED', { onTimeout: 'accept' }).kind).toBe('tempfail');
  });
});

describe('owner policies', () => {
  const map = {
    default: { tagAbove: 5, subjectTag: '[SPAM] ' },
    owners: { alice: { rejectAbove: 12, subjectTag: '' } },
  };

  it('merges an owner policy over the default', () => {
    expect(policyFor(map, 'alice')).toEqual({ tagAbove: 5, rejectAbove: 12, subjectTag: '' });
    expect(policyFor(map, 'bob')).toEqual(map.default);
    expect(policyFor(undefined, 'bob')).toEqual({});
  });

  it('makes a verdict stricter by score, never milder', () => {
    const p = { tagAbove: 5, quarantineAbove: 10, rejectAbove: 15 };
    expect(escalate({ v: 1, action: 'accept', score: 6 }, p).action).toBe('tag');
    expect(escalate({ v: 1, action: 'tag', score: 11 }, p).action).toBe('quarantine');
    expect(escalate({ v: 1, action: 'accept', score: 20 }, p).action).toBe('reject');
    expect(escalate({ v: 1, action: 'discard', score: 0 }, p).action).toBe('discard');
    expect(escalate({ v: 1, action: 'accept' }, p).action).toBe('accept'); // no score, nothing to compare
  });

  it('tags the subject of spam only, and can leave the headers out', () => {
    const spam = dispose({ v: 1, action: 'tag', score: 9 }, {}, { subjectTag: '[SPAM] ', headers: false });
    expect(spam).toMatchObject({ kind: 'deliver', headers: [], subjectTag: '[SPAM] ' });
    const ham = dispose({ v: 1, action: 'accept', score: 0 }, {}, { subjectTag: '[SPAM] ' });
    expect(ham).not.toHaveProperty('subjectTag');
  });
});
