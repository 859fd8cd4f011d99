import { z } from 'zod';
import { PsfError } from './errors.js';
import { isValidOwner, LEARN_REQUEST_TYPE, LEARN_RESULT_TYPE, LearnHeader } from './names.js';
import type { EncodedMessage } from './scan-request.js';
import { replyJson } from './verdict.js';
import type { WireMessage } from './wire.js';

export const LEARN_LABELS = ['spam', 'ham'] as const;
/** What a mail is learnt as. */
export type LearnLabel = (typeof LEARN_LABELS)[number];

/**
 * Largest mail a learn request carries. Postfix's default `message_size_limit` (10,240,000 bytes)
 * is below it, so any mail delivered under the defaults can be learnt whole, and it stays well
 * under RabbitMQ's `max_message_size` (16 MiB by default since 4.0): a bigger body would be
 * refused by the broker with a channel error instead of a clear answer.
 */
export const MAX_LEARN_BYTES = 10 * 1024 * 1024;

/** An owner's correction: learn this mail as spam or ham. */
export interface LearnRequest {
  /** The correlation id of the request and its reply. */
  id: string;
  label: LearnLabel;
  /** Whose model learns; without it the classifier's configured owner, or its global model. */
  owner?: string | undefined;
  /** The raw RFC 5322 bytes. */
  mail: Buffer;
}

function checkMail(mail: Buffer): void {
  if (mail.length === 0) throw new PsfError('BAD_REQUEST', 'learn request without a mail');
  if (mail.length > MAX_LEARN_BYTES) {
    throw new PsfError(
      'BAD_REQUEST',
      `mail of ${mail.length} bytes exceeds the ${MAX_LEARN_BYTES}-byte limit`,
    );
  }
}

const labelSchema = z.enum(LEARN_LABELS);
const ownerSchema = z.string().refine(isValidOwner, 'not a valid owner id');

/** A learn request as AMQP body and properties; the sender adds reply-to and expiration. */
export function encodeLearnRequest(req: LearnRequest): EncodedMessage {
  checkMail(req.mail);
  if (!labelSchema.safeParse(req.label).success) {
    throw new PsfError('BAD_REQUEST', `label must be spam or ham, got ${JSON.stringify(req.label)}`);
  }
  if (req.owner !== undefined && !isValidOwner(req.owner)) {
    throw new PsfError('BAD_REQUEST', `not a valid owner id: ${JSON.stringify(req.owner)}`);
  }
  const headers: Record<string, unknown> = { [LearnHeader.label]: req.label };
  if (req.owner !== undefined) headers[LearnHeader.owner] = req.owner;
  return {
    content: req.mail,
    properties: { contentType: 'message/rfc822', type: LEARN_REQUEST_TYPE, correlationId: req.id, headers },
  };
}

const headersSchema = z.object({
  [LearnHeader.label]: labelSchema,
  [LearnHeader.owner]: ownerSchema.optional(),
});

/** Reads a learn request off the wire; throws PsfError `BAD_REQUEST` naming what is wrong. */
export function decodeLearnRequest(msg: WireMessage): LearnRequest {
  const { properties } = msg;
  if (properties.type !== LEARN_REQUEST_TYPE) {
    throw new PsfError('BAD_REQUEST', `not a learn request: type ${JSON.stringify(properties.type)}`);
  }
  if (!properties.correlationId) throw new PsfError('BAD_REQUEST', 'learn request without correlation id');
  checkMail(msg.content);
  const parsed = headersSchema.safeParse(properties.headers ?? {});
  if (!parsed.success) {
    throw new PsfError('BAD_REQUEST', `bad learn request headers: ${z.prettifyError(parsed.error)}`);
  }
  const owner = parsed.data[LearnHeader.owner];
  return {
    id: properties.correlationId,
    label: parsed.data[LearnHeader.label],
    ...(owner === undefined ? {} : { owner }),
    mail: msg.content,
  };
}

const probability = z.number().min(0).max(1);
const learnt = {
  /** Times the mail was counted (a Bayes classifier repeats until the mail lands on its side). */
  times: z.number().int().min(0).optional(),
  /** The mail's spamicity (0..1) before and after learning. */
  before: probability.optional(),
  after: probability.optional(),
};

export const learnOutcomeSchema = z.object({
  /** Whose model learnt; absent: a model shared by all (a Bayes classifier's global one). */
  owner: z.string().max(255).optional(),
  ...learnt,
  /** A composite's members: what each learnt, or why it could not. */
  members: z
    .record(z.string().max(100), z.object({ ...learnt, error: z.string().max(500).optional() }))
    .optional(),
});

/** What learning did, as a classifier's `learn` reports it. Unknown fields are ignored. */
export type LearnOutcome = z.infer<typeof learnOutcomeSchema>;

const learnResultSchema = learnOutcomeSchema.extend({ v: z.literal(1), label: labelSchema });

/** The reply to a learn request: what was learnt, for whom, and what it did. */
export type LearnResult = z.infer<typeof learnResultSchema>;

/** The reply of a classifier that learnt; throws PsfError `BAD_VERDICT` for an outcome off the schema. */
export function encodeLearnResult(result: LearnResult, correlationId: string) {
  const parsed = learnResultSchema.safeParse(result);
  if (!parsed.success) {
    throw new PsfError('BAD_VERDICT', `bad learn outcome: ${z.prettifyError(parsed.error)}`);
  }
  return {
    content: Buffer.from(JSON.stringify(parsed.data)),
    properties: { contentType: 'application/json', type: LEARN_RESULT_TYPE, correlationId },
  };
}

/**
 * Reads the reply to a learn request. Returns the result, or throws PsfError `CLASSIFIER_FAILED`
 * (the classifier refused or failed: `psf.error.v1`) or `BAD_VERDICT` (not a valid reply).
 */
export function decodeLearnResult(msg: WireMessage): LearnResult {
  const json = replyJson(msg);
  if (msg.properties.type !== LEARN_RESULT_TYPE) {
    throw new PsfError('BAD_VERDICT', `not a learn result: type ${JSON.stringify(msg.properties.type)}`);
  }
  const parsed = learnResultSchema.safeParse(json);
  if (!parsed.success)
    throw new PsfError('BAD_VERDICT', `bad learn result: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
