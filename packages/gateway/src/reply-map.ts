import { isPsfError, type PsfErrorCode } from '@psf/protocol';

/** An SMTP reply for smtp-server's callbacks: `responseCode` is the reply code. */
export interface SmtpReplyError extends Error {
  responseCode: number;
}

// The one place where failures become SMTP replies. Every failure is a 4xx: Postfix keeps the
// mail and retries. 5xx is for a policy reject only (before-queue mode).
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
  CONFIG: '4.3.5 filter configuration error, try again later',
};

/** The 451 reply for a failure, ending with the mail's id as every psf reply does. */
export function tempfailReply(err: unknown, mailId: string): SmtpReplyError {
  const code: PsfErrorCode = isPsfError(err) ? err.code : 'BAD_REQUEST';
  const reply = new Error(`${REPLY[code]} (${mailId})`) as SmtpReplyError;
  reply.responseCode = 451;
  return reply;
}

/** The 250 text for a mail that was settled (SMTP: one reply per mail). */
export function okReply(mailId: string, copies: number, discarded: number): string {
  const what =
    discarded && !copies ? 'discarded by policy' : `delivered as ${copies} cop${copies === 1 ? 'y' : 'ies'}`;
  return `2.0.0 Ok: ${what} (${mailId})`;
}

/** The 250 text for one recipient (LMTP: one reply per recipient). */
export function okRcptReply(mailId: string, rcpt: string, discarded: boolean): string {
  return `2.0.0 <${rcpt}> Ok: ${discarded ? 'discarded by policy' : 'delivered'} (${mailId})`;
}
