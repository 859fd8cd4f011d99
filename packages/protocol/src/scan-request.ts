import { z } from 'zod';
import { PsfError } from './errors.js';
import { RequestHeader, SCAN_REQUEST_TYPE } from './names.js';
import type { WireMessage, WireProperties } from './wire.js';

/** The SMTP envelope of a mail, as the gateway received it. */
export interface ScanEnvelope {
  /** Return path; the empty string is the null sender. */
  mailFrom: string;
  /** The recipients this request is about (one mailbox owner's addresses). */
  rcpt: string[];
  /** The real client's address (from XFORWARD), when known. */
  clientAddr?: string | undefined;
  /** The real client's verified host name, when known. */
  clientName?: string | undefined;
  /** The real client's HELO name, when known. */
  helo?: string | undefined;
  /** Postfix's queue id of the mail, when known. */
  queueId?: string | undefined;
}

/** One mail handed to one mailbox owner's classifier. */
export interface ScanRequest {
  /** Unique id: the correlation id, and the id in every log line and SMTP reply about this mail. */
  id: string;
  envelope: ScanEnvelope;
  /** Size in bytes of the whole mail. */
  size: number;
  /** True when `mail` holds only the first bytes of the mail (the gateway's maxScanBytes). */
  truncated: boolean;
  /** Epoch milliseconds after which no one waits for the verdict. */
  deadline: number;
  /** The raw RFC 5322 bytes (CRLF line endings), possibly truncated. */
  mail: Buffer;
}

/** A ScanRequest as AMQP body and properties; the RPC client adds reply-to and expiration. */
export interface EncodedMessage {
  content: Buffer;
  properties: Required<Pick<WireProperties, 'contentType' | 'type' | 'correlationId'>> & {
    headers: Record<string, unknown>;
  };
}

export function encodeScanRequest(req: ScanRequest): EncodedMessage {
  const { envelope } = req;
  const headers: Record<string, unknown> = {
    [RequestHeader.mailFrom]: envelope.mailFrom,
    [RequestHeader.rcpt]: envelope.rcpt,
    [RequestHeader.size]: req.size,
    [RequestHeader.truncated]: req.truncated,
    [RequestHeader.deadline]: req.deadline,
  };
  if (envelope.clientAddr) headers[RequestHeader.clientAddr] = envelope.clientAddr;
  if (envelope.clientName) headers[RequestHeader.clientName] = envelope.clientName;
  if (envelope.helo) headers[RequestHeader.helo] = envelope.helo;
  if (envelope.queueId) headers[RequestHeader.queueId] = envelope.queueId;
  return {
    content: req.mail,
    properties: {
      contentType: 'message/rfc822',
      type: SCAN_REQUEST_TYPE,
      correlationId: req.id,
      headers,
    },
  };
}

// AMQP field tables carry numbers as integers of several widths; amqplib may hand back a
// 64-bit one as a number or a bigint-like object, so coerce the few numeric fields.
const amqpNumber = z.union([z.number(), z.bigint(), z.string().regex(/^\d+$/)]).transform(Number);
const optionalText = z.string().optional();

const headersSchema = z.object({
  [RequestHeader.mailFrom]: z.string(),
  [RequestHeader.rcpt]: z.array(z.string().min(1)).min(1),
  [RequestHeader.size]: amqpNumber,
  [RequestHeader.truncated]: z.boolean(),
  [RequestHeader.deadline]: amqpNumber,
  [RequestHeader.clientAddr]: optionalText,
  [RequestHeader.clientName]: optionalText,
  [RequestHeader.helo]: optionalText,
  [RequestHeader.queueId]: optionalText,
});

/** Reads a scan request off the wire; throws PsfError `BAD_REQUEST` naming what is wrong. */
export function decodeScanRequest(msg: WireMessage): ScanRequest {
  const { properties } = msg;
  if (properties.type !== SCAN_REQUEST_TYPE) {
    throw new PsfError('BAD_REQUEST', `unsupported request type ${JSON.stringify(properties.type)}`);
  }
  if (!properties.correlationId) throw new PsfError('BAD_REQUEST', 'request without correlation id');
  const parsed = headersSchema.safeParse(properties.headers ?? {});
  if (!parsed.success) {
    throw new PsfError('BAD_REQUEST', `bad request headers: ${z.prettifyError(parsed.error)}`);
  }
  const h = parsed.data;
  return {
    id: properties.correlationId,
    envelope: {
      mailFrom: h[RequestHeader.mailFrom],
      rcpt: h[RequestHeader.rcpt],
      clientAddr: h[RequestHeader.clientAddr],
      clientName: h[RequestHeader.clientName],
      helo: h[RequestHeader.helo],
      queueId: h[RequestHeader.queueId],
    },
    size: h[RequestHeader.size],
    truncated: h[RequestHeader.truncated],
    deadline: h[RequestHeader.deadline],
    mail: msg.content,
  };
}
