import { MailHeader, type PsfErrorCode, type Verdict } from '@psf/protocol';

/** What the gateway does when a classifier gives no usable verdict in time. */
export type OnTimeout = 'accept' | 'tempfail';

export interface PolicyOptions {
  /** `accept` (default, as rspamd's milter_default_action): deliver, marked unchecked. `tempfail`: 451. */
  onTimeout?: OnTimeout;
}

/** What happens to one owner's recipients: delivered with these headers, or dropped. */
export type Disposition =
  | { kind: 'deliver'; headers: Array<readonly [string, string]>; status: string }
  | { kind: 'discard'; status: string }
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

/**
 * Turns a verdict into what happens to the mail. Quarantine and reject are delivered tagged for
 * now: a spam folder is better than a lost mail until quarantine storage and before-queue
 * rejects exist, and an after-queue reject would be backscatter.
 */
export function dispose(verdict: Verdict): Settled {
  if (verdict.action === 'discard') return { kind: 'discard', status: 'discarded' };
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
  return { kind: 'deliver', headers, status };
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
