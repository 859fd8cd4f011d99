import {
  MailHeader,
  type PsfErrorCode,
  VERDICT_ACTIONS,
  type Verdict,
  type VerdictAction,
} from '@psf/protocol';
import { z } from 'zod';

/** What the gateway does when a classifier gives no usable verdict in time. */
export type OnTimeout = 'accept' | 'tempfail';

/** An owner's (or the default) policy, as amavisd-new's tag/kill levels and subject tag. */
export const ownerPolicySchema = z
  .object({
    /** A score at or above this makes the mail at least `tag` (spam headers), whatever the verdict. */
    tagAbove: z.number().optional(),
    /** ... at least `quarantine`. */
    quarantineAbove: z.number().optional(),
    /** ... at least `discard`. */
    discardAbove: z.number().optional(),
    /** ... `reject` (550 before queue; after queue delivered tagged). */
    rejectAbove: z.number().optional(),
    /** Prefix for the Subject of spam that is delivered, e.g. "[SPAM] ". */
    subjectTag: z
      .string()
      .max(100)
      .regex(/^[^\r\n]*$/, 'no line breaks')
      .optional(),
    /** Write the X-PSF-* and X-Spam-* headers (default true). Incoming ones are removed either way. */
    headers: z.boolean().optional(),
  })
  .strict();
export type OwnerPolicy = z.infer<typeof ownerPolicySchema>;

/** The default policy and per-owner overrides (merged over the default): the config's `policy`. */
export const policyMapSchema = z
  .object({
    default: ownerPolicySchema.optional(),
    owners: z.record(z.string(), ownerPolicySchema).optional(),
  })
  .strict();
export type PolicyMap = z.infer<typeof policyMapSchema>;

export interface PolicyOptions {
  policy?: PolicyMap;
  /** `accept` (default, as rspamd's milter_default_action): deliver, marked unchecked. `tempfail`: 451. */
  onTimeout?: OnTimeout;
  /**
   * A `reject` verdict is refused with 550: before queue (the sending client still waits for our
   * answer, so no backscatter), or after queue where the admin accepts that Postfix then bounces
   * to a sender that may be forged. Otherwise `reject` is delivered tagged.
   */
  refuse?: boolean;
  /** A quarantine store is configured: `quarantine` verdicts go there instead of being delivered tagged. */
  quarantine?: boolean;
}

/** What happens to one owner's recipients: delivered with these headers, dropped, or refused. */
export type Disposition =
  | { kind: 'deliver'; headers: Array<readonly [string, string]>; subjectTag?: string; status: string }
  | { kind: 'discard'; status: string }
  | { kind: 'reject'; status: string; reasons: string[] }
  | { kind: 'quarantine'; status: string; verdict: Verdict }
  | { kind: 'tempfail'; status: string };

/** A disposition that settles the mail for these recipients. */
export type Settled = Exclude<Disposition, { kind: 'tempfail' }>;

/** Codes that mean "no usable verdict" and fall under the timeout policy (DESIGN §2). */
const UNCHECKED_REASON: Partial<Record<PsfErrorCode, string>> = {
  TIMEOUT: 'timeout',
  BAD_VERDICT: 'bad-verdict',
  CLASSIFIER_FAILED: 'classifier-error',
};

function scoreText(score: number | undefined): string {
  return (score ?? 0).toFixed(1);
}

export function policyFor(map: PolicyMap | undefined, owner: string): OwnerPolicy {
  const own = map?.owners?.[owner];
  return own ? { ...map?.default, ...own } : (map?.default ?? {});
}

// VERDICT_ACTIONS lists the actions from mildest to strictest.
const severity = (action: VerdictAction) => VERDICT_ACTIONS.indexOf(action);

/** The verdict with the owner's thresholds applied: a high score makes the action stricter, never milder. */
export function escalate(verdict: Verdict, policy: OwnerPolicy): Verdict {
  const { score } = verdict;
  if (score === undefined) return verdict;
  let action = verdict.action;
  const levels: Array<[VerdictAction, number | undefined]> = [
    ['tag', policy.tagAbove],
    ['quarantine', policy.quarantineAbove],
    ['discard', policy.discardAbove],
    ['reject', policy.rejectAbove],
  ];
  for (const [candidate, level] of levels) {
    if (level !== undefined && score >= level && severity(candidate) > severity(action)) action = candidate;
  }
  return action === verdict.action ? verdict : { ...verdict, action };
}

/**
 * Turns a verdict into what happens to the mail. Without a quarantine store, quarantine is
 * delivered tagged (a spam folder is better than a lost mail); so is reject unless `refuse`
 * (after queue, refusing means a bounce to a likely forged sender: backscatter).
 */
export function dispose(verdict: Verdict, options: PolicyOptions = {}, policy: OwnerPolicy = {}): Settled {
  if (verdict.action === 'discard') return { kind: 'discard', status: 'discarded' };
  if (verdict.action === 'quarantine' && options.quarantine) {
    return { kind: 'quarantine', status: 'quarantined', verdict };
  }
  if (verdict.action === 'reject' && options.refuse) {
    return { kind: 'reject', status: 'rejected', reasons: verdict.reasons ?? [] };
  }
  const spam = verdict.action === 'accept' ? (verdict.spam ?? false) : true;
  const score = scoreText(verdict.score);
  const tests = verdict.reasons?.length ? ` tests=${verdict.reasons.join(',')}` : '';
  const status = spam ? 'spam' : 'clean';
  const headers: Array<readonly [string, string]> = [
    [MailHeader.status, `${status}; action=${verdict.action}`],
    [MailHeader.score, score],
    [MailHeader.spamFlag, spam ? 'YES' : 'NO'],
    [MailHeader.spamStatus, `${spam ? 'Yes' : 'No'}, score=${score}${tests}`],
  ];
  for (const [name, value] of Object.entries(verdict.headers ?? {})) headers.push([name, value]);
  return {
    kind: 'deliver',
    headers: policy.headers === false ? [] : headers,
    ...(spam && policy.subjectTag ? { subjectTag: policy.subjectTag } : {}),
    status,
  };
}

/** What happens when the classifier's answer failed with `code`. */
export function disposeFailure(code: PsfErrorCode, options: PolicyOptions): Disposition {
  const reason = UNCHECKED_REASON[code];
  if (reason && (options.onTimeout ?? 'accept') === 'accept') {
    return {
      kind: 'deliver',
      headers: [[MailHeader.status, `unchecked; reason=${reason}`]],
      status: `unchecked:${reason}`,
    };
  }
  return { kind: 'tempfail', status: `tempfail:${reason ?? code.toLowerCase()}` };
}
