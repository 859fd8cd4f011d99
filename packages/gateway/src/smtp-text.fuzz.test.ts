import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SmtpDataEncoder, xtext } from './smtp-text.js';

const RUNS = { numRuns: 500 };

/** Bytes rich in what matters to SMTP data: CR, LF, dots, NUL, 8-bit. */
const mailBytes = fc
  .array(
    fc.oneof(
      fc.constantFrom(0x0d, 0x0a, 0x2e, 0x00, 0xff),
      fc.constantFrom(...Buffer.from('\r\n.\r\n\n.\r\n\r.\r')),
      fc.integer({ min: 0, max: 255 }),
    ),
    { maxLength: 300 },
  )
  .map((a) => Buffer.from(a));

/** The mail cut into chunks at arbitrary offsets, as a socket or a spool file hands it over. */
const chunked = mailBytes.chain((raw) =>
  fc.uniqueArray(fc.integer({ min: 0, max: raw.length }), { maxLength: 8 }).map((cuts) => {
    const at = [0, ...cuts.sort((a, b) => a - b), raw.length];
    return { raw, chunks: at.slice(1).map((end, i) => raw.subarray(at[i], end)) };
  }),
);

function encode(chunks: Buffer[]): Buffer {
  const encoder = new SmtpDataEncoder();
  return Buffer.concat([...chunks.map((c) => encoder.encode(c)), encoder.end()]);
}

/** What the receiving server makes of a DATA section: terminator removed, dots unstuffed. */
function receive(data: Buffer): string {
  const text = data.toString('latin1');
  const body = text === '.\r\n' ? '' : text.slice(0, -3);
  return body.replace(/^\./gm, '');
}

describe('SmtpDataEncoder on arbitrary bytes', () => {
  it('gives the same bytes however the mail is chunked', () => {
    fc.assert(
      fc.property(chunked, ({ raw, chunks }) => {
        expect(encode(chunks).equals(encode([raw]))).toBe(true);
      }),
      RUNS,
    );
  });

  it('sends no bare CR or LF, and only its own terminator ends the data', () => {
    fc.assert(
      fc.property(chunked, ({ raw, chunks }) => {
        const out = encode(chunks).toString('latin1');
        expect(out).not.toMatch(/\r(?!\n)|(?<!\r)\n/);
        const end = raw.length === 0 ? 0 : out.length - 5;
        expect(out.indexOf(raw.length === 0 ? '.\r\n' : '\r\n.\r\n')).toBe(end);
      }),
      RUNS,
    );
  });

  it('delivers the mail with its line endings made CRLF, nothing else changed', () => {
    fc.assert(
      fc.property(chunked, ({ raw, chunks }) => {
        const normal = raw.toString('latin1').replace(/\r\n|\r|\n/g, '\r\n');
        const expected = normal === '' || normal.endsWith('\r\n') ? normal : `${normal}\r\n`;
        expect(receive(encode(chunks))).toBe(expected);
      }),
      RUNS,
    );
  });
});

describe('xtext', () => {
  it('encodes any byte string to printable ASCII that decodes back to it', () => {
    const decode = (x: string) =>
      x.replace(/\+([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (a) => {
        const value = Buffer.from(a).toString('latin1');
        const x = xtext(value);
        expect(x).toMatch(/^(?:[!-*,-<>-~]|\+[0-9A-F]{2})*$/);
        expect(decode(x)).toBe(value);
      }),
      RUNS,
    );
  });
});
