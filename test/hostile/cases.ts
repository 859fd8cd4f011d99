import { readFileSync } from 'node:fs';
import { hugeHeaderLine, longBodyLine, manyHeaderLines, nestedMultipart } from './generate.js';

/**
 * The hostile-input corpus and what the gateway must do with each case (README.md has the table).
 * No mail is refused for what it holds (the filter never bounces after queue; Postfix's limits
 * rule): each is answered 250 and reinjected, its bytes intact except for the gateway's own header
 * fields, its stripping of forged ones, and line endings made CRLF (no bare CR or LF at Postfix).
 */
export interface MailCase {
  name: string;
  what: string;
  /** The raw mail, as the gateway receives it after the SMTP dot-unstuffing. */
  raw: () => Buffer;
  /** The X-PSF-Status the delivered copy carries. */
  status: RegExp;
}

const file = (name: string) => () => readFileSync(new URL(`./mail/${name}.eml`, import.meta.url));
/** Classified: a verdict came back (which one is the classifier's business, not this corpus'). */
const classified = /^(?:clean|spam); action=(?:accept|tag)$/;
/** Delivered, whether or not the classifier could make sense of it (its failure is its own). */
const checkedOrNot = /^(?:(?:clean|spam); action=(?:accept|tag)|unchecked; reason=classifier-error)$/;
const fromFile = (name: string, what: string): MailCase => ({
  name,
  what,
  raw: file(name),
  status: classified,
});

export const MAIL_CASES: MailCase[] = [
  fromFile('bad-boundary', 'multipart whose parts use an undeclared boundary, the declared one never closed'),
  fromFile('unterminated-part', 'multipart cut inside a base64 part, no closing boundary'),
  fromFile('bad-encodings', 'unknown charset, broken quoted-printable'),
  fromFile('no-from-date-message-id', 'no From, Date or Message-ID'),
  fromFile('no-header', 'no header at all: the mail starts with the blank line; header-like body lines'),
  fromFile('header-only', 'headers only: no blank line, no body'),
  fromFile('not-a-mail', 'one line of text, no header syntax at all'),
  fromFile('8bit-headers', 'raw UTF-8 and Latin-1 in From and Subject'),
  fromFile(
    'invalid-utf8-headers',
    'invalid UTF-8 (truncated, overlong, surrogate) in headers and Message-ID',
  ),
  fromFile('nul-bytes', 'NUL bytes in a header and in the body'),
  fromFile('bare-lf', 'every line ends with a bare LF'),
  fromFile('bare-cr', 'every line ends with a bare CR'),
  fromFile('mixed-line-ends', 'header block ended by LF then CRLF; header-like body lines'),
  fromFile('smuggle-lf-dot-crlf', 'SMTP smuggling: <LF>.<CR><LF> then a second transaction'),
  fromFile('smuggle-cr-dot-cr', 'SMTP smuggling: <CR>.<CR> then a second transaction'),
  fromFile('smuggle-cr-dot-crlf', 'SMTP smuggling: <CR>.<CR><LF> then a second transaction'),
  fromFile('spoofed-verdict-folded', 'forged X-Spam-*/X-PSF-* fields, folded: stripped, ours added'),
  {
    name: 'huge-header-line',
    what: 'one header line of 1 MiB, then a forged verdict',
    raw: () => hugeHeaderLine(),
    status: classified,
  },
  {
    name: 'many-header-lines',
    what: '100,000 header lines (1.6 MB of header), then a forged verdict',
    raw: () => manyHeaderLines(),
    status: checkedOrNot,
  },
  { name: 'long-body-line', what: 'a body line of 100 kB', raw: () => longBodyLine(), status: classified },
  {
    name: 'nested-multipart',
    what: 'multipart nested 1,000 levels deep',
    raw: () => nestedMultipart(),
    status: checkedOrNot,
  },
];

/** Session-level cases: what a client or a classifier does, and the reply the gateway must give. */
export interface SessionCase {
  name: string;
  what: string;
  expect: string;
}

export const SESSION_CASES: SessionCase[] = [
  { name: '50-mb-mail', what: 'a 50 MB mail, streamed', expect: '250, delivered byte for byte, spooled' },
  { name: '1000-recipients', what: '1,000 RCPT TO in one transaction', expect: '250, one copy to all' },
  {
    name: 'pipelined-flood',
    what: 'thousands of NOOP, RSET, RCPT written at once',
    expect: 'one reply per command, in order; next mail 250',
  },
  {
    name: 'slowloris',
    what: 'one byte per interval longer than the idle timeout',
    expect: '421 and closed; other sessions served meanwhile',
  },
  {
    name: 'session-limit',
    what: 'more sessions than maxSessions, each dribbling bytes',
    expect: '421 to the extra one; served again once they go',
  },
  {
    name: 'unknown-xforward',
    what: 'XFORWARD with an attribute Postfix never sends',
    expect: '501, session goes on',
  },
  {
    name: 'verdict-not-json',
    what: 'the classifier answers bytes that are not JSON',
    expect: '451 4.3.0 (onTimeout=tempfail) or delivered unchecked; reason=bad-verdict',
  },
  {
    name: 'verdict-wrong-id',
    what: 'the classifier answers with another correlation id',
    expect: '451 4.4.1 after the timeout (tempfail) or delivered unchecked; reason=timeout',
  },
  {
    name: 'verdict-10-mb',
    what: 'a 10 MB verdict',
    expect: '451 4.3.0 (refused unread above 64 KiB) or delivered unchecked; reason=bad-verdict',
  },
];
