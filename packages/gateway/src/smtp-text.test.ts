import { describe, expect, it } from 'vitest';
import { SmtpDataEncoder, xtext } from './smtp-text.js';

/** The whole DATA section of a mail, encoded in one chunk. */
function toSmtpData(raw: Buffer): Buffer {
  const encoder = new SmtpDataEncoder();
  return Buffer.concat([encoder.encode(raw), encoder.end()]);
}

const data = (s: string) => toSmtpData(Buffer.from(s, 'latin1')).toString('latin1');

/** The obvious (slow) definition, to check the fast one against. */
function reference(s: string): string {
  if (s === '') return '.\r\n';
  const body = s.replace(/\r\n|\r|\n/g, '\r\n').replace(/^\./gm, '..');
  return `${body}${body.endsWith('\r\n') ? '' : '\r\n'}.\r\n`;
}

describe('toSmtpData', () => {
  it('keeps CRLF text and appends the terminator', () => {
    expect(data('Subject: hi\r\n\r\nbody\r\n')).toBe('Subject: hi\r\n\r\nbody\r\n.\r\n');
  });

  it('turns every bare LF and bare CR into CRLF', () => {
    expect(data('a\nb\rc\r\nd\r\re\n\nf\r')).toBe('a\r\nb\r\nc\r\nd\r\n\r\ne\r\n\r\nf\r\n.\r\n');
    expect(data('\r\r\n\n\r')).toBe('\r\n\r\n\r\n\r\n.\r\n');
  });

  it('dot-stuffs lines starting with a dot, whatever ended the line before', () => {
    expect(data('.a\r\n..b\n.\r.\r\nx.y\r\n.')).toBe('..a\r\n...b\r\n..\r\n..\r\nx.y\r\n..\r\n.\r\n');
  });

  it('cannot be ended early by smuggled <LF>.<CR><LF> or <CR>.<CR>', () => {
    const out = data('a\n.\r\nMAIL FROM:<x@evil>\r\nb\r.\rRCPT TO:<y@evil>\r\n');
    expect(out).toBe('a\r\n..\r\nMAIL FROM:<x@evil>\r\nb\r\n..\r\nRCPT TO:<y@evil>\r\n.\r\n');
    expect(out.indexOf('\r\n.\r\n')).toBe(out.length - 5);
  });

  it('ends the data with CRLF, and an empty message is just the terminator', () => {
    expect(data('no newline')).toBe('no newline\r\n.\r\n');
    expect(data('')).toBe('.\r\n');
    expect(data('\r\n')).toBe('\r\n.\r\n');
  });

  it('grows its buffer for mails made of bare line ends', () => {
    expect(data('\n'.repeat(5000))).toBe(`${'\r\n'.repeat(5000)}.\r\n`);
    expect(data('.\n'.repeat(3000))).toBe(`${'..\r\n'.repeat(3000)}.\r\n`);
  });

  it('matches the obvious definition on random mixes of CR, LF, dots and 8-bit bytes', () => {
    const alphabet = ['a', '.', '\r', '\n', '\xff'];
    let seed = 42;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    for (let round = 0; round < 2000; round++) {
      let s = '';
      for (let len = next() % 40; len > 0; len--) s += alphabet[next() % alphabet.length];
      const out = data(s);
      expect(out, JSON.stringify(s)).toBe(reference(s));
      expect(out).not.toMatch(/\r(?!\n)|(?<!\r)\n/);
    }
  });
});

describe('xtext', () => {
  it('leaves printable ASCII alone', () => {
    expect(xtext('mx.example.org')).toBe('mx.example.org');
    expect(xtext('[UNAVAILABLE]')).toBe('[UNAVAILABLE]');
    expect(xtext('IPv6:2001:db8::1')).toBe('IPv6:2001:db8::1');
  });

  it('encodes +, =, spaces, controls and UTF-8 bytes as +HH', () => {
    expect(xtext('a+b=c d\t')).toBe('a+2Bb+3Dc+20d+09');
    // smtp-server hands decoded xtext over as one character per byte: UTF-8 stays UTF-8.
    expect(xtext(Buffer.from('jörg').toString('latin1'))).toBe('j+C3+B6rg');
    expect(xtext('\x7f~!')).toBe('+7F~!');
  });
});

describe('SmtpDataEncoder', () => {
  it('gives the same bytes however the mail is cut into chunks (CR held across a cut)', () => {
    // Deterministic pseudo-random mails over the bytes that matter: CR, LF, '.', 'a'.
    let seed = 42;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    const alphabet = [0x0d, 0x0a, 0x2e, 0x61];
    for (let round = 0; round < 300; round++) {
      const mail = Buffer.from(Array.from({ length: next() % 40 }, () => alphabet[next() % 4] as number));
      const whole = toSmtpData(mail);
      const encoder = new SmtpDataEncoder();
      const parts: Buffer[] = [];
      for (let at = 0; at < mail.length; ) {
        const len = 1 + (next() % 5);
        parts.push(encoder.encode(mail.subarray(at, at + len)));
        at += len;
      }
      parts.push(encoder.end());
      expect(Buffer.concat(parts).toString('latin1'), JSON.stringify(mail.toString('latin1'))).toBe(
        whole.toString('latin1'),
      );
    }
  });
});
