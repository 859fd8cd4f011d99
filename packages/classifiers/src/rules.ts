import type { Mail, Verdict } from '@psf/client-sdk';
import { type Link, type RuleInput, ruleInput } from './rule-input.js';
import { actionFor, DEFAULT_TAG_SCORE, round1, type Thresholds } from './thresholds.js';

/** A rule: a name (reported in X-Spam-Status tests=), a score, what it means, and its test. */
export interface Rule {
  name: string;
  score: number;
  description: string;
  test: (m: RuleInput) => boolean;
}

const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1);
/** The last two labels: close enough to the registrable domain for a mismatch test. */
const baseDomain = (host: string) => host.split('.').slice(-2).join('.');
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
/** A host written as an address: dotted quad, IPv6 literal, or one decimal/hex number. */
const isAddressHost = (host: string) =>
  IPV4.test(host) || host.startsWith('[') || /^(0x[0-9a-f]+|\d{6,10})$/i.test(host);
const SHORTENERS = new Set([
  'bit.ly',
  'buff.ly',
  'cutt.ly',
  'goo.gl',
  'is.gd',
  'ow.ly',
  'rebrand.ly',
  'shorturl.at',
  't.co',
  't.ly',
  'tiny.cc',
  'tinyurl.com',
  'rb.gy',
  'v.gd',
]);
/** Anchor text that itself looks like a link to a host. */
const SHOWN_HOST = /^(?:https?:\/\/)?((?:[a-z0-9-]+\.)+[a-z]{2,})(?:[/:?#]\S*)?$/i;

function showsOtherHost(link: Link): boolean {
  const shown = SHOWN_HOST.exec(link.text?.trim() ?? '')?.[1]?.toLowerCase();
  return shown !== undefined && link.host !== '' && baseDomain(shown) !== baseDomain(link.host);
}

/**
 * A `Received: from HELO (... [ADDR])` whose HELO is an address other than ADDR, or `localhost`
 * from an address that is not loopback: ratware writing its own trace.
 */
function forgedReceived(received: string): boolean {
  const m = /^\s*from\s+(\S+)\s+\([^)]*?\[(?:IPv6:)?([0-9a-f.:]+)\]/i.exec(received);
  if (!m) return false;
  const helo = (m[1] ?? '').replace(/^\[|\]$/g, '').toLowerCase();
  const addr = m[2] ?? '';
  if (IPV4.test(helo)) return helo !== addr;
  return /^localhost(\.localdomain)?$/.test(helo) && !addr.startsWith('127.') && addr !== '::1';
}

const body = (m: RuleInput) => `${m.text}\n${m.htmlText}`;
const re = (pattern: RegExp) => (s: string) => pattern.test(s);

/**
 * psf's rule set, in the spirit of SpamAssassin's: every hit adds its score; 5 is spam. Scores
 * are hand-set, so a single rule never reaches 5 on its own. The table is in the package README.
 */
export const RULES: readonly Rule[] = [
  // Headers
  {
    name: 'SUBJ_MONEY',
    score: 2.5,
    description: 'Subject offers money or a prize',
    test: (m) => re(/\b(free money|cash prize|make \$\d+|winner|you('ve| have) won)\b/i)(m.subject),
  },
  {
    name: 'SUBJ_ALL_CAPS',
    score: 1.5,
    description: 'Subject is written in capitals',
    test: (m) =>
      /[A-Z].*[A-Z]/.test(m.subject) && m.subject.length > 10 && m.subject === m.subject.toUpperCase(),
  },
  {
    name: 'SUBJ_SHOUTING',
    score: 1.0,
    description: 'Subject has !!!, $$$ or ???',
    test: (m) => re(/(!{3}|\${3}|\?{3})/)(m.subject),
  },
  {
    name: 'NO_FROM',
    score: 1.0,
    description: 'No From: address',
    test: (m) => m.fromAddress === '',
  },
  {
    name: 'FROM_REPLYTO_DIFFER',
    score: 1.5,
    description: 'Reply-To: goes to another domain than From:',
    test: (m) =>
      m.replyToAddress !== '' &&
      m.fromAddress !== '' &&
      baseDomain(domainOf(m.replyToAddress)) !== baseDomain(domainOf(m.fromAddress)),
  },
  {
    name: 'FROM_NAME_OTHER_ADDR',
    score: 2.0,
    description: 'From: display name shows an address of another domain',
    test: (m) => {
      const shown = /[\w.+-]+@([\w-]+(?:\.[\w-]+)+)/.exec(m.from.replace(/<[^>]*>\s*$/, ''))?.[1];
      return (
        shown !== undefined &&
        m.fromAddress !== '' &&
        baseDomain(shown.toLowerCase()) !== baseDomain(domainOf(m.fromAddress))
      );
    },
  },
  {
    name: 'MISSING_DATE',
    score: 1.0,
    description: 'No Date: header',
    test: (m) => !m.headerNames.has('date'),
  },
  {
    name: 'MISSING_MID',
    score: 0.5,
    description: 'No Message-ID: header',
    test: (m) => !m.headerNames.has('message-id'),
  },
  {
    name: 'RCVD_FORGED',
    score: 2.0,
    description: 'A Received: line whose HELO is another address, or localhost from afar',
    test: (m) => m.received.some(forgedReceived),
  },
  // Body (text and HTML text)
  {
    name: 'PHARMA',
    score: 3.5,
    description: 'Sells medicine',
    test: (m) => re(/\b(viagra|cialis|pharmacy online|no prescription)\b/i)(`${m.subject} ${body(m)}`),
  },
  {
    name: 'LOTTERY',
    score: 3.0,
    description: 'Says you won a lottery or prize',
    test: (m) => re(/\b(lottery|you have won|claim your prize)\b/i)(body(m)),
  },
  {
    name: 'MONEY_PHRASES',
    score: 2.0,
    description: 'Advance-fee or easy-money phrases',
    test: (m) =>
      re(
        /\b(wire transfer|million (us )?dollars|next of kin|100% free|risk[- ]free|earn extra (cash|income)|beneficiary)\b/i,
      )(body(m)),
  },
  {
    name: 'URGENT_ACTION',
    score: 1.0,
    description: 'Presses for urgent action',
    test: (m) => re(/\b(act now|urgent|limited time|expires today)\b/i)(`${m.subject} ${body(m)}`),
  },
  {
    name: 'CRYPTO_SCAM',
    score: 2.5,
    description: 'Crypto investment or doubling offer',
    test: (m) => re(/\b(bitcoin|crypto) (investment|doubl)/i)(body(m)),
  },
  {
    name: 'HTML_ONLY',
    score: 0.7,
    description: 'HTML body without a plain-text alternative',
    test: (m) => m.htmlOnly,
  },
  {
    name: 'HIDDEN_TEXT',
    score: 2.0,
    description: 'HTML text hidden from the reader (display:none, zero size...)',
    test: (m) =>
      /<\w+[^>]*style\s*=\s*["'][^"']*(display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*[01](px|pt)?\s*(;|["']))[^>]*>[^<]*\w{3}/i.test(
        m.html,
      ),
  },
  // URLs
  {
    name: 'URI_IP',
    score: 2.0,
    description: 'A link to a numeric address instead of a host name',
    test: (m) => m.links.some((l) => isAddressHost(l.host)),
  },
  {
    name: 'URI_SHORTENER',
    score: 1.0,
    description: 'A link through a URL shortener',
    test: (m) => m.links.some((l) => SHORTENERS.has(l.host)),
  },
  {
    name: 'URI_TEXT_MISMATCH',
    score: 2.5,
    description: 'Link text shows one host, the link goes to another',
    test: (m) => m.links.some(showsOtherHost),
  },
  {
    name: 'URI_MANY',
    score: 1.0,
    description: 'More than 20 distinct links',
    test: (m) => new Set(m.links.map((l) => l.href)).size > 20,
  },
];

/** Score at or above which a mail is tagged as spam. */
export const DEFAULT_THRESHOLD = DEFAULT_TAG_SCORE;

export interface RulesOptions {
  /** The rules; default RULES. */
  rules?: readonly Rule[];
  thresholds?: Thresholds;
}

/** The rules' hits for one mail. */
export async function ruleHits(mail: Mail, rules: readonly Rule[] = RULES): Promise<Rule[]> {
  const input = ruleInput(await mail.parsed());
  return rules.filter((r) => r.test(input));
}

/** A classifier by rules: the sum of the hits' scores against the thresholds; reasons = the hits. */
export function createRulesClassifier(options: RulesOptions = {}): (mail: Mail) => Promise<Verdict> {
  const rules = options.rules ?? RULES;
  const thresholds = options.thresholds ?? {};
  return async (mail) => {
    const hits = await ruleHits(mail, rules);
    const score = round1(hits.reduce((sum, r) => sum + r.score, 0));
    const action = actionFor(score, thresholds);
    return { v: 1, action, score, spam: action !== 'accept', reasons: hits.map((r) => r.name) };
  };
}

/** Classifies a mail by the rules: `tag` at or above the threshold, `accept` below. */
export function classify(mail: Mail, threshold = DEFAULT_THRESHOLD): Promise<Verdict> {
  return createRulesClassifier({ thresholds: { tag: threshold } })(mail);
}
