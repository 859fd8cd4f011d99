import { z } from 'zod';
import { PsfError } from './errors.js';
import { CLASSIFIER_ERROR_TYPE, VERDICT_TYPE } from './names.js';
import type { WireMessage } from './wire.js';

export const VERDICT_ACTIONS = ['accept', 'tag', 'quarantine', 'discard', 'reject'] as const;
export type VerdictAction = (typeof VERDICT_ACTIONS)[number];

/** Replies above this size are refused unread: a verdict is a few hundred bytes. */
export const MAX_REPLY_BYTES = 64 * 1024;

// Extra headers a classifier may ask for: X- names only (no rewriting of From, Subject...),
// never psf's own, and no CR/LF in values (header injection).
const headerName = z
  .string()
  .regex(/^X-[A-Za-z0-9][A-Za-z0-9-]{0,75}$/, 'header names must be X-<letters, digits, dashes>')
  .refine((n) => !n.toLowerCase().startsWith('x-psf-'), 'X-PSF-* headers are written by psf only');
const headerValue = z
  .string()
  .max(900)
  .regex(/^[^\r\n\0]*$/, 'header values must not contain CR, LF or NUL');

export const verdictSchema = z.object({
  v: z.literal(1),
  action: z.enum(VERDICT_ACTIONS),
  score: z.number().finite().optional(),
  spam: z.boolean().optional(),
  // Reasons go into X-Spam-Status (tests=...): no CR/LF there either.
  reasons: z.array(headerValue.max(200)).max(50).optional(),
  headers: z.record(headerName, headerValue).optional(),
});

/** A classifier's answer about one mail for one mailbox owner. Unknown fields are ignored. */
export type Verdict = z.infer<typeof verdictSchema>;

const errorReplySchema = z.object({ v: z.literal(1), error: z.string() });

/** Validates a verdict built in code; throws PsfError `BAD_VERDICT` naming what is wrong. */
export function validateVerdict(value: unknown): Verdict {
  const parsed = verdictSchema.safeParse(value);
  if (!parsed.success) {
    throw new PsfError('BAD_VERDICT', `bad verdict: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

export function encodeVerdict(verdict: Verdict, correlationId: string) {
  return {
    content: Buffer.from(JSON.stringify(validateVerdict(verdict))),
    properties: { contentType: 'application/json', type: VERDICT_TYPE, correlationId },
  };
}

/** A reply that tells the gateway at once that the classifier failed (instead of a timeout). */
export function encodeClassifierError(message: string, correlationId: string) {
  return {
    content: Buffer.from(JSON.stringify({ v: 1, error: message.slice(0, 500) })),
    properties: { contentType: 'application/json', type: CLASSIFIER_ERROR_TYPE, correlationId },
  };
}

/**
 * The JSON of a classifier's reply (a verdict or a learn result), or throws PsfError
 * `CLASSIFIER_FAILED` (an error reply: the classifier's text after `prefix`) or `BAD_VERDICT`
 * (too big, not JSON).
 */
export function replyJson(msg: WireMessage, prefix = ''): unknown {
  if (msg.content.length > MAX_REPLY_BYTES) {
    throw new PsfError('BAD_VERDICT', `reply of ${msg.content.length} bytes exceeds ${MAX_REPLY_BYTES}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(msg.content.toString('utf8'));
  } catch (cause) {
    throw new PsfError('BAD_VERDICT', 'reply is not JSON', { cause });
  }
  if (msg.properties.type === CLASSIFIER_ERROR_TYPE) {
    const parsed = errorReplySchema.safeParse(json);
    const text = parsed.success ? parsed.data.error : 'unreadable error reply';
    throw new PsfError('CLASSIFIER_FAILED', `${prefix}${text}`);
  }
  return json;
}

/**
 * Reads a reply off the wire. Returns the verdict, or throws PsfError `CLASSIFIER_FAILED`
 * (the classifier said it failed) or `BAD_VERDICT` (anything that is not a valid reply).
 */
export function decodeReply(msg: WireMessage): Verdict {
  return validateVerdict(replyJson(msg, 'classifier failed: '));
}
