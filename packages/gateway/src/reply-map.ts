import { isPsfError, type PsfErrorCode } from '@psf/protocol';

/** An SMTP reply for smtp-server's callbacks: `responseCode` is the reply code. */
export interface SmtpReplyError extends Error {
  responseCode: number;
}

// The one place where failures become SMTP replies. Every failure is a 4xx: Postfix keeps the
// mail and retries. 5xx is for a policy reject only (before-queue mode, to the sending client).
const REPLY: Record<PsfErrorCode, string> = {
  BROKER_UNAVAILABLE: '4.3.0 classifiers unreachable (broker), try again later',
  PUBLISH_REFUSED: '4.3.0 classifier queue refused the request, try again later',
  TIMEOUT: '4.4.1 no verdict from the classifier in time, try again later',
  BAD_VERDICT: '4.3.0 unreadable verdict from the classifier, try again later',
  CLASSIFIER_FAILED: '4.3.0 the classifier failed on this mail, try again later',
  BAD_REQUEST: '4.3.0 internal error, try again later',
  REINJECT_TEMPFAIL: '4.4.2 reinjection failed, try again later',
  REINJECT_REJECTED: '4.3.0 reinjection refused by the mail system, try again later',
  SHUTTING_DOWN: '4.3.2 filter shutting down, try again later',
  ABORTED: '4.3.0 transaction abandoned, try again later',
  POLICY_REJECT: "5.7.1 message refused as spam by the recipient's filter",
  CONFIG: '4.3.5 filter configuration error, try again later',
};

/** The reply for a failure, ending with the mail's id as every psf reply does: 451, or 550 for a policy reject. */
export function failureReply(err: unknown, mailId: string): SmtpReplyError {
  const code: PsfErrorCode = isPsfError(err) ? err.code : 'BAD_REQUEST';
  const reply = new Error(`${REPLY[code]} (${mailId})`) as SmtpReplyError;
  reply.responseCode = code === 'POLICY_REJECT' ? 550 : 451;
  return reply;
}

/** The 250 text for a mail that was settled (SMTP: one reply per mail). */
export function okReply(
  mailId: string,
  o: { copies: number; discarded: number; quarantined: number },
): string {
  const parts: string[] = [];
  if (o.copies || (!o.discarded && !o.quarantined))
    parts.push(`delivered as ${o.copies} cop${o.copies === 1 ? 'y' : 'ies'}`);
  if (o.quarantined) parts.push(`quarantined for ${o.quarantined}`);
  if (o.discarded)
    parts.push(o.copies || o.quarantined ? `discarded for ${o.discarded}` : 'discarded by policy');
  return `2.0.0 Ok: ${parts.join(', ')} (${mailId})`;
}

/** The 250 text for one recipient (LMTP: one reply per recipient). */
export function okRcptReply(
  mailId: string,
  rcpt: string,
  what: 'delivered' | 'quarantined' | 'discarded',
): string {
  return `2.0.0 <${rcpt}> Ok: ${what === 'discarded' ? 'discarded by policy' : what} (${mailId})`;
}
