import type { AddressObject, HeaderValue, ParsedMail } from 'mailparser';

/** A link in the mail: where it goes, and (in HTML) the text shown for it. */
export interface Link {
  href: string;
  /** Host name of `href`, lower-cased; '' when it cannot be parsed. */
  host: string;
  /** The anchor's visible text (HTML links only). */
  text?: string;
}

/** What rules look at, extracted once per mail. */
export interface RuleInput {
  subject: string;
  /** From: as written (display name and address). */
  from: string;
  fromAddress: string;
  replyToAddress: string;
  /** Lower-cased header names present. */
  headerNames: ReadonlySet<string>;
  /** Received: fields, newest first. */
  received: string[];
  /** text/plain body (or mailparser's text of the HTML when there is none). */
  text: string;
  /** The HTML body as sent ('' when none). */
  html: string;
  /** The HTML body's text: tags, styles and scripts removed. */
  htmlText: string;
  /** The top-level Content-Type is text/html: no plain-text alternative. */
  htmlOnly: boolean;
  links: Link[];
}

const firstAddress = (a: AddressObject | AddressObject[] | undefined) =>
  (Array.isArray(a) ? a[0] : a)?.value[0]?.address?.toLowerCase() ?? '';

const asStrings = (v: HeaderValue | HeaderValue[] | undefined): string[] =>
  v === undefined ? [] : (Array.isArray(v) ? v : [v]).map((x) => (typeof x === 'string' ? x : ''));

function hostOf(href: string): string {
  try {
    return new URL(href).hostname.toLowerCase();
  } catch {
    return '';
  }
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', nbsp: ' ', apos: "'" };

/** Text of an HTML fragment: good enough for phrase rules, not a renderer. */
export function htmlToText(html: string): string {
  return html
    .replace(/<(style|script)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#\d+|[a-z]+);/gi, (m, e: string) =>
      e.startsWith('#') ? String.fromCodePoint(Number(e.slice(1)) || 32) : (ENTITIES[e.toLowerCase()] ?? m),
    )
    .replace(/\s+/g, ' ')
    .trim();
}

const ANCHOR = /<a\b[^>]*?\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))[^>]*>([\s\S]*?)<\/a\s*>/gi;
const TEXT_URL = /\bhttps?:\/\/[^\s<>"'()]+/gi;

/** Links of the HTML anchors and the bare URLs of the text. */
function linksOf(text: string, html: string): Link[] {
  const links: Link[] = [];
  for (const m of html.matchAll(ANCHOR)) {
    const href = (m[1] ?? m[2] ?? m[3] ?? '').trim();
    if (!/^https?:/i.test(href)) continue;
    links.push({ href, host: hostOf(href), text: htmlToText(m[4] ?? '') });
  }
  for (const [href] of text.matchAll(TEXT_URL)) links.push({ href, host: hostOf(href) });
  return links;
}

export function ruleInput(parsed: ParsedMail): RuleInput {
  const html = typeof parsed.html === 'string' ? parsed.html : '';
  const text = parsed.text ?? '';
  const contentType = parsed.headers.get('content-type');
  const type =
    typeof contentType === 'object' && contentType && 'value' in contentType ? contentType.value : '';
  return {
    subject: parsed.subject ?? '',
    from: parsed.from?.text ?? '',
    fromAddress: firstAddress(parsed.from),
    replyToAddress: firstAddress(parsed.replyTo),
    headerNames: new Set(parsed.headers.keys()),
    received: asStrings(parsed.headers.get('received')),
    text,
    html,
    htmlText: html ? htmlToText(html) : '',
    htmlOnly: String(type).toLowerCase() === 'text/html',
    links: linksOf(text, html),
  };
}
