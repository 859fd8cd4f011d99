import type { Mail, Verdict } from '@psf/client-sdk';
import { parseReply, tcpExchange } from './tcp-exchange.js';
import { actionFor, round1, type Thresholds } from './thresholds.js';

/** What spamd is asked: CHECK (score only), SYMBOLS (rule names), REPORT (rules with points). */
export type SpamdCommand = 'CHECK' | 'SYMBOLS' | 'REPORT';

export interface SpamAssassinOptions {
  /** spamd's address; default 127.0.0.1:783. */
  host?: string;
  port?: number;
  /**
   * spamc's User: header, whose preferences spamd applies (per-user required_score, rules...):
   * a name, or a function of the mail (e.g. its first recipient). Default: none (spamd's default user).
   */
  user?: string | ((mail: Mail) => string | undefined);
  /** Default SYMBOLS. */
  command?: SpamdCommand;
  /** Give up on spamd after this long (also bounded by the mail's deadline). Default 10 s. */
  timeoutMs?: number;
  /**
   * Tag threshold: default spamd's own verdict (its required_score, per user); quarantine and
   * reject scores are opt-in.
   */
  thresholds?: Thresholds;
}

/** What spamd answered, parsed. */
export interface SpamdResult {
  spam: boolean;
  score: number;
  required: number;
  /** Rule names (SYMBOLS, REPORT); REPORT adds their points. */
  symbols: { name: string; points?: number }[];
}

const PROTOCOL = 'SPAMC/1.5';
/** A verdict fits in this (REPORT's text is a few KB): a longer answer is an error, not a buffer. */
const MAX_RESPONSE_BYTES = 256 * 1024;

/** One request to spamd over TCP, answered with its parsed result; failures are PsfError CLASSIFIER_FAILED. */
export async function askSpamd(
  raw: Buffer,
  opts: { host: string; port: number; command: SpamdCommand; user?: string | undefined; timeoutMs: number },
): Promise<SpamdResult> {
  const head = [`${opts.command} ${PROTOCOL}`, `Content-length: ${raw.length}`];
  if (opts.user) head.push(`User: ${opts.user.replace(/[\r\n]/g, '')}`);
  // spamd reads Content-length bytes, answers and closes.
  const exchange = { host: opts.host, port: opts.port, daemon: 'spamd' };
  const reply = await tcpExchange({
    ...exchange,
    request: Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`), raw]),
    timeoutMs: opts.timeoutMs,
    maxReplyBytes: MAX_RESPONSE_BYTES,
  });
  return parseReply(exchange, () => parseSpamdResponse(reply.toString('utf8'), opts.command));
}

/**
 * Parses `SPAMD/1.1 0 EX_OK`, its headers (`Spam: True ; 15.3 / 5.0`) and body (SYMBOLS: names
 * separated by commas; REPORT: the "pts rule name" table). Throws on anything else.
 */
export function parseSpamdResponse(text: string, command: SpamdCommand): SpamdResult {
  const split = text.indexOf('\r\n\r\n');
  const head = (split === -1 ? text : text.slice(0, split)).split('\r\n');
  const bodyText = split === -1 ? '' : text.slice(split + 4);
  const status = /^SPAMD\/\d+\.\d+ (\d+) (.*)$/.exec(head[0] ?? '');
  if (!status) throw new Error(`not a spamd answer: ${JSON.stringify((head[0] ?? '').slice(0, 80))}`);
  if (status[1] !== '0') throw new Error(`spamd error ${status[1]} ${status[2]}`);
  const spamLine = head.find((h) => /^Spam\s*:/i.test(h));
  const m = /^Spam\s*:\s*(True|False|Yes|No)\s*;\s*(-?[\d.]+)\s*\/\s*(-?[\d.]+)\s*$/i.exec(spamLine ?? '');
  if (!m) throw new Error(`no Spam: header in spamd's answer`);
  const symbols =
    command === 'SYMBOLS'
      ? bodyText
          .trim()
          .split(',')
          .filter((s) => s !== '')
          .map((name) => ({ name: name.trim() }))
      : command === 'REPORT'
        ? [...bodyText.matchAll(/^\s*(-?\d+(?:\.\d+)?)\s+([A-Z0-9_]+)\s/gm)].map((r) => ({
            name: r[2] ?? '',
            points: Number(r[1]),
          }))
        : [];
  return { spam: /^(true|yes)$/i.test(m[1] ?? ''), score: Number(m[2]), required: Number(m[3]), symbols };
}

/**
 * A classifier that asks SpamAssassin's spamd. `score` is spamd's; the mail is tagged when spamd
 * says spam (or from `thresholds.tag`), quarantined or refused from the opt-in thresholds; the
 * reasons are the rules that hit. spamd unreachable, slow or answering nonsense: PsfError
 * CLASSIFIER_FAILED, which the client-sdk reports to the gateway (its timeout policy applies).
 */
export function createSpamAssassinClassifier(
  options: SpamAssassinOptions = {},
): (mail: Mail) => Promise<Verdict> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 783;
  const command = options.command ?? 'SYMBOLS';
  const timeoutMs = options.timeoutMs ?? 10_000;
  const thresholds = options.thresholds ?? {};
  return async (mail) => {
    const user = typeof options.user === 'function' ? options.user(mail) : options.user;
    const left = Math.min(timeoutMs, Math.max(1, mail.deadline - Date.now()));
    const result = await askSpamd(mail.raw, { host, port, command, user, timeoutMs: left });
    const score = round1(result.score);
    const action = actionFor(score, { ...thresholds, tag: thresholds.tag ?? result.required });
    const reasons = result.symbols
      .slice(0, 50)
      .map((s) => (s.points === undefined ? s.name : `${s.name}=${s.points}`));
    return { v: 1, action, score, spam: action !== 'accept', reasons };
  };
}
