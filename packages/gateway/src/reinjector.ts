import { isAscii } from 'node:buffer';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { type Logger, silentLogger } from '@psf/broker';
import { type Dsn, PsfError } from '@psf/protocol';
import { SmtpDataEncoder, xtext } from './smtp-text.js';

// Own client: nodemailer's SMTPConnection sends raw commands only from custom AUTH handlers in login().

/** Attributes of the original client, replayed with XFORWARD. Missing ones are not sent. */
export interface XForward {
  name?: string;
  addr?: string;
  port?: string;
  proto?: string;
  helo?: string;
  ident?: string;
  source?: string;
}

/** `mailFrom` '' is the null sender. */
export interface ReinjectEnvelope {
  mailFrom: string;
  rcpt: string[];
  /** DSN parameters (RFC 3461) as received, passed on where the server takes DSN. */
  dsn?: Dsn;
}

function mailParams(dsn: Dsn | undefined): string {
  const ret = dsn?.ret === 'FULL' || dsn?.ret === 'HDRS' ? ` RET=${dsn.ret}` : '';
  return ret + (dsn?.envid ? ` ENVID=${xtext(dsn.envid)}` : '');
}

function rcptParams(dsn: Dsn | undefined, rcpt: string): string {
  const r = dsn?.rcpt?.[rcpt];
  const notify = r?.notify?.filter((n) => /^(NEVER|SUCCESS|FAILURE|DELAY)$/.test(n)) ?? [];
  return (notify.length ? ` NOTIFY=${notify.join(',')}` : '') + (r?.orcpt ? ` ORCPT=${xtext(r.orcpt)}` : '');
}

export interface ReinjectorOptions {
  host: string;
  port: number;
  /** Connections at most; keep it <= the reinjection smtpd's maxproc. Default 10. */
  poolSize?: number;
  /** Default 'localhost'. */
  heloName?: string;
  /** Default 10 s. */
  connectTimeoutMs?: number;
  /** Longest silence while waiting for a reply or sending, default 60 s. */
  commandTimeoutMs?: number;
  /** Idle connections are closed after this, default 10 s: below Postfix's smtpd_timeout. */
  idleTimeoutMs?: number;
  /** Silent by default. */
  logger?: Logger;
}

/** Postfix's order; the server's EHLO says which of them it takes. */
const XFORWARD_KEYS = ['name', 'addr', 'port', 'proto', 'helo', 'ident', 'source'] as const;
/** Longest XFORWARD command: with CRLF, lines stay below 500 bytes (RFC 5321 allows 512). */
const XFORWARD_MAX = 497;
/** Longest reply line we buffer before calling the server broken. */
const MAX_REPLY_LINE = 64 * 1024;
const REPLY_LINE = /^([2-5]\d\d)(?:([ -])|$)/;
const BAD_ADDRESS = /[\r\n<>]/;
const NON_ASCII = /[^\x00-\x7f]/;

interface Reply {
  code: number;
  /** The whole reply, lines joined with '\n'. */
  text: string;
}

interface Settings {
  host: string;
  port: number;
  poolSize: number;
  heloName: string;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  idleTimeoutMs: number;
  logger: Logger;
}

/** A message to reinject that is read as a stream (a spooled mail). */
export interface MessageSource {
  /** A fresh stream of the whole message (raw RFC 5322 bytes, any line endings) on each call. */
  open(): Readable;
  /** Whether any byte is 8-bit (sent as BODY=8BITMIME where the server takes it). */
  eightBit: boolean;
}

interface Transaction {
  envelope: ReinjectEnvelope;
  signal: AbortSignal | undefined;
  /** The message in memory (most mails), or a stream of it (a spooled one). */
  data: Buffer | MessageSource;
  eightBit: boolean;
  utf8: boolean;
  xforward: XForward;
}

function tempfail(message: string, cause?: unknown): PsfError {
  return new PsfError('REINJECT_TEMPFAIL', message, { cause });
}

function refused(command: string, reply: Reply): PsfError {
  return new PsfError(
    reply.code >= 500 ? 'REINJECT_REJECTED' : 'REINJECT_TEMPFAIL',
    `reinjection ${command} refused: ${reply.text}`,
    { smtpReply: reply.text },
  );
}

/** XFORWARD commands for the attributes the server takes, split to keep each line short. */
function xforwardCommands(xforward: XForward, supported: ReadonlySet<string>): string[] {
  const commands: string[] = [];
  let line = '';
  for (const key of XFORWARD_KEYS) {
    const value = xforward[key];
    const name = key.toUpperCase();
    // Postfix answers 501 to an empty value; an attribute too long for any line is dropped.
    const attr = value ? ` ${name}=${xtext(value)}` : '';
    if (!attr || !supported.has(name) || 'XFORWARD'.length + attr.length > XFORWARD_MAX) continue;
    if (line.length + attr.length > XFORWARD_MAX) {
      commands.push(line);
      line = '';
    }
    line = (line || 'XFORWARD') + attr;
  }
  return line ? [...commands, line] : commands;
}

/** One SMTP connection: a reply reader and the transaction, nothing about pooling. */
class Connection {
  pipelining = false;
  eightBitMime = false;
  smtpUtf8 = false;
  dsn = false;
  xforward: ReadonlySet<string> = new Set();
  /** Bytes of the message were written: from here on, never retry. */
  bodyStarted = false;
  /** Set once the connection is unusable (failed or quitting); every later read rejects with it. */
  failure: PsfError | undefined;
  readonly closed: Promise<void>;
  private state: 'busy' | 'idle' | 'quitting' = 'busy';
  private partial = '';
  private lines: string[] = [];
  private replies: Reply[] = [];
  private waiter: { resolve(reply: Reply): void; reject(err: PsfError): void } | undefined;
  private readonly socket: Socket;

  constructor(
    private readonly settings: Settings,
    private readonly onGone: (conn: Connection) => void,
  ) {
    const { host, port, connectTimeoutMs, commandTimeoutMs } = settings;
    const where = `reinjection server ${host}:${port}`;
    this.socket = connect({ host, port, noDelay: true, timeout: connectTimeoutMs });
    this.socket.setEncoding('utf8');
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
    this.socket
      .once('connect', () => this.socket.setTimeout(commandTimeoutMs))
      .on('data', (chunk: string) => this.onData(chunk))
      .on('error', (err) => this.fail(tempfail(`${where}: ${err.message}`, err)))
      .on('end', () => this.fail(tempfail(`${where} closed the connection`)))
      .on('close', () => this.fail(tempfail(`${where}: connection closed`)))
      .on('timeout', () => {
        if (this.state === 'idle') {
          void this.quit();
        } else {
          const why = this.socket.connecting
            ? `not connected in ${connectTimeoutMs}`
            : `silent for ${commandTimeoutMs}`;
          this.fail(tempfail(`${where}: ${why} ms`));
        }
      });
  }

  get alive(): boolean {
    return this.failure === undefined;
  }

  /** Banner and EHLO; any failure here is temporary whatever the code: it is not about the mail. */
  async greet(): Promise<void> {
    const banner = await this.read();
    if (banner.code !== 220) throw this.fail(tempfail(`reinjection server greeted with ${banner.text}`));
    this.write(`EHLO ${this.settings.heloName}\r\n`);
    const ehlo = await this.read();
    if (ehlo.code !== 250) throw this.fail(tempfail(`reinjection EHLO refused: ${ehlo.text}`));
    for (const line of ehlo.text.split('\n').slice(1)) {
      const [keyword, ...params] = line.slice(4).trim().toUpperCase().split(/\s+/);
      if (keyword === 'PIPELINING') this.pipelining = true;
      else if (keyword === '8BITMIME') this.eightBitMime = true;
      else if (keyword === 'SMTPUTF8') this.smtpUtf8 = true;
      else if (keyword === 'DSN') this.dsn = true;
      else if (keyword === 'XFORWARD') this.xforward = new Set(params);
    }
  }

  /** One mail transaction. On a refusal the connection is left reset, or destroyed if it cannot be. */
  async transact(tx: Transaction): Promise<Reply> {
    this.bodyStarted = false;
    if (tx.utf8 && !this.smtpUtf8) {
      throw new PsfError('REINJECT_REJECTED', 'reinjection server does not support SMTPUTF8 addresses');
    }
    const params = (tx.eightBit && this.eightBitMime ? ' BODY=8BITMIME' : '') + (tx.utf8 ? ' SMTPUTF8' : '');
    const xforward = xforwardCommands(tx.xforward, this.xforward);
    // Without DSN support the server would refuse the parameters: the mail goes without them.
    const dsn = this.dsn ? tx.envelope.dsn : undefined;
    const envelope = [
      ...xforward,
      `MAIL FROM:<${tx.envelope.mailFrom}>${params}${dsn ? mailParams(dsn) : ''}`,
      ...tx.envelope.rcpt.map((rcpt) => `RCPT TO:<${rcpt}>${dsn ? rcptParams(dsn, rcpt) : ''}`),
    ];
    if (this.pipelining) this.write(`${envelope.join('\r\n')}\r\nDATA\r\n`);
    let failed: PsfError | undefined;
    for (const [i, command] of envelope.entries()) {
      if (!this.pipelining) {
        if (failed) break;
        this.write(`${command}\r\n`);
      }
      const reply = await this.read();
      if (reply.code < 400) continue;
      // Only logging depends on XFORWARD: deliver the mail without it rather than hold it.
      if (i < xforward.length)
        this.settings.logger.warn({ reply: reply.text }, 'reinjection XFORWARD refused');
      else failed ??= refused(command.slice(0, 4), reply);
    }
    if (!this.pipelining) {
      if (failed) {
        await this.reset();
        throw failed;
      }
      this.write('DATA\r\n');
    }
    const data = await this.read();
    if (data.code !== 354 || failed) {
      // After a 354 the server waits for a message: only dropping the connection keeps it from getting one.
      if (data.code === 354) this.fail(tempfail('reinjection transaction aborted'));
      else await this.reset();
      throw failed ?? refused('DATA', data);
    }
    if (tx.signal?.aborted) {
      // The mail's sender is gone (before-queue: Postfix timed out and told its client 451):
      // finishing now would deliver a mail the client will send again.
      throw this.fail(new PsfError('ABORTED', 'client gone: reinjection abandoned before the data'));
    }
    this.bodyStarted = true;
    if (Buffer.isBuffer(tx.data)) {
      // In memory: one write, no stream machinery on the path of most mails.
      const encoder = new SmtpDataEncoder();
      this.write(Buffer.concat([encoder.encode(tx.data), encoder.end()]));
    } else {
      await this.writeData(tx.data.open());
    }
    const final = await this.read();
    if (final.code >= 400) throw refused('message', final);
    return final;
  }

  /** Streams the message as DATA, waiting for the socket to drain: a big mail never sits in memory. */
  private async writeData(source: Readable): Promise<void> {
    const encoder = new SmtpDataEncoder();
    try {
      for await (const chunk of source as AsyncIterable<Buffer>) {
        if (this.failure) throw this.failure;
        if (!this.socket.write(encoder.encode(chunk))) {
          await Promise.race([once(this.socket, 'drain'), this.closed]);
        }
      }
    } catch (err) {
      source.destroy();
      // Without the final dot the server drops the partial mail; the connection is unusable.
      throw err instanceof PsfError
        ? err
        : this.fail(tempfail('could not read the message to reinject', err));
    }
    this.write(encoder.end());
  }

  /** Waits in the pool: the idle timeout applies, and any reply (Postfix's 421) closes it. */
  idle(): void {
    this.state = 'idle';
    this.socket.setTimeout(this.settings.idleTimeoutMs);
  }

  busy(): void {
    this.state = 'busy';
    this.socket.setTimeout(this.settings.commandTimeoutMs);
  }

  quit(): Promise<void> {
    if (this.alive) {
      this.failure = tempfail('reinjection connection closed by us');
      this.state = 'quitting';
      this.socket.setTimeout(this.settings.commandTimeoutMs);
      this.socket.end('QUIT\r\n');
      this.onGone(this);
    }
    return this.closed;
  }

  /** Makes the connection unusable (once) and returns `err` for throwing. */
  fail(err: PsfError): PsfError {
    this.socket.destroy();
    if (this.failure) return err;
    this.failure = err;
    this.waiter?.reject(err);
    this.waiter = undefined;
    this.settings.logger.debug({ err }, 'reinjection connection closed');
    this.onGone(this);
    return err;
  }

  private async reset(): Promise<void> {
    this.write('RSET\r\n');
    const reply = await this.read().catch(() => undefined);
    if (reply && reply.code !== 250) this.fail(tempfail(`reinjection RSET refused: ${reply.text}`));
  }

  private write(bytes: string | Buffer): void {
    if (this.alive) this.socket.write(bytes);
  }

  private read(): Promise<Reply> {
    const reply = this.replies.shift();
    if (reply) return Promise.resolve(reply);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  private onData(chunk: string): void {
    this.partial += chunk;
    for (let nl = this.partial.indexOf('\n'); nl !== -1; nl = this.partial.indexOf('\n')) {
      const line = this.partial.slice(0, this.partial[nl - 1] === '\r' ? nl - 1 : nl);
      this.partial = this.partial.slice(nl + 1);
      const match = REPLY_LINE.exec(line);
      if (!match) {
        this.fail(tempfail(`reinjection server sent a malformed reply: ${line.slice(0, 200)}`));
        return;
      }
      this.lines.push(line);
      if (match[2] !== '-') {
        this.onReply({ code: Number(match[1]), text: this.lines.join('\n') });
        this.lines = [];
      }
    }
    if (this.partial.length > MAX_REPLY_LINE) this.fail(tempfail('reinjection server reply line too long'));
  }

  private onReply(reply: Reply): void {
    if (this.state === 'quitting') return;
    if (reply.code === 421 || this.state === 'idle') {
      this.fail(
        new PsfError('REINJECT_TEMPFAIL', `reinjection server closing: ${reply.text}`, {
          smtpReply: reply.text,
        }),
      );
    } else if (this.waiter) {
      this.waiter.resolve(reply);
      this.waiter = undefined;
    } else {
      this.replies.push(reply);
    }
  }
}

/**
 * SMTP client for Postfix's reinjection smtpd: one bounded pool of connections shared by every
 * caller (a connection per inbound session would exhaust the smtpd processes), pipelining,
 * XFORWARD. A send resolves once the server accepted the mail, else rejects with a PsfError:
 * REINJECT_TEMPFAIL (4xx, connection failure, timeout) or REINJECT_REJECTED (5xx).
 */
export class Reinjector {
  private readonly settings: Settings;
  /** Most recently used last: reused first, so the surplus times out. */
  private readonly idle: Connection[] = [];
  private readonly conns = new Set<Connection>();
  /** Senders waiting for a slot, first come first served. */
  private readonly queue: Array<() => void> = [];
  /** Slots held by senders; a slot covers at most one open connection. */
  private active = 0;
  private closing: Promise<void> | undefined;
  private drained: (() => void) | undefined;

  constructor(opts: ReinjectorOptions) {
    this.settings = {
      host: opts.host,
      port: opts.port,
      poolSize: opts.poolSize ?? 10,
      heloName: opts.heloName ?? 'localhost',
      connectTimeoutMs: opts.connectTimeoutMs ?? 10_000,
      commandTimeoutMs: opts.commandTimeoutMs ?? 60_000,
      idleTimeoutMs: opts.idleTimeoutMs ?? 10_000,
      logger: opts.logger ?? silentLogger,
    };
    const { port, poolSize, heloName, connectTimeoutMs, commandTimeoutMs, idleTimeoutMs } = this.settings;
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new PsfError('CONFIG', `reinjection port must be 1-65535, got ${port}`);
    }
    if (!Number.isInteger(poolSize) || poolSize < 1) {
      throw new PsfError('CONFIG', `reinjection poolSize must be a positive integer, got ${poolSize}`);
    }
    if (!/^[\x21-\x7e]+$/.test(heloName)) {
      throw new PsfError('CONFIG', `reinjection heloName must be printable ASCII, got ${heloName}`);
    }
    for (const ms of [connectTimeoutMs, commandTimeoutMs, idleTimeoutMs]) {
      if (!(ms > 0)) throw new PsfError('CONFIG', `reinjection timeouts must be positive, got ${ms}`);
    }
  }

  /**
   * Delivers `message` (raw RFC 5322 bytes, any line endings) to the envelope's recipients.
   * All recipients are accepted or the mail is not sent. Once `signal` is aborted the mail is
   * not sent (PsfError ABORTED), unless its data is already on the wire.
   */
  async send(
    envelope: ReinjectEnvelope,
    message: Buffer | MessageSource,
    xforward: XForward = {},
    signal?: AbortSignal,
  ): Promise<{ reply: string }> {
    if (this.closing) throw new PsfError('SHUTTING_DOWN', 'reinjector is closing');
    if (signal?.aborted) throw new PsfError('ABORTED', 'client gone: nothing reinjected');
    const addresses = [envelope.mailFrom, ...envelope.rcpt];
    const bad = addresses.find((address) => BAD_ADDRESS.test(address));
    if (bad !== undefined) throw new PsfError('REINJECT_REJECTED', `bad address ${JSON.stringify(bad)}`);
    const tx: Transaction = {
      envelope,
      signal,
      data: message,
      eightBit: Buffer.isBuffer(message) ? !isAscii(message) : message.eightBit,
      utf8: addresses.some((address) => NON_ASCII.test(address)),
      xforward,
    };
    await this.acquire();
    try {
      const conn = this.idle.pop();
      if (!conn) return await this.transact(await this.open(), tx);
      conn.busy();
      try {
        return await this.transact(conn, tx);
      } catch (err) {
        // The server may have closed it while idle; a retry after the body could duplicate the mail.
        if (err !== conn.failure || conn.bodyStarted) throw err;
        this.settings.logger.debug({ err }, 'reinjection connection went stale, retrying on a new one');
        return await this.transact(await this.open(), tx);
      }
    } finally {
      this.release();
    }
  }

  /** Refuses new sends, waits for those under way, then QUITs every connection. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.active > 0) await new Promise<void>((resolve) => (this.drained = resolve));
      for (const conn of this.idle.splice(0)) void conn.quit();
      await Promise.all([...this.conns].map((conn) => conn.closed));
    })();
    return this.closing;
  }

  private async transact(conn: Connection, tx: Transaction): Promise<{ reply: string }> {
    try {
      return { reply: (await conn.transact(tx)).text };
    } finally {
      if (conn.alive) {
        conn.idle();
        this.idle.push(conn);
      }
    }
  }

  private async open(): Promise<Connection> {
    const conn = new Connection(this.settings, (gone) => {
      const i = this.idle.indexOf(gone);
      if (i !== -1) this.idle.splice(i, 1);
    });
    this.conns.add(conn);
    void conn.closed.then(() => this.conns.delete(conn));
    await conn.greet();
    return conn;
  }

  private async acquire(): Promise<void> {
    if (this.active < this.settings.poolSize) this.active++;
    else await new Promise<void>((resolve) => this.queue.push(resolve));
  }

  /** Hands the slot to the next waiting sender, if any. */
  private release(): void {
    const next = this.queue.shift();
    if (next) next();
    else if (--this.active === 0) this.drained?.();
  }
}

export function createReinjector(opts: ReinjectorOptions): Reinjector {
  return new Reinjector(opts);
}
