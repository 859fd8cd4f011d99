import { describe, expect, it } from 'vitest';
import { dispose, disposeFailure } from './policy.js';

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
