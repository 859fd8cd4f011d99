import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dropOwnedFields, headerEnd, messageId, rewriteHead, rewriteHeaders } from './header-block.js';

const RUNS = { numRuns: 500 };

const anyBytes = fc.uint8Array({ maxLength: 400 }).map((a) => Buffer.from(a));
const OWNED = /^(x-psf-|x-spam-)/i;

/** Header fields, psf-owned ones among them, some folded, with any line ending. */
const field = fc.record({
  name: fc.oneof(
    fc.constantFrom(
      'X-Spam-Flag',
      'x-psf-status',
      'X-SPAM-Status',
      'X-Spammy',
      'Subject',
      'Received',
      'From',
    ),
    fc.stringMatching(/^[!-9;-~]{1,20}$/),
  ),
  value: fc.stringMatching(/^[ -~\x80-\xff]{0,40}$/),
  folds: fc.array(fc.stringMatching(/^[ \t][ -~]{0,20}$/), { maxLength: 2 }),
  eol: fc.constantFrom('\r\n', '\n'),
});
const mail = fc
  .record({ fields: fc.array(field, { maxLength: 12 }), body: anyBytes, eol: fc.constantFrom('\r\n', '\n') })
  .map(({ fields, body, eol }) => {
    const lines = fields.map((f) => `${f.name}: ${f.value}${f.eol}${f.folds.map((c) => c + f.eol).join('')}`);
    return { fields, raw: Buffer.concat([Buffer.from(lines.join('') + eol, 'latin1'), body]) };
  });

describe('header block helpers on arbitrary bytes', () => {
  it('never throw, and headerEnd stays within the mail', () => {
    fc.assert(
      fc.property(anyBytes, fc.boolean(), fc.option(fc.string()), (raw, complete, tag) => {
        const end = headerEnd(raw);
        expect(end === -1 || (end > 0 && end <= raw.length)).toBe(true);
        const { header, consumed } = rewriteHead(
          raw,
          complete,
          [['X-PSF-Status', 'clean']],
          tag ?? undefined,
        );
        expect(consumed).toBeGreaterThanOrEqual(0);
        expect(consumed).toBeLessThanOrEqual(raw.length);
        expect(header.subarray(0, 21).toString()).toBe('X-PSF-Status: clean\r\n');
        const id = messageId(raw);
        if (id !== undefined) expect(id).toMatch(/^<[^>\r\n]{1,250}>$/);
      }),
      RUNS,
    );
  });

  it('leave a mail without psf-owned fields as it is (a final line end added to a header-only mail)', () => {
    fc.assert(
      fc.property(
        anyBytes.filter((b) => !/x-psf-|x-spam-/i.test(b.toString('latin1'))),
        (raw) => {
          const unterminated = headerEnd(raw) === -1 && raw.length > 0 && raw[raw.length - 1] !== 0x0a;
          const expected = unterminated ? Buffer.concat([raw, Buffer.from('\r\n')]) : raw;
          expect(rewriteHeaders(raw, []).equals(expected)).toBe(true);
        },
      ),
      RUNS,
    );
  });

  it('strip every psf-owned field with its folded lines, keep the others and the body as they were', () => {
    fc.assert(
      fc.property(mail, ({ fields, raw }) => {
        const out = rewriteHeaders(raw, [['X-PSF-Status', 'spam']]).toString('latin1');
        const end = headerEnd(raw);
        const body = raw.subarray(end).toString('latin1');
        expect(out.endsWith(body)).toBe(true);
        const kept = fields
          .filter((f) => !OWNED.test(f.name))
          .map((f) => `${f.name}: ${f.value}${f.eol}${f.folds.map((c) => c + f.eol).join('')}`)
          .join('');
        const blank = raw.subarray(end - (raw[end - 2] === 0x0d ? 2 : 1), end).toString('latin1');
        expect(out).toBe(`X-PSF-Status: spam\r\n${kept}${blank}${body}`);
      }),
      RUNS,
    );
  });

  it('rewrite a spooled mail (head in memory, the rest streamed in chunks) as the whole mail', async () => {
    const spooled = mail.chain(({ raw }) =>
      fc.record({
        raw: fc.constant(raw),
        headBytes: fc.nat(raw.length),
        cuts: fc.uniqueArray(fc.nat(raw.length), { maxLength: 6 }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(spooled, async ({ raw, headBytes, cuts }) => {
        const head = raw.subarray(0, headBytes);
        // The subject tag goes only where the head holds the Subject: compare without one.
        const { header, consumed, dropping } = rewriteHead(head, false, [['X-PSF-Status', 'spam']]);
        const at = [consumed, ...cuts.filter((c) => c > consumed).sort((a, b) => a - b), raw.length];
        const chunks = at.slice(1).map((end, i) => raw.subarray(at[i], end));
        const rest: Buffer[] = [];
        const open = headerEnd(head) === -1;
        if (open) for await (const b of dropOwnedFields(Readable.from(chunks), dropping)) rest.push(b);
        else rest.push(...chunks);
        const whole = rewriteHeaders(raw, [['X-PSF-Status', 'spam']]);
        expect(Buffer.concat([header, ...rest]).toString('latin1')).toBe(whole.toString('latin1'));
      }),
      RUNS,
    );
  });
});
