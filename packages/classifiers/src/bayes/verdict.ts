import type { Verdict } from '@psf/client-sdk';
import { PsfError } from '@psf/protocol';
import type { Spamicity } from './spamicity.js';

export interface ThresholdOptions {
  /** Spamicity from which a mail is tagged as spam. Default 0.95. */
  tagAt?: number;
  /** Spamicity from which a mail is quarantined instead (opt-in, e.g. 0.9999). Default: never. */
  quarantineAt?: number;
  /** Strongest tokens named in the reasons. Default 5. */
  reasonTokens?: number;
}

/**
 * Chosen by repeated cross-validation on the corpus' train part: one step above the lowest threshold
 * with no hard ham flagged in any run (bench/RESULTS.md).
 */
export const DEFAULT_TAG_AT = 0.95;

/** Checks thresholds once, at construction; bad ones are a CONFIG error. */
export function checkThresholds(opts: ThresholdOptions): void {
  const tagAt = opts.tagAt ?? DEFAULT_TAG_AT;
  if (!(tagAt > 0.5 && tagAt <= 1)) throw new PsfError('CONFIG', `tagAt must be in (0.5, 1], got ${tagAt}`);
  const q = opts.quarantineAt;
  if (q !== undefined && !(q >= tagAt && q <= 1)) {
    throw new PsfError('CONFIG', `quarantineAt must be in [tagAt, 1], got ${q}`);
  }
}

/**
 * The verdict for a spamicity. `score` is on SpamAssassin's scale: linear in the spamicity, 0 at
 * 0.5 (no opinion) and 5 (SpamAssassin's required_score) exactly at `tagAt`, so with the default
 * 0.95 a spamicity of 1 scores 5.56, 0.9 scores 4.44 and 0 scores -5.56. `reasons` gives the spamicity, then the
 * tokens that pushed hardest towards the verdict (token names only, never body text around them).
 */
export function toVerdict(result: Spamicity, opts: ThresholdOptions = {}): Verdict {
  const tagAt = opts.tagAt ?? DEFAULT_TAG_AT;
  const p = result.spamicity;
  const spam = p >= tagAt;
  const action =
    opts.quarantineAt !== undefined && p >= opts.quarantineAt ? 'quarantine' : spam ? 'tag' : 'accept';
  const score = Math.round((500 * (p - 0.5)) / (tagAt - 0.5)) / 100;
  const towards = result.evidence.filter((e) => (spam ? e.f > 0.5 : e.f < 0.5));
  const reasons = [
    `BAYES spamicity=${p.toFixed(4)}`,
    ...towards.slice(0, opts.reasonTokens ?? 5).map((e) => `${e.token.slice(0, 60)} ${e.f.toFixed(3)}`),
  ];
  return { v: 1, action, score, spam, reasons };
}
