import type { Mail, Verdict } from '@psf/client-sdk';

/** A rule: a name (reported in X-Spam-Status tests=), a score, and where it looks. */
export interface Rule {
  name: string;
  score: number;
  test: (m: { subject: string; text: string; from: string }) => boolean;
}

const re = (pattern: RegExp) => (s: string) => pattern.test(s);

/** A small starter set in the spirit of SpamAssassin's: each hit adds its score. */
export const RULES: Rule[] = [
  {
    name: 'SUBJ_MONEY',
    score: 2.5,
    test: (m) => re(/\b(free money|cash prize|make \$\d+|winner)\b/i)(m.subject),
  },
  {
    name: 'SUBJ_ALL_CAPS',
    score: 1.5,
    test: (m) => m.subject.length > 10 && m.subject === m.subject.toUpperCase(),
  },
  {
    name: 'PHARMA',
    score: 3.5,
    test: (m) => re(/\b(viagra|cialis|pharmacy online)\b/i)(`${m.subject} ${m.text}`),
  },
  { name: 'LOTTERY', score: 3.0, test: (m) => re(/\b(lottery|you have won|claim your prize)\b/i)(m.text) },
  {
    name: 'URGENT_ACTION',
    score: 1.0,
    test: (m) => re(/\b(act now|urgent|limited time)\b/i)(`${m.subject} ${m.text}`),
  },
  { name: 'CRYPTO_SCAM', score: 2.5, test: (m) => re(/\b(bitcoin|crypto) (investment|doubl)/i)(m.text) },
  { name: 'NO_FROM', score: 1.0, test: (m) => m.from === '' },
];

/** Score at or above which a mail is tagged as spam. */
export const DEFAULT_THRESHOLD = 5;

/** Classifies a mail by the rules: `tag` at or above the threshold, `accept` below. */
export async function classify(mail: Mail, threshold = DEFAULT_THRESHOLD): Promise<Verdict> {
  const parsed = await mail.parsed();
  const input = { subject: parsed.subject ?? '', text: parsed.text ?? '', from: parsed.from?.text ?? '' };
  const hits = RULES.filter((r) => r.test(input));
  const score = Math.round(hits.reduce((sum, r) => sum + r.score, 0) * 10) / 10;
  const spam = score >= threshold;
  return { v: 1, action: spam ? 'tag' : 'accept', score, spam, reasons: hits.map((r) => r.name) };
}
