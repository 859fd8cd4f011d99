// Mails the bridge, composite and CLI tests share (excluded from the build: tests only).
import type { Mail } from '@psf/client-sdk';
import type { ScanEnvelope } from '@psf/protocol';
import { rawMail } from './bayes/raw-mail.js';

/** SpamAssassin's and rspamd's Generic Test for Unsolicited Bulk Email. */
export const GTUBE = [
  'Subject: Test spam mail (GTUBE)',
  'Message-ID: <GTUBE1.1010101@example.net>',
  'Date: Wed, 23 Jul 2003 23:30:00 +0200',
  'From: Sender <sender@example.net>',
  'To: Recipient <recipient@example.org>',
  'MIME-Version: 1.0',
  'Content-Type: text/plain; charset=us-ascii',
  '',
  'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X',
  '',
].join('\r\n');

/** An ordinary mail with the headers a real one has. */
export const PLAIN = [
  'Received: from mail.example.net (mail.example.net [192.0.2.10])',
  '\tby mx.example.org (Postfix) with ESMTP id 4ABCD1234',
  '\tfor <bob@example.org>; Mon, 02 Mar 2026 10:00:01 +0000 (UTC)',
  'Date: Mon, 02 Mar 2026 10:00:00 +0000',
  'Message-ID: <20260302100000.1234@mail.example.net>',
  'From: Alice Example <alice@example.net>',
  'To: Bob Example <bob@example.org>',
  'Subject: Lunch tomorrow?',
  'MIME-Version: 1.0',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'Hi Bob,',
  '',
  'shall we meet at noon at the usual place? I will bring the notes from Friday.',
  '',
  'Alice',
  '',
].join('\r\n');

/** A mail with one attachment, base64 as a mail client sends it. */
export const withAttachment = (
  content: string,
  { filename = 'tool.com', contentType = 'application/octet-stream' } = {},
) =>
  [
    'From: Alice Example <alice@example.net>',
    'To: Bob Example <bob@example.org>',
    'Subject: the file you asked for',
    'Date: Mon, 02 Mar 2026 10:00:00 +0000',
    'Message-ID: <20260302100000.5678@mail.example.net>',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Here it is.',
    '--b1',
    `Content-Type: ${contentType}`,
    'Content-Transfer-Encoding: base64',
    `Content-Disposition: attachment; filename="${filename}"`,
    '',
    Buffer.from(content).toString('base64'),
    '--b1--',
    '',
  ].join('\r\n');

export const mailOf = (
  raw: string,
  envelope: ScanEnvelope = { mailFrom: 'sender@example.net', rcpt: ['bob@example.org'] },
  deadline = Date.now() + 30_000,
): Mail => ({ ...rawMail(Buffer.from(raw), envelope), deadline });
