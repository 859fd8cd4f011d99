import { z } from 'zod';
import { PsfError } from './errors.js';
import { QUARANTINED_TYPE, QuarantineHeader, RequestHeader } from './names.js';
import { type Verdict, verdictSchema } from './verdict.js';
import type { WireMessage } from './wire.js';

/** RFC 3461 parameters as the sender gave them: RET and ENVID of the mail, NOTIFY and ORCPT by recipient. */
export interface Dsn {
  ret?: string;
  envid?: string;
  rcpt?: Record<string, { notify?: string[]; orcpt?: string }>;
}

const dsnRcptSchema = z.object({
  notify: z.array(z.string().max(10)).max(4).optional(),
  orcpt: z.string().max(500).optional(),
});

// By recipient as [address, parameters] pairs: a record would lose an address such as
// `__proto__` (assigning that key sets the prototype); Object.fromEntries keeps it as a key.
const dsnSchema = z
  .object({
    ret: z.string().max(10).optional(),
    envid: z.string().max(500).optional(),
    rcpt: z
      .array(z.tuple([z.string(), dsnRcptSchema]))
      .transform((entries) => Object.fromEntries(entries))
      .optional(),
  })
  .strict();

/** The DSN header's JSON as dsnSchema reads it: the recipients' object as its entries. */
function dsnEntries(json: unknown): unknown {
  if (typeof json !== 'object' || json === null || !('rcpt' in json)) return json;
  const { rcpt } = json as { rcpt: unknown };
  const isMap = typeof rcpt === 'object' && rcpt !== null && !Array.isArray(rcpt);
  // Anything but an object of addresses (an array included) becomes null, which the schema refuses.
  return { ...json, rcpt: isMap ? Object.entries(rcpt) : null };
}

/** A mail held in an owner's quarantine, with what is needed to release it. */
export interface QuarantinedMail {
  /** The gateway's mail id (the AMQP message id). */
  id: string;
  owner: string;
  mailFrom: string;
  /** The owner's recipients: a release delivers to these only. */
  rcpt: string[];
  verdict: Verdict;
  /** Epoch ms. */
  quarantinedAt: number;
  clientAddr?: string | undefined;
  helo?: string | undefined;
  queueId?: string | undefined;
  /** The sender's DSN request, passed on again when the mail is released. */
  dsn?: Dsn | undefined;
  /** The raw mail as received (before psf's headers). */
  mail: Buffer;
}

export function encodeQuarantined(q: QuarantinedMail) {
  const headers: Record<string, unknown> = {
    [RequestHeader.mailFrom]: q.mailFrom,
    [RequestHeader.rcpt]: q.rcpt,
    [QuarantineHeader.owner]: q.owner,
    [QuarantineHeader.verdict]: JSON.stringify(q.verdict),
    [QuarantineHeader.quarantinedAt]: q.quarantinedAt,
  };
  if (q.clientAddr) headers[QuarantineHeader.clientAddr] = q.clientAddr;
  if (q.helo) headers[QuarantineHeader.helo] = q.helo;
  if (q.queueId) headers[QuarantineHeader.queueId] = q.queueId;
  if (q.dsn) headers[QuarantineHeader.dsn] = JSON.stringify(q.dsn);
  return {
    content: q.mail,
    properties: { contentType: 'message/rfc822', type: QUARANTINED_TYPE, messageId: q.id, headers },
  };
}

const amqpNumber = z.union([z.number(), z.bigint(), z.string().regex(/^\d+$/)]).transform(Number);
const headersSchema = z.object({
  [RequestHeader.mailFrom]: z.string(),
  [RequestHeader.rcpt]: z.array(z.string()).min(1),
  [QuarantineHeader.owner]: z.string(),
  [QuarantineHeader.verdict]: z.string().transform((s, ctx) => {
    const parsed = verdictSchema.safeParse(JSON.parse(s));
    if (!parsed.success) ctx.addIssue({ code: 'custom', message: 'bad verdict' });
    return parsed.data as Verdict;
  }),
  [QuarantineHeader.quarantinedAt]: amqpNumber,
  [QuarantineHeader.clientAddr]: z.string().optional(),
  [QuarantineHeader.helo]: z.string().optional(),
  [QuarantineHeader.queueId]: z.string().optional(),
  [QuarantineHeader.dsn]: z
    .string()
    .transform((s, ctx) => {
      const parsed = dsnSchema.safeParse(dsnEntries(JSON.parse(s)));
      if (!parsed.success) ctx.addIssue({ code: 'custom', message: 'bad DSN parameters' });
      return parsed.data as Dsn;
    })
    .optional(),
});

/** Reads a quarantined mail off the wire; throws PsfError `BAD_REQUEST` naming what is wrong. */
export function decodeQuarantined(
  msg: WireMessage & { properties: { messageId?: unknown } },
): QuarantinedMail {
  const id = msg.properties.messageId;
  if (msg.properties.type !== QUARANTINED_TYPE || typeof id !== 'string') {
    throw new PsfError('BAD_REQUEST', 'not a quarantined mail');
  }
  let parsed: ReturnType<typeof headersSchema.safeParse>;
  try {
    parsed = headersSchema.safeParse(msg.properties.headers ?? {});
  } catch (cause) {
    throw new PsfError('BAD_REQUEST', 'quarantined mail with an unreadable verdict', { cause });
  }
  if (!parsed.success)
    throw new PsfError('BAD_REQUEST', `bad quarantine headers: ${z.prettifyError(parsed.error)}`);
  const h = parsed.data;
  return {
    id,
    owner: h[QuarantineHeader.owner],
    mailFrom: h[RequestHeader.mailFrom],
    rcpt: h[RequestHeader.rcpt],
    verdict: h[QuarantineHeader.verdict],
    quarantinedAt: h[QuarantineHeader.quarantinedAt],
    clientAddr: h[QuarantineHeader.clientAddr],
    helo: h[QuarantineHeader.helo],
    queueId: h[QuarantineHeader.queueId],
    ...(h[QuarantineHeader.dsn] ? { dsn: h[QuarantineHeader.dsn] } : {}),
    mail: msg.content,
  };
}
