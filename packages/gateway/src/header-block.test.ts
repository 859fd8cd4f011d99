import { describe, expect, it } from 'vitest';
import { headerEnd, messageId, rewriteHeaders } from './header-block.js';

const mail = (s: string) => Buffer.from(s, 'latin1');

describe('rewriteHeaders', () => {
  it('strips incoming X-PSF-* and X-Spam-* fields with their folded lines and prepends ours', () => {
    const raw = mail(
      'Received: from a\r\n\tby b\r\nX-Spam-Status: No, score=-5\r\n tests=FAKE\r\nSubject: hi\r\n' +
        'x-psf-status: clean\r\nX-Spammy: kept\r\nX-Other: kept\r\n\r\nX-Spam-Flag: body text stays\r\n',
    );
    const out = rewriteHeaders(raw, [['X-PSF-Status', 'spam']]).toString('latin1');
    expect(out).toBe(
      'X-PSF-Status: spam\r\nReceived: from a\r\n\tby b\r\nSubject: hi\r\nX-Spammy: kept\r\nX-Other: kept\r\n\r\n' +
        'X-Spam-Flag: body text stays\r\n',
    );
  });

  it('keeps the body bytes untouched, 8-bit included', () => {
    const body = Buffer.from([0xc3, 0xa9, 0x0d, 0x0a, 0xff, 0x0d, 0x0a]);
    const raw = Buffer.concat([mail('Subject: x\r\n\r\n'), body]);
    const out = rewriteHeaders(raw, []);
    expect(out.subarray(out.length - body.length)).toEqual(body);
    expect(out.equals(raw)).toBe(true);
  });

  it('handles bare-LF mails and mails without a body', () => {
    expect(rewriteHeaders(mail('X-Spam-Flag: YES\nSubject: a\n\nbody\n'), []).toString()).toBe(
      'Subject: a\n\nbody\n',
    );
    expect(rewriteHeaders(mail('Subject: only headers'), [['X-A', '1']]).toString()).toBe(
      'X-A: 1\r\nSubject: only headers\r\n',
    );
  });
});

describe('rewriteHeaders with a subject tag', () => {
  it('prefixes the first Subject once, keeping folded lines and 8-bit text', () => {
    const raw = Buffer.from('From: a\r\nSubject: caf\u00e9\r\n more\r\nSubject: second\r\n\r\nbody', 'utf8');
    expect(rewriteHeaders(raw, [], '[SPAM] ').toString('utf8')).toBe(
      'From: a\r\nSubject: [SPAM] caf\u00e9\r\n more\r\nSubject: second\r\n\r\nbody',
    );
  });

  it('does not tag twice, and leaves mails without a Subject alone', () => {
    const tagged = mail('Subject: [SPAM] old\r\n\r\nb');
    expect(rewriteHeaders(tagged, [], '[SPAM] ').equals(tagged)).toBe(true);
    expect(rewriteHeaders(mail('From: a\r\n\r\nb'), [], '[SPAM] ').toString()).toBe('From: a\r\n\r\nb');
  });
});

describe('headerEnd and messageId', () => {
  it('finds the first blank line, CRLF or LF', () => {
    expect(headerEnd(mail('A: 1\r\n\r\nb'))).toBe(8);
    expect(headerEnd(mail('A: 1\n\nb\r\n\r\n'))).toBe(6);
    expect(headerEnd(mail('A: 1\r\n'))).toBe(-1);
  });

  it('ends the header block at a blank first line, and at LF CRLF (mixed line ends)', () => {
    expect(headerEnd(mail('\r\nX-Spam-Flag: body\r\n\r\nmore'))).toBe(2);
    expect(headerEnd(mail('\nbody'))).toBe(1);
    expect(headerEnd(mail('A: 1\n\r\nX-Spam-Flag: body\r\n\r\n'))).toBe(7);
    // The body's look-alike header lines stay where they are.
    const raw = mail('\r\nX-Spam-Flag: body\r\nSubject: body\r\n');
    expect(rewriteHeaders(raw, [['X-PSF-Status', 'x']], '[SPAM] ').toString('latin1')).toBe(
      `X-PSF-Status: x\r\n${raw.toString('latin1')}`,
    );
  });

  it('reads the Message-ID from the header block only', () => {
    expect(messageId(mail('Subject: x\r\nMessage-ID: <abc@example.org>\r\n\r\n'))).toBe('<abc@example.org>');
    expect(messageId(mail('Subject: x\r\n\r\nMessage-ID: <body@x>\r\n'))).toBeUndefined();
  });
});
