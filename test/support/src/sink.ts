import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';

export interface SinkMail {
  mailFrom: string;
  rcpt: string[];
  raw: Buffer;
  received: Date;
  /** XFORWARD attributes the client passed (NAME, ADDR, PORT, PROTO, HELO, IDENT, SOURCE). */
  xforward: Record<string, string>;
  /** DSN parameters: RET and ENVID of the mail, NOTIFY and ORCPT by recipient. */
  dsn: { ret?: string; envid?: string; rcpt: Record<string, { notify?: string[]; orcpt?: string }> };
}

export interface SinkReply {
  code: number;
  message: string;
}

export interface SinkOptions {
  /** Answer at end of DATA; a 4xx/5xx code refuses the mail, undefined or 2xx accepts it. */
  reply?: (mail: SinkMail) => SinkReply | undefined;
}

export interface Sink {
  port: number;
  /** Accepted mails, in arrival order. */
  mails: SinkMail[];
  /** Mails refused by `reply` with a 4xx/5xx. */
  rejected: SinkMail[];
  /** Resolves with `mails` once at least `count` were accepted; rejects after timeoutMs. */
  waitFor(count: number, timeoutMs: number): Promise<SinkMail[]>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

function xforwardOf(session: SMTPServerSession): Record<string, string> {
  const map = (session as SMTPServerSession & { xForward?: Map<string, string | false> }).xForward;
  const out: Record<string, string> = {};
  for (const [k, v] of map ?? []) if (!k.includes(':')) out[k] = v === false ? '[UNAVAILABLE]' : String(v);
  return out;
}

function dsnOf(session: SMTPServerSession): SinkMail['dsn'] {
  const { envelope } = session;
  // smtp-server keeps null for parameters that were not given.
  const given = (envelope as { dsn?: { ret?: string | null; envid?: string | null } }).dsn;
  const mail = { ...(given?.ret ? { ret: given.ret } : {}), ...(given?.envid ? { envid: given.envid } : {}) };
  const rcpt: SinkMail['dsn']['rcpt'] = {};
  for (const r of envelope.rcptTo) {
    const d = (r as { dsn?: { notify?: string[]; orcpt?: string } }).dsn;
    if (d) rcpt[r.address] = d;
  }
  return { ...mail, rcpt };
}

const describe = (m: SinkMail) => `${m.received.toISOString()} <${m.mailFrom}> -> ${m.rcpt.join(', ')}`;

/** An in-process SMTP server on 127.0.0.1 that keeps every mail (Postfix's relayhost in tests). */
export async function startSink(opts: SinkOptions = {}): Promise<Sink> {
  const mails: SinkMail[] = [];
  const rejected: SinkMail[] = [];
  const waiters = new Set<() => void>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    // Records what a filter forwards, as Postfix's reinjection smtpd would log it.
    useXForward: true,
    hideDSN: false, // so a DSN request that crossed the filter shows here

    logger: false,
    // Postfix caches idle connections to its relayhost: don't let them hold close() for the default 30 s.
    closeTimeout: 500,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', (err) => callback(err));
      stream.on('end', () => {
        const { mailFrom, rcptTo } = session.envelope;
        const mail: SinkMail = {
          mailFrom: mailFrom ? mailFrom.address : '',
          rcpt: rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
          received: new Date(),
          xforward: xforwardOf(session),
          dsn: dsnOf(session),
        };
        const reply = opts.reply?.(mail);
        if (reply && reply.code >= 400) {
          rejected.push(mail);
          callback(Object.assign(new Error(reply.message), { responseCode: reply.code }));
          return;
        }
        mails.push(mail);
        for (const w of waiters) w();
        callback(null, reply?.message);
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= new Promise<void>((resolve) => server.close(() => resolve()));
    return closed;
  };
  return {
    port: (server.server.address() as AddressInfo).port,
    mails,
    rejected,
    waitFor(count, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (mails.length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(mails);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          const list = (xs: SinkMail[]) => xs.map((m) => `\n  ${describe(m)}`).join('') || ' none';
          reject(
            new Error(
              `sink: waited ${timeoutMs} ms for ${count} mail(s), got ${mails.length}:${list(mails)}` +
                (rejected.length ? `\nrefused:${list(rejected)}` : ''),
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
