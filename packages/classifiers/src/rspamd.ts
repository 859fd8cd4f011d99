import { Agent, request } from 'node:http';
import type { Mail, Verdict } from '@psf/client-sdk';
import { PsfError, type VerdictAction } from '@psf/protocol';
import { round1 } from './thresholds.js';

/** The actions rspamd answers with. */
export const RSPAMD_ACTIONS = [
  'no action',
  'greylist',
  'add header',
  'rewrite subject',
  'soft reject',
  'quarantine',
  'discard',
  'reject',
] as const;
export type RspamdAction = (typeof RSPAMD_ACTIONS)[number];

/** What an rspamd action becomes: a psf action, or `error` (the gateway's timeout policy decides). */
export type RspamdMapping = Record<RspamdAction, VerdictAction | 'error'>;

/**
 * The default mapping. greylist asks an SMTP client to come back later: after the queue there is
 * no client to ask, so the mail is accepted (with its score). soft reject means "try again later":
 * the classifier fails on the mail and the gateway applies its `onTimeout` policy (tempfail
 * keeps the mail queued, accept delivers it unchecked), as rspamd's milter would answer 4xx.
 */
export const DEFAULT_RSPAMD_MAPPING: Readonly<RspamdMapping> = {
  'no action': 'accept',
  greylist: 'accept',
  'add header': 'tag',
  'rewrite subject': 'tag',
  'soft reject': 'error',
  quarantine: 'quarantine',
  discard: 'discard',
  reject: 'reject',
};

export interface RspamdOptions {
  /** The normal worker's base URL; default http://127.0.0.1:11333. */
  url?: string;
  /** Give up after this long (also bounded by the mail's deadline). Default 10 s. */
  timeoutMs?: number;
  /** Overrides of the default mapping of rspamd's actions. */
  actions?: Partial<RspamdMapping>;
  /** rspamd's User: header (its settings per user): a name, or a function of the mail. */
  user?: string | ((mail: Mail) => string | undefined);
  /** Sockets kept open to rspamd. Default 16. */
  maxSockets?: number;
}

/** The part of rspamd's /checkv2 answer psf reads. */
export interface RspamdResult {
  score: number;
  required_score: number;
  action: string;
  symbols?: Record<string, { name?: string; score?: number }>;
}

/** Request headers for a mail's envelope, as rspamd's protocol names them (Rcpt once per recipient). */
export function envelopeHeaders(mail: Mail, user?: string): Record<string, string | string[]> {
  const clean = (s: string) => s.replace(/[\r\n]/g, '');
  const e = mail.envelope;
  const h: Record<string, string | string[]> = { 'Content-Type': 'message/rfc822' };
  // rspamd reads an empty From as the null sender only as <>.
  h.From = e.mailFrom === '' ? '<>' : clean(e.mailFrom);
  if (e.rcpt.length > 0) h.Rcpt = e.rcpt.map(clean);
  if (e.clientAddr) h.IP = clean(e.clientAddr);
  if (e.helo) h.Helo = clean(e.helo);
  if (e.clientName) h.Hostname = clean(e.clientName);
  if (e.queueId) h['Queue-Id'] = clean(e.queueId);
  if (user) h.User = clean(user);
  return h;
}

/** POSTs the mail to /checkv2; failures are PsfError CLASSIFIER_FAILED. */
function check(
  url: URL,
  agent: Agent,
  raw: Buffer,
  headers: Record<string, string | string[]>,
  timeoutMs: number,
): Promise<RspamdResult> {
  const where = `rspamd at ${url.origin}`;
  // node:http rather than fetch: fetch joins repeated headers into one, rspamd wants one Rcpt each.
  return new Promise((resolve, reject) => {
    const fail = (message: string, cause?: unknown) =>
      reject(new PsfError('CLASSIFIER_FAILED', `${where}: ${message}`, { cause }));
    const req = request(
      new URL('checkv2', url),
      { method: 'POST', agent, headers: { ...headers, 'Content-Length': raw.length } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (b: Buffer) => chunks.push(b));
        res.on('error', (err) => fail(err.message, err));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) return fail(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
          try {
            const json = JSON.parse(text) as RspamdResult;
            if (typeof json.score !== 'number' || typeof json.action !== 'string')
              throw new Error('no score or action');
            resolve(json);
          } catch (err) {
            fail(`unreadable answer: ${(err as Error).message}`, err);
          }
        });
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      fail(`no answer within ${timeoutMs} ms`);
    }, timeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      fail(err.code === 'ECONNREFUSED' ? 'unreachable (connection refused)' : err.message, err);
    });
    req.end(raw);
  });
}

/** The verdict for rspamd's answer under a mapping: its score, its symbols (strongest first) as reasons. */
export function rspamdVerdict(result: RspamdResult, mapping: Readonly<RspamdMapping>): Verdict {
  const mapped = mapping[result.action as RspamdAction];
  if (mapped === undefined)
    throw new PsfError('CLASSIFIER_FAILED', `rspamd answered unknown action ${result.action}`);
  if (mapped === 'error') throw new PsfError('CLASSIFIER_FAILED', `rspamd answered ${result.action}`);
  const reasons = Object.entries(result.symbols ?? {})
    .map(([name, s]) => ({ name, score: s.score ?? 0 }))
    .sort((a, b) => Math.abs(b.score) - Math.abs(a.score) || a.name.localeCompare(b.name))
    .slice(0, 50)
    .map((s) => s.name);
  return { v: 1, action: mapped, score: round1(result.score), spam: mapped !== 'accept', reasons };
}

/**
 * A classifier that asks rspamd's scan API (POST /checkv2 on the normal worker), passing the
 * envelope (From, Rcpt, IP, Helo, Hostname, Queue-Id, User). rspamd's action becomes the psf
 * action (DEFAULT_RSPAMD_MAPPING); its score and symbols are passed on. Unreachable, slow or an
 * error status: PsfError CLASSIFIER_FAILED (the gateway's timeout policy applies).
 */
export function createRspamdClassifier(options: RspamdOptions = {}): ((mail: Mail) => Promise<Verdict>) & {
  close(): void;
} {
  const base = new URL(options.url ?? 'http://127.0.0.1:11333');
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  const mapping = { ...DEFAULT_RSPAMD_MAPPING, ...options.actions };
  const timeoutMs = options.timeoutMs ?? 10_000;
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 16 });
  const classify = async (mail: Mail) => {
    const user = typeof options.user === 'function' ? options.user(mail) : options.user;
    const left = Math.min(timeoutMs, Math.max(1, mail.deadline - Date.now()));
    return rspamdVerdict(await check(base, agent, mail.raw, envelopeHeaders(mail, user), left), mapping);
  };
  return Object.assign(classify, { close: () => agent.destroy() });
}
