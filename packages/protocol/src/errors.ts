/**
 * Why something failed, in terms a mail system acts on. `temporary` errors must end as a 4xx
 * (Postfix keeps the mail and retries); permanent ones are for input that will never be accepted.
 */
export type PsfErrorCode =
  /** No broker connection, or it closed with the request in flight. */
  | 'BROKER_UNAVAILABLE'
  /** The broker refused (nacked) or returned a publish. */
  | 'PUBLISH_REFUSED'
  /** No verdict before the deadline. */
  | 'TIMEOUT'
  /** A reply that does not follow the verdict schema. */
  | 'BAD_VERDICT'
  /** A scan request that does not follow the request schema. */
  | 'BAD_REQUEST'
  /** The classifier answered that it failed on this mail. */
  | 'CLASSIFIER_FAILED'
  /** The reinjection server answered 4xx, closed, or could not be reached. */
  | 'REINJECT_TEMPFAIL'
  /** The reinjection server answered 5xx. */
  | 'REINJECT_REJECTED'
  /** A classifier's verdict refused the mail (before-queue mode: 550 to the sending client). */
  | 'POLICY_REJECT'
  /** The SMTP client that handed over the mail is gone; nothing may be delivered for it. */
  | 'ABORTED'
  /** The component is shutting down. */
  | 'SHUTTING_DOWN'
  /** Bad options or configuration. */
  | 'CONFIG';

const TEMPORARY: ReadonlySet<PsfErrorCode> = new Set([
  'BROKER_UNAVAILABLE',
  'PUBLISH_REFUSED',
  'TIMEOUT',
  'BAD_VERDICT',
  'CLASSIFIER_FAILED',
  'REINJECT_TEMPFAIL',
  'ABORTED',
  'SHUTTING_DOWN',
]);

export interface PsfErrorOptions {
  cause?: unknown;
  /** The SMTP reply of a downstream server, when one caused this error. */
  smtpReply?: string;
}

/** The one error type of psf: a code, a message for people and the cause. */
export class PsfError extends Error {
  override readonly name = 'PsfError';
  readonly code: PsfErrorCode;
  readonly smtpReply: string | undefined;

  constructor(code: PsfErrorCode, message: string, options: PsfErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.smtpReply = options.smtpReply;
  }

  /** Whether retrying later can succeed (and the mail must therefore be kept). */
  get temporary(): boolean {
    return TEMPORARY.has(this.code);
  }
}

/** Whether `err` is a PsfError, optionally of one code. */
export function isPsfError(err: unknown, code?: PsfErrorCode): err is PsfError {
  return err instanceof PsfError && (code === undefined || err.code === code);
}
