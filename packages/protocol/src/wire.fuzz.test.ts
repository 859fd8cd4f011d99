import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PsfError } from './errors.js';
import { decodeLearnRequest, decodeLearnResult } from './learn.js';
import {
  CLASSIFIER_ERROR_TYPE,
  LEARN_REQUEST_TYPE,
  LEARN_RESULT_TYPE,
  LearnHeader,
  QUARANTINED_TYPE,
  QuarantineHeader,
  RequestHeader,
  SCAN_REQUEST_TYPE,
  VERDICT_TYPE,
} from './names.js';
import { decodeQuarantined, encodeQuarantined, type QuarantinedMail } from './quarantined.js';
import { decodeScanRequest, encodeScanRequest, type ScanRequest } from './scan-request.js';
import { decodeReply, encodeVerdict, MAX_REPLY_BYTES, VERDICT_ACTIONS, type Verdict } from './verdict.js';
import type { WireMessage } from './wire.js';

// Whatever arrives off the wire, a decoder answers with a value or a PsfError: anything else would
// escape the gateway's reply map (or a classifier's ack logic) as an untyped crash.
const RUNS = { numRuns: 300 };

/** Runs `fn`; fails the property when it throws anything but a PsfError. */
function onlyPsfError(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof PsfError)) throw new Error(`threw ${String(err)} instead of a PsfError`);
  }
}

const bytes = fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.from(a));
/** What an AMQP field table can hold, as amqplib decodes it. */
const fieldValue = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string(),
    fc.integer(),
    fc.double(),
    fc.bigInt(),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    bytes,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string(), tie('value'), { maxKeys: 4 }),
  ),
})).value;
/** Headers that mostly use psf's names, so the schema gets past its first checks. */
const headers = (names: readonly string[]) =>
  fc.dictionary(fc.oneof(fc.constantFrom(...names), fc.string()), fieldValue, { maxKeys: 12 });
const optionalText = fc.option(fc.string({ minLength: 1 }), { nil: undefined });
/** JSON of anything, and near-verdicts (right shape, wrong values). */
const json = fc.oneof(
  fc.json(),
  fc
    .record(
      {
        v: fc.oneof(fc.constant(1), fc.jsonValue()),
        action: fc.oneof(fc.constantFrom(...VERDICT_ACTIONS), fc.string()),
        score: fc.jsonValue(),
        spam: fc.jsonValue(),
        reasons: fc.jsonValue(),
        headers: fc.oneof(fc.dictionary(fc.string(), fc.string()), fc.jsonValue()),
        error: fc.jsonValue(),
      },
      { requiredKeys: [] },
    )
    .map((o) => JSON.stringify(o)),
);

const verdict: fc.Arbitrary<Verdict> = fc.record(
  {
    v: fc.constant(1 as const),
    action: fc.constantFrom(...VERDICT_ACTIONS),
    score: fc.double({ noNaN: true, noDefaultInfinity: true }),
    spam: fc.boolean(),
    reasons: fc.array(
      fc.string({ maxLength: 200 }).filter((r) => !/[\r\n\0]/.test(r)),
      { maxLength: 50 },
    ),
    headers: fc.dictionary(
      fc.stringMatching(/^X-[A-Za-z0-9][A-Za-z0-9-]{0,75}$/).filter((n) => !/^x-psf-/i.test(n)),
      fc.string({ maxLength: 900 }).filter((v) => !/[\r\n\0]/.test(v)),
      { maxKeys: 5 },
    ),
  },
  { requiredKeys: ['v', 'action'] },
);

/** `decode` on any bytes with any type (often `type`), correlation id and headers (often `names`). */
function decodesAnyRequest(decode: (msg: WireMessage) => unknown, type: string, names: readonly string[]) {
  fc.assert(
    fc.property(
      bytes,
      fc.option(fc.oneof(fc.constant(type), fc.string())),
      fc.option(fc.string()),
      fc.option(headers(names)),
      (content, t, correlationId, h) =>
        onlyPsfError(() =>
          decode({
            content,
            properties: {
              type: t ?? undefined,
              correlationId: correlationId ?? undefined,
              headers: h ?? undefined,
            },
          }),
        ),
    ),
    RUNS,
  );
}

describe('decoders never throw anything but PsfError', () => {
  it('decodeScanRequest, on any properties and headers', () => {
    decodesAnyRequest(decodeScanRequest, SCAN_REQUEST_TYPE, Object.values(RequestHeader));
  });

  it('decodeReply, on any bytes and any JSON, as a verdict or an error reply', () => {
    const content = fc.oneof(
      bytes,
      json.map((s) => Buffer.from(s)),
    );
    const type = fc.oneof(fc.constantFrom(VERDICT_TYPE, CLASSIFIER_ERROR_TYPE), fc.string());
    fc.assert(
      fc.property(content, type, (c, t) =>
        onlyPsfError(() => decodeReply({ content: c, properties: { type: t } })),
      ),
      RUNS,
    );
  });

  it('decodeReply, on deeply nested JSON just under the size limit', () => {
    // JSON.parse and the schema must not overflow the stack on a hostile nesting depth.
    const depth = MAX_REPLY_BYTES / 2 - 2;
    for (const open of ['[', '{"a":']) {
      const close = open === '[' ? ']' : '}';
      const body = `${open.repeat(depth / open.length)}1${close.repeat(depth / open.length)}`;
      expect(() => decodeReply({ content: Buffer.from(body), properties: { type: VERDICT_TYPE } })).toThrow(
        PsfError,
      );
    }
  });

  it('decodeLearnRequest, on any properties and headers', () => {
    decodesAnyRequest(decodeLearnRequest, LEARN_REQUEST_TYPE, Object.values(LearnHeader));
  });

  it('decodeLearnResult, on any bytes and any JSON, as a result or an error reply', () => {
    const content = fc.oneof(
      bytes,
      json.map((s) => Buffer.from(s)),
      fc.json().map((s) => Buffer.from(`{"v":1,"label":"spam","members":${s}}`)),
    );
    const type = fc.oneof(fc.constantFrom(LEARN_RESULT_TYPE, CLASSIFIER_ERROR_TYPE), fc.string());
    fc.assert(
      fc.property(content, type, (c, t) =>
        onlyPsfError(() => decodeLearnResult({ content: c, properties: { type: t } })),
      ),
      RUNS,
    );
  });

  it('decodeQuarantined, on any properties and headers', () => {
    const names = [...Object.values(QuarantineHeader), RequestHeader.mailFrom, RequestHeader.rcpt];
    const verdictText = fc.oneof(json, fc.string());
    fc.assert(
      fc.property(
        bytes,
        fc.option(fc.oneof(fc.constant(QUARANTINED_TYPE), fc.string())),
        fc.option(fc.oneof(fc.string(), fieldValue)),
        fc.option(headers(names)),
        verdictText,
        (content, type, messageId, h, v) =>
          onlyPsfError(() =>
            decodeQuarantined({
              content,
              properties: {
                type: type ?? undefined,
                messageId: messageId ?? undefined,
                headers: h ? { ...h, [QuarantineHeader.verdict]: v } : undefined,
              },
            }),
          ),
      ),
      RUNS,
    );
  });
});

describe('round trips are identities for valid values', () => {
  it('encodeScanRequest -> decodeScanRequest', () => {
    const request: fc.Arbitrary<ScanRequest> = fc.record({
      id: fc.string({ minLength: 1 }),
      envelope: fc.record({
        mailFrom: fc.string(),
        rcpt: fc.array(fc.string({ minLength: 1 }), { minLength: 1, maxLength: 5 }),
        clientAddr: optionalText,
        clientName: optionalText,
        helo: optionalText,
        queueId: optionalText,
      }),
      size: fc.nat(),
      truncated: fc.boolean(),
      deadline: fc.nat(),
      mail: bytes,
    });
    fc.assert(
      fc.property(request, (r) => {
        expect(decodeScanRequest(encodeScanRequest(r))).toEqual(r);
      }),
      RUNS,
    );
  });

  it('encodeVerdict -> decodeReply', () => {
    fc.assert(
      fc.property(verdict, fc.string(), (v, id) => {
        const wire = encodeVerdict(v, id);
        expect(wire.properties.correlationId).toBe(id);
        // JSON has no -0: it comes back as 0.
        expect(decodeReply(wire)).toEqual(Object.is(v.score, -0) ? { ...v, score: 0 } : v);
      }),
      RUNS,
    );
  });

  it('encodeQuarantined -> decodeQuarantined', () => {
    const quarantined: fc.Arbitrary<QuarantinedMail> = fc.record({
      id: fc.string(),
      owner: fc.string(),
      mailFrom: fc.string(),
      rcpt: fc.array(fc.string(), { minLength: 1, maxLength: 5 }),
      verdict: verdict.filter((v) => !Object.is(v.score, -0)),
      quarantinedAt: fc.nat(),
      clientAddr: optionalText,
      helo: optionalText,
      queueId: optionalText,
      dsn: fc.option(
        fc.record(
          {
            ret: fc.constantFrom('FULL', 'HDRS'),
            envid: fc.string({ maxLength: 100 }),
            rcpt: fc.dictionary(
              fc.string(),
              fc.record(
                {
                  notify: fc.array(fc.constantFrom('NEVER', 'SUCCESS', 'FAILURE', 'DELAY'), { maxLength: 4 }),
                  orcpt: fc.string({ maxLength: 100 }),
                },
                { requiredKeys: [] },
              ),
              { maxKeys: 3 },
            ),
          },
          { requiredKeys: [] },
        ),
        { nil: undefined },
      ),
      mail: bytes,
    });
    fc.assert(
      fc.property(quarantined, ({ dsn, ...rest }) => {
        // An absent DSN request is left out, not set to undefined.
        const q = dsn ? { ...rest, dsn } : rest;
        expect(decodeQuarantined(encodeQuarantined(q))).toEqual(q);
      }),
      RUNS,
    );
  });
});
