import type { AddressObject, ParsedMail } from 'mailparser';

/**
 * Which tokenizer a model was trained with, saved in its file. Raise it whenever tokenize() would
 * make other tokens for the same mail: a model of other tokens must be retrained, not misread.
 */
export const TOKENIZER_VERSION = 1;

/** Text scanned per mail: enough for any real message, bounded for hostile ones. */
const MAX_TEXT_CHARS = 200_000;
/** Distinct tokens kept per mail, in the order found (headers first). */
const MAX_TOKENS = 3_000;
const MIN_WORD = 3;
const MAX_WORD = 40;

// Letters, digits and a few in-word marks ("don't", "e-mail", "$100", "v1.2"); everything else splits.
const WORD = /[\p{L}\p{N}$€£][\p{L}\p{N}$€£'.\-_]*/gu;
const URL_PATTERN = /\b(?:https?|ftp):\/\/[^\s"'<>()[\]{}\\^`|]+/gi;
const MAILTO = /\bmailto:([^\s"'<>?]+)/gi;
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;
const HOSTNAME = /^[a-z0-9-]+(?:\.[a-z0-9-]+)+$/;

/** Header lines whose words are tokens, each under its own prefix. */
const WORD_HEADERS = new Set(['x-mailer', 'user-agent', 'x-mimeole', 'organization', 'x-priority']);

/**
 * Turns a parsed mail into its distinct tokens (a mail counts once per token, as in bogofilter and
 * SpamBayes). Body words are bare; everything else carries a prefix saying where it came from
 * (`subject:`, `from:`, `url:`, `received:`...), so "free" in a subject and in a body are learnt apart.
 */
export function tokenize(mail: ParsedMail): string[] {
  const out = new TokenSet();
  headerTokens(mail, out);
  const text = (mail.text ?? '').slice(0, MAX_TEXT_CHARS);
  words(text, '', out);
  const html = typeof mail.html === 'string' ? mail.html.slice(0, MAX_TEXT_CHARS) : '';
  // HTML tag names and header names were tokens once: they made newsletters (hard ham) look like
  // spam, and cross-validation on the train part caught more spam without them (bench/RESULTS.md).
  if (html) out.add('html:yes');
  urlTokens(`${text}\n${html}`, out);
  for (const a of mail.attachments) {
    out.add(`part:type:${a.contentType.toLowerCase()}`);
    const ext = a.filename?.toLowerCase().match(/\.([a-z0-9]{1,8})$/)?.[1];
    if (ext) out.add(`part:ext:${ext}`);
  }
  return out.list();
}

class TokenSet {
  readonly #set = new Set<string>();
  add(token: string): void {
    if (this.#set.size < MAX_TOKENS) this.#set.add(token);
  }
  list(): string[] {
    return [...this.#set];
  }
}

function words(text: string, prefix: string, out: TokenSet): void {
  for (const m of text.matchAll(WORD)) {
    const w = m[0].replace(/[.'\-_]+$/, '').toLowerCase();
    if (w.length > MAX_WORD) {
      // Long runs (base64 leftovers, hashes, URLs) say something by their length, not their text.
      out.add(`${prefix}skip:${w[0]}:${Math.floor(w.length / 10) * 10}`);
    } else if (w.length >= MIN_WORD) {
      out.add(prefix + w);
    }
  }
}

function headerTokens(mail: ParsedMail, out: TokenSet): void {
  words(mail.subject ?? '', 'subject:', out);
  const subject = mail.subject ?? '';
  if (/[!?]{2,}/.test(subject)) out.add('subject:punct:!!');
  const letters = subject.replace(/[^\p{L}]/gu, '');
  if (letters.length >= 8 && letters === letters.toUpperCase()) out.add('subject:allcaps');
  if (!subject) out.add('subject:none');

  addressTokens('from', mail.from, out);
  addressTokens('reply-to', mail.replyTo, out);
  const to = listOf(mail.to);
  const cc = listOf(mail.cc);
  out.add(`to:count:${bucket(to.length)}`);
  out.add(`cc:count:${bucket(cc.length)}`);
  for (const a of to.slice(0, 20)) addressTokens('to', a, out);

  const msgId = mail.messageId?.match(/@([^>\s]+)/)?.[1];
  out.add(msgId ? `msgid:domain:${msgId.toLowerCase()}` : 'msgid:none');

  for (const { key, line } of mail.headerLines) {
    const value = line.slice(line.indexOf(':') + 1);
    if (key === 'received') receivedTokens(value, out);
    else if (WORD_HEADERS.has(key)) words(value, `${key}:`, out);
    else if (key === 'content-type') {
      const type = value.match(/^\s*([\w.+-]+\/[\w.+-]+)/)?.[1];
      if (type) out.add(`ct:${type.toLowerCase()}`);
      const charset = value.match(/charset\s*=\s*"?([\w.:-]+)/i)?.[1];
      if (charset) out.add(`charset:${charset.toLowerCase()}`);
    } else if (key === 'content-transfer-encoding') out.add(`cte:${value.trim().toLowerCase()}`);
  }
}

function listOf(v: AddressObject | AddressObject[] | undefined): AddressObject['value'] {
  if (!v) return [];
  return (Array.isArray(v) ? v : [v]).flatMap((o) => o.value);
}

function addressTokens(
  prefix: string,
  v: AddressObject | AddressObject['value'][number] | undefined,
  out: TokenSet,
): void {
  const list = v === undefined ? [] : 'value' in v ? v.value : [v];
  if (list.length === 0) {
    out.add(`${prefix}:none`);
    return;
  }
  for (const a of list.slice(0, 5)) {
    const addr = a.address?.toLowerCase();
    if (addr) {
      out.add(`${prefix}:addr:${addr}`);
      const at = addr.lastIndexOf('@');
      if (at > 0) {
        out.add(`${prefix}:local:${addr.slice(0, at)}`);
        domainTokens(`${prefix}:domain:`, addr.slice(at + 1), out);
      }
    }
    words(a.name, `${prefix}:name:`, out);
    if (!a.name) out.add(`${prefix}:noname`);
  }
}

// "from X (Y [1.2.3.4]) by Z": the hosts and the /16 of each address, where spam comes from.
function receivedTokens(value: string, out: TokenSet): void {
  const lower = value.toLowerCase();
  for (const ip of lower.matchAll(/\[?(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}\]?/g)) {
    out.add(`received:ip:${ip[1]}.${ip[2]}`);
  }
  for (const m of lower.matchAll(/[a-z0-9-]+(?:\.[a-z0-9-]+)+/g)) {
    const host = m[0];
    if (HOSTNAME.test(host) && /[a-z]/.test(host) && !IPV4.test(host)) domainTokens('received:', host, out);
  }
}

/** The host and its registrable-ish parent (last two labels), so new subdomains still match. */
function domainTokens(prefix: string, host: string, out: TokenSet): void {
  const h = host.replace(/\.$/, '');
  out.add(prefix + h);
  const labels = h.split('.');
  if (labels.length > 2) out.add(prefix + labels.slice(-2).join('.'));
}

function urlTokens(text: string, out: TokenSet): void {
  let count = 0;
  for (const m of text.matchAll(URL_PATTERN)) {
    count++;
    let url: URL;
    try {
      url = new URL(m[0]);
    } catch {
      out.add('url:bad');
      continue;
    }
    const host = url.hostname.toLowerCase();
    if (IPV4.test(host)) out.add('url:ip');
    else domainTokens('url:', host, out);
    if (url.port) out.add('url:port');
    if (url.username) out.add('url:userinfo');
    for (const piece of url.pathname.split(/[/._\-=?&]+/)) {
      if (piece.length >= MIN_WORD && piece.length <= 20) out.add(`url:path:${piece.toLowerCase()}`);
    }
  }
  out.add(`url:count:${bucket(count)}`);
  for (const m of text.matchAll(MAILTO)) {
    const domain = m[1]?.split('@')[1]?.toLowerCase();
    if (domain) domainTokens('mailto:', domain, out);
  }
}

/** 0, 1, 2, 3-4, 5-8, 9-16, ...: counts as tokens without one token per value. */
function bucket(n: number): string {
  if (n <= 2) return String(n);
  const top = 2 ** Math.ceil(Math.log2(n));
  return `${top / 2 + 1}-${top}`;
}
