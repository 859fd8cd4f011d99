import type { Mail, Verdict } from '@psf/client-sdk';
import { parseReply, tcpExchange } from './tcp-exchange.js';

/** The score of an infected mail: beyond any spam threshold, as a virus is no matter of degree. */
export const INFECTED_SCORE = 100;

export interface ClamavOptions {
  /** clamd's TCP address (`TCPSocket`, `TCPAddr` in clamd.conf); default 127.0.0.1:3310. */
  host?: string;
  port?: number;
  /** Give up on clamd after this long (also bounded by the mail's deadline). Default 30 s. */
  timeoutMs?: number;
  /** What an infected mail gets. Default `quarantine` (amavisd's default keeps a copy too). */
  action?: 'tag' | 'quarantine' | 'discard' | 'reject';
}

/** What clamd said of one stream: clean, or the name of what it found. */
export type ClamdResult = { infected: false } | { infected: true; name: string };

/** clamd's streams go in chunks of at most this, each after its length (INSTREAM). */
const CHUNK_BYTES = 64 * 1024;
/** A reply is one line ("stream: OK"): a longer one is an error, not a buffer. */
const MAX_REPLY_BYTES = 4096;

/**
 * Scans `raw` with clamd's INSTREAM command over TCP (null-terminated, `z` form: a 4-byte length
 * before each chunk, a zero length at the end). Failures, clamd's own errors included (`INSTREAM
 * size limit exceeded`: clamd.conf's StreamMaxLength), are PsfError CLASSIFIER_FAILED.
 */
export async function askClamd(
  raw: Buffer,
  opts: { host: string; port: number; timeoutMs: number },
): Promise<ClamdResult> {
  const parts: Buffer[] = [Buffer.from('zINSTREAM\0')];
  for (let at = 0; at < raw.length; at += CHUNK_BYTES) {
    const chunk = raw.subarray(at, at + CHUNK_BYTES);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(chunk.length);
    parts.push(length, chunk);
  }
  parts.push(Buffer.alloc(4));
  const exchange = { host: opts.host, port: opts.port, daemon: 'clamd' };
  const reply = await tcpExchange({
    ...exchange,
    request: Buffer.concat(parts),
    timeoutMs: opts.timeoutMs,
    maxReplyBytes: MAX_REPLY_BYTES,
    complete: (chunk) => chunk.includes(0), // the reply's terminator
  });
  return parseReply(exchange, () => parseClamdReply(reply.toString('utf8')));
}

/** Reads `stream: OK` or `stream: <name> FOUND`; anything else (`... ERROR`, nothing) throws. */
export function parseClamdReply(text: string): ClamdResult {
  const line = text.replace(/\0.*$/s, '').trim();
  if (line === 'stream: OK') return { infected: false };
  const found = /^stream: (.+) FOUND$/.exec(line);
  if (found?.[1]) return { infected: true, name: found[1] };
  throw new Error(line ? `clamd says ${JSON.stringify(line.slice(0, 200))}` : 'clamd closed without a reply');
}

/**
 * A classifier that asks ClamAV's clamd, as amavisd-new does: an infected mail gets `action`
 * (default quarantine) with score 100 and the reason `VIRUS:<name>`; a clean one is accepted with
 * score 0 (and the reason `CLAMAV_PARTIAL` when the gateway sent only the mail's first part:
 * raise its maxScanBytes to have whole mails scanned). clamd unreachable, slow or failing: PsfError
 * CLASSIFIER_FAILED, so the gateway's timeout policy applies (or a composite skips it and says so).
 */
export function createClamavClassifier(options: ClamavOptions = {}): (mail: Mail) => Promise<Verdict> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 3310;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const action = options.action ?? 'quarantine';
  return async (mail) => {
    const left = Math.min(timeoutMs, Math.max(1, mail.deadline - Date.now()));
    const result = await askClamd(mail.raw, { host, port, timeoutMs: left });
    if (result.infected)
      return { v: 1, action, score: INFECTED_SCORE, spam: true, reasons: [`VIRUS:${result.name}`] };
    return {
      v: 1,
      action: 'accept',
      score: 0,
      spam: false,
      reasons: mail.truncated ? ['CLAMAV_PARTIAL'] : [],
    };
  };
}
