import type { Mail } from '@psf/client-sdk';
import type { ScanEnvelope } from '@psf/protocol';
import { type ParsedMail, simpleParser } from 'mailparser';

/**
 * A Mail for bytes read from a file or stdin (training, `check`, benchmarks), parsed as the
 * client-sdk parses the mails it receives. A leading mbox "From " line is dropped.
 */
export function rawMail(bytes: Buffer, envelope: ScanEnvelope = { mailFrom: '', rcpt: [] }): Mail {
  const raw = stripMboxFrom(bytes);
  let parsed: Promise<ParsedMail> | undefined;
  return {
    id: 'local',
    envelope,
    size: raw.length,
    truncated: false,
    deadline: Number.POSITIVE_INFINITY,
    raw,
    parsed() {
      parsed ??= simpleParser(raw, { skipImageLinks: true });
      return parsed;
    },
  };
}

/** Drops the "From sender date" line mbox files and corpora put before the headers. */
export function stripMboxFrom(bytes: Buffer): Buffer {
  if (bytes.subarray(0, 5).toString('latin1') !== 'From ') return bytes;
  const eol = bytes.indexOf(0x0a);
  return eol === -1 ? Buffer.alloc(0) : bytes.subarray(eol + 1);
}
