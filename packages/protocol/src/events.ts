import { z } from 'zod';
import { PsfError } from './errors.js';
import { EVENT_TYPE } from './names.js';
import type { WireMessage } from './wire.js';

/**
 * What became of one owner's share of a mail: one event per owner per mail. Metadata only (the
 * envelope sender and the owner's recipients, ids, sizes, timings): the stats and the
 * self-service page read these, never mail content.
 */
export const mailEventSchema = z.object({
  v: z.literal(1),
  kind: z.literal('mail'),
  /** Epoch ms when the mail was settled. */
  at: z.number(),
  /** The gateway's mail id (as in its log line and replies). */
  id: z.string(),
  queueId: z.string().optional(),
  messageId: z.string().optional(),
  /** '' for the default classifier's share. */
  owner: z.string(),
  from: z.string(),
  rcpt: z.array(z.string()),
  /** clean, spam, quarantined, discarded, rejected, unchecked:<reason>, tempfail:<code>. */
  status: z.string(),
  score: z.number().optional(),
  /** Time to the owner's verdict. */
  classifyMs: z.number().optional(),
  size: z.number(),
});

/** A request that died unanswered in a classifier queue (from psf.dead's x-death). */
export const deadEventSchema = z.object({
  v: z.literal(1),
  kind: z.literal('dead'),
  at: z.number(),
  /** The request (= mail) id. */
  id: z.string().optional(),
  owner: z.string(),
  /** expired (classifier offline), maxlen (queue full), rejected. */
  reason: z.string(),
  /** The queue it died in. */
  queue: z.string().optional(),
  from: z.string().optional(),
  rcpt: z.array(z.string()).optional(),
});

/** Written by a reader to find the end of the stream (streams report no message count). */
export const markEventSchema = z.object({
  v: z.literal(1),
  kind: z.literal('mark'),
  at: z.number(),
  nonce: z.string(),
});

export const eventSchema = z.discriminatedUnion('kind', [mailEventSchema, deadEventSchema, markEventSchema]);

export type MailEvent = z.infer<typeof mailEventSchema>;
export type DeadEvent = z.infer<typeof deadEventSchema>;
export type MarkEvent = z.infer<typeof markEventSchema>;
export type PsfEvent = z.infer<typeof eventSchema>;

/**
 * A batch of events as one message: gateways publish what they settled in the last moment
 * together, so the stream costs the broker one message per batch rather than per mail.
 */
export function encodeEvents(events: PsfEvent[]) {
  const at = events[0]?.at ?? Date.now();
  return {
    content: Buffer.from(JSON.stringify(events)),
    properties: { contentType: 'application/json', type: EVENT_TYPE, timestamp: Math.floor(at / 1000) },
  };
}

const batchSchema = z.array(eventSchema);

/** Reads a batch of events; throws PsfError `BAD_REQUEST` for anything else. */
export function decodeEvents(msg: WireMessage): PsfEvent[] {
  if (msg.properties.type !== EVENT_TYPE)
    throw new PsfError('BAD_REQUEST', `not an event: type ${JSON.stringify(msg.properties.type)}`);
  let json: unknown;
  try {
    json = JSON.parse(msg.content.toString('utf8'));
  } catch {
    throw new PsfError('BAD_REQUEST', 'event is not JSON');
  }
  const parsed = batchSchema.safeParse(json);
  if (!parsed.success) throw new PsfError('BAD_REQUEST', `bad event: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
