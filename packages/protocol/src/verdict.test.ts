import { describe, expect, it } from 'vitest';
import { PsfError } from './errors.js';
import { CLASSIFIER_ERROR_TYPE, VERDICT_TYPE } from './names.js';
import { decodeReply, encodeClassifierError, encodeVerdict, MAX_REPLY_BYTES } from './verdict.js';

const reply = (body: unknown, type = VERDICT_TYPE) => ({
  content: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
  properties: { type },
});

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof PsfError ? err.code : 'not a PsfError';
  }
  return undefined;
}

describe('verdict', () => {
  it('round-trips through encodeVerdict and decodeReply', () => {
    const v = { v: 1 as const, action: 'tag' as const, score: 7.5, spam: true, reasons: ['BAYES_99'] };
    expect(decodeReply(encodeVerdict(v, 'id1'))).toEqual(v);
  });

  it('ignores unknown fields', () => {
    expect(decodeReply(reply({ v: 1, action: 'accept', future: { x: 1 } }))).toEqual({
      v: 1,
      action: 'accept',
    });
  });

  it('refuses an unknown version, an unknown action and non-JSON as BAD_VERDICT', () => {
    expect(codeOf(() => decodeReply(reply({ v: 2, action: 'accept' })))).toBe('BAD_VERDICT');
    expect(codeOf(() => decodeReply(reply({ v: 1, action: 'bounce' })))).toBe('BAD_VERDICT');
    expect(codeOf(() => decodeReply(reply('{"v":1,')))).toBe('BAD_VERDICT');
    expect(codeOf(() => decodeReply(reply({ v: 1, action: 'accept', score: 'high' })))).toBe('BAD_VERDICT');
  });

  it('refuses replies over the size limit before parsing them', () => {
    const big = reply(`{"v":1,"action":"accept","pad":"${'x'.repeat(MAX_REPLY_BYTES)}"}`);
    expect(codeOf(() => decodeReply(big))).toBe('BAD_VERDICT');
  });

  it('refuses header injection and psf-owned header names', () => {
    const inj = { v: 1, action: 'accept', headers: { 'X-Note': 'a\r\nBcc: victim@example.org' } };
    expect(codeOf(() => decodeReply(reply(inj)))).toBe('BAD_VERDICT');
    // Reasons end up in X-Spam-Status: the same rule.
    const viaReasons = { v: 1, action: 'tag', reasons: ['BAYES_99\r\nBcc: victim@example.org'] };
    expect(codeOf(() => decodeReply(reply(viaReasons)))).toBe('BAD_VERDICT');
    expect(codeOf(() => decodeReply(reply({ v: 1, action: 'accept', headers: { Subject: 'x' } })))).toBe(
      'BAD_VERDICT',
    );
    expect(
      codeOf(() => decodeReply(reply({ v: 1, action: 'accept', headers: { 'X-PSF-Status': 'clean' } }))),
    ).toBe('BAD_VERDICT');
    expect(
      decodeReply(reply({ v: 1, action: 'accept', headers: { 'X-Classifier': 'rules 1.0' } })).headers,
    ).toEqual({
      'X-Classifier': 'rules 1.0',
    });
  });

  it('turns an error reply into CLASSIFIER_FAILED with its text', () => {
    const msg = encodeClassifierError('model file missing', 'id2');
    expect(msg.properties.type).toBe(CLASSIFIER_ERROR_TYPE);
    expect(() => decodeReply(msg)).toThrow(/model file missing/);
    expect(codeOf(() => decodeReply(msg))).toBe('CLASSIFIER_FAILED');
  });

  it('will not encode an invalid verdict', () => {
    expect(codeOf(() => encodeVerdict({ v: 1, action: 'nope' } as never, 'id'))).toBe('BAD_VERDICT');
  });
});
