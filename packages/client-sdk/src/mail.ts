import type { LearnRequest, ScanEnvelope, ScanRequest } from '@psf/protocol';
import { type ParsedMail, simpleParser } from 'mailparser';

/** One mail to classify, as a handler sees it. */
export interface Mail {
  /** The request id: quote it in logs, it is in the gateway's log line and SMTP reply too. */
  readonly id: string;
  readonly envelope: ScanEnvelope;
  /** Size of the whole mail in bytes. */
  readonly size: number;
  /** True when `raw` is only the first part of the mail (the gateway's maxScanBytes). */
  readonly truncated: boolean;
  /** Epoch ms after which the gateway no longer waits for the verdict. */
  readonly deadline: number;
  /** The raw RFC 5322 bytes as Postfix passed them (CRLF line endings). */
  readonly raw: Buffer;
  /** The mail parsed by mailparser, on first use only (parsing costs more than many rules). */
  parsed(): Promise<ParsedMail>;
}

export function toMail(req: ScanRequest): Mail {
  let parsed: Promise<ParsedMail> | undefined;
  return {
    id: req.id,
    envelope: req.envelope,
    size: req.size,
    truncated: req.truncated,
    deadline: req.deadline,
    raw: req.mail,
    parsed() {
      parsed ??= simpleParser(req.mail, { skipImageLinks: true });
      return parsed;
    },
  };
}

/** The mail of a learn request: it comes without envelope and without deadline. */
export function learnMail(req: LearnRequest): Mail {
  return toMail({
    id: req.id,
    envelope: { mailFrom: '', rcpt: [] },
    size: req.mail.length,
    truncated: false,
    deadline: Number.POSITIVE_INFINITY,
    mail: req.mail,
  });
}
