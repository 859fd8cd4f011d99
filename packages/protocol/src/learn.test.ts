import { describe, expect, it } from 'vitest';
import { isPsfError, type PsfErrorCode } from './errors.js';
import {
  decodeLearnRequest,
  decodeLearnResult,
  encodeLearnRequest,
  encodeLearnResult,
  type LearnRequest,
  MAX_LEARN_BYTES,
} from './learn.js';
import { CLASSIFIER_ERROR_TYPE, LEARN_REQUEST_TYPE, LEARN_RESULT_TYPE, LearnHeader } from './names.js';
import { encodeClassifierError } from './verdict.js';
import type { WireMessage } from './wire.js';

const request: LearnRequest = {
  id: 'l-1',
  label: 'spam',
  owner: 'alice@example.org',
  mail: Buffer.from('Subject: garden club news\r\n\r\nroses and tulips\r\n'),
};

function codeOf(run: () => unknown): PsfErrorCode | undefined {
  try {
    run();
  } catch (err) {
    if (isPsfError(err)) return err.code;
    throw err;
  }
  return undefined;
}

describe('learn request', () => {
  it('round-trips: raw bytes as body, label and owner as headers', () => {
    const wire = encodeLearnRequest(request);
    expect(wire.properties).toMatchObject({
      type: LEARN_REQUEST_TYPE,
      contentType: 'message/rfc822',
      correlationId: 'l-1',
      headers: { [LearnHeader.label]: 'spam', [LearnHeader.owner]: 'alice@example.org' },
    });
    expect(wire.content).toBe(request.mail);
    expect(decodeLearnRequest(wire)).toEqual(request);
  });

  it('leaves the owner out when none is given', () => {
    const wire = encodeLearnRequest({ ...request, label: 'ham', owner: undefined });
    expect(wire.properties.headers).toEqual({ [LearnHeader.label]: 'ham' });
    expect(decodeLearnRequest(wire)).toEqual({ id: 'l-1', label: 'ham', mail: request.mail });
  });

  it('refuses to encode a bad label, a bad owner, an empty or oversized mail with BAD_REQUEST', () => {
    expect(codeOf(() => encodeLearnRequest({ ...request, label: 'maybe' as 'spam' }))).toBe('BAD_REQUEST');
    expect(codeOf(() => encodeLearnRequest({ ...request, owner: 'a b' }))).toBe('BAD_REQUEST');
    expect(codeOf(() => encodeLearnRequest({ ...request, mail: Buffer.alloc(0) }))).toBe('BAD_REQUEST');
    const big = Buffer.alloc(MAX_LEARN_BYTES + 1, 0x61);
    expect(codeOf(() => encodeLearnRequest({ ...request, mail: big }))).toBe('BAD_REQUEST');
    expect(codeOf(() => encodeLearnRequest({ ...request, mail: big.subarray(1) }))).toBeUndefined();
  });

  it('refuses to decode a wrong type, a missing id, bad headers and oversized mail, naming the problem', () => {
    const wire = encodeLearnRequest(request);
    const headers = wire.properties.headers;
    const cases: [WireMessage, RegExp][] = [
      [{ ...wire, properties: { ...wire.properties, type: 'psf.scan.v1' } }, /not a learn request/],
      [{ ...wire, properties: { ...wire.properties, correlationId: '' } }, /correlation id/],
      [
        { ...wire, properties: { ...wire.properties, headers: { ...headers, [LearnHeader.label]: 'eggs' } } },
        /psf-learn-label/,
      ],
      [
        { ...wire, properties: { ...wire.properties, headers: { ...headers, [LearnHeader.owner]: 'a\nb' } } },
        /psf-owner/,
      ],
      [{ ...wire, properties: { ...wire.properties, headers: undefined } }, /psf-learn-label/],
      [{ ...wire, content: Buffer.alloc(MAX_LEARN_BYTES + 1) }, /exceeds/],
      [{ ...wire, content: Buffer.alloc(0) }, /without a mail/],
    ];
    for (const [msg, why] of cases) {
      expect(() => decodeLearnRequest(msg)).toThrow(why);
      expect(codeOf(() => decodeLearnRequest(msg))).toBe('BAD_REQUEST');
    }
  });
});

describe('learn result', () => {
  it('round-trips what learning did, including a composite member that failed', () => {
    const result = {
      v: 1 as const,
      label: 'spam' as const,
      owner: 'alice@example.org',
      members: {
        bayes: { times: 2, before: 0.2, after: 0.995 },
        other: { error: 'spool full' },
      },
    };
    const wire = encodeLearnResult(result, 'l-1');
    expect(wire.properties).toEqual({
      contentType: 'application/json',
      type: LEARN_RESULT_TYPE,
      correlationId: 'l-1',
    });
    expect(decodeLearnResult(wire)).toEqual(result);
  });

  it('refuses to encode an outcome off the schema (a spamicity above 1)', () => {
    expect(codeOf(() => encodeLearnResult({ v: 1, label: 'ham', after: 1.5 }, 'l-2'))).toBe('BAD_VERDICT');
  });

  it("turns the classifier's error reply into CLASSIFIER_FAILED with its text", () => {
    const wire = encodeClassifierError('this classifier does not learn', 'l-3');
    expect(wire.properties.type).toBe(CLASSIFIER_ERROR_TYPE);
    expect(() => decodeLearnResult(wire)).toThrow('this classifier does not learn');
    expect(codeOf(() => decodeLearnResult(wire))).toBe('CLASSIFIER_FAILED');
  });

  it('refuses non-JSON, wrong types, unknown versions and oversized replies with BAD_VERDICT', () => {
    const props = { type: LEARN_RESULT_TYPE, correlationId: 'x' };
    const cases: WireMessage[] = [
      { content: Buffer.from('not json'), properties: props },
      { content: Buffer.from('{"v":1,"label":"spam"}'), properties: { ...props, type: 'psf.verdict.v1' } },
      { content: Buffer.from('{"v":2,"label":"spam"}'), properties: props },
      { content: Buffer.alloc(70_000, 0x20), properties: props },
    ];
    for (const msg of cases) expect(codeOf(() => decodeLearnResult(msg))).toBe('BAD_VERDICT');
  });
});
