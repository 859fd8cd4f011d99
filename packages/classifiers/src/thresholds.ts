import type { VerdictAction } from '@psf/protocol';
import { z } from 'zod';

/**
 * Scores from which a mail is tagged, quarantined or refused, on SpamAssassin's scale (5 = spam).
 * Quarantine and reject are opt-in: a classifier alone never makes a mail disappear unasked.
 */
export interface Thresholds {
  /** Score from which the mail is spam and tagged. Default 5. */
  tag?: number;
  /** Score from which it is quarantined instead. Default: never. */
  quarantine?: number;
  /** Score from which it is refused (before-queue: 550; after-queue: the gateway's policy). */
  reject?: number;
}

/** SpamAssassin's required_score. */
export const DEFAULT_TAG_SCORE = 5;

export const thresholdsSchema = z
  .object({ tag: z.number().optional(), quarantine: z.number().optional(), reject: z.number().optional() })
  .strict();

/** The action for a score: the highest threshold reached. */
export function actionFor(score: number, t: Thresholds = {}): VerdictAction {
  if (t.reject !== undefined && score >= t.reject) return 'reject';
  if (t.quarantine !== undefined && score >= t.quarantine) return 'quarantine';
  return score >= (t.tag ?? DEFAULT_TAG_SCORE) ? 'tag' : 'accept';
}

/** Rounds a score to one decimal, as SpamAssassin prints them. */
export const round1 = (n: number) => Math.round(n * 10) / 10;
