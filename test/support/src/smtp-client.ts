import { connect, type Socket } from 'node:net';

export interface SmtpReply {
  code: number;
  text: string;
}

export interface RawMail {
  from: string;
  to: string[];
  /**
   * The message as it should arrive (CRLF line endings); dot-stuffed here. A string goes out as
   * latin1: pass UTF-8 text as a Buffer.
   */
  raw: string | Buffer;
  /** Sent as XFORWARD before MAIL, as Postfix's content_filter client does. */
  xforward?: Record<string, string>;
  /** MAIL FROM parameters, e.g. `BODY=8BITMIME SMTPUTF8`. */
  params?: string;
  /**
   * Send `raw` as it is: no dot-stuffing, no terminator added (the caller ends it with
   * `\r\n.\r\n`), so a test controls every byte the server parses.
   */
  verbatim?: boolean;
}

/**
 * A bare SMTP client for tests that need what nodemailer does not send (XFORWARD) or want the
 * exact reply code of each step.
 */
export class SmtpSession {
  readonly #socket: Socket;
  #buffer = '';
  #waiting: ((reply: SmtpReply) => void) | undefined;
  readonly #replies: SmtpReply[] = [];
  #closed = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => this.#onData(chunk));
    socket.on('close', () => {
      this.#closed = true;
      this.#deliver({ code: 0, text: 'connection closed' });
    });
    socket.on('error', () => {});
  }

  static async open(port: number, timeoutMs = 10_000): Promise<{ session: SmtpSession; banner: SmtpReply }> {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(timeoutMs, () => socket.destroy());
    const session = new SmtpSession(socket);
    const banner = await session.#next();
    return { session, banner };
  }

  #onData(chunk: string) {
    this.#buffer += chunk;
    let nl = this.#buffer.indexOf('\r\n');
    let lines: string[] = [];
    while (nl !== -1) {
      const line = this.#buffer.slice(0, nl);
      this.#buffer = this.#buffer.slice(nl + 2);
      lines.push(line.slice(4));
      if (line[3] !== '-') {
        this.#deliver({ code: Number(line.slice(0, 3)), text: lines.join('\n') });
        lines = [];
      }
      nl = this.#buffer.indexOf('\r\n');
    }
  }

  #deliver(reply: SmtpReply) {
    const w = this.#waiting;
    this.#waiting = undefined;
    if (w) w(reply);
    else this.#replies.push(reply);
  }

  #next(): Promise<SmtpReply> {
    const r = this.#replies.shift();
    if (r) return Promise.resolve(r);
    if (this.#closed) return Promise.resolve({ code: 0, text: 'connection closed' });
    return new Promise((resolve) => {
      this.#waiting = resolve;
    });
  }

  /** Sends one command line and resolves with its (possibly multi-line) reply. */
  command(line: string): Promise<SmtpReply> {
    this.#socket.write(`${line}\r\n`);
    return this.#next();
  }

  /** One whole transaction; resolves with the first failing reply or the reply to the final dot. */
  async send(mail: RawMail): Promise<SmtpReply> {
    return (await this.#transaction(mail, false))[0] as SmtpReply;
  }

  /** One LMTP transaction: after the data, one reply per accepted recipient, in RCPT order. */
  sendLmtp(mail: RawMail): Promise<SmtpReply[]> {
    return this.#transaction(mail, true);
  }

  async #transaction(mail: RawMail, lmtp: boolean): Promise<SmtpReply[]> {
    if (mail.xforward) {
      const attrs = Object.entries(mail.xforward).map(([k, v]) => `${k}=${v}`);
      const r = await this.command(`XFORWARD ${attrs.join(' ')}`);
      if (r.code !== 250) return [r];
    }
    let r = await this.command(`MAIL FROM:<${mail.from}>${mail.params ? ` ${mail.params}` : ''}`);
    if (r.code !== 250) return [r];
    let accepted = 0;
    for (const to of mail.to) {
      r = await this.command(`RCPT TO:<${to}>`);
      if (r.code === 250) accepted++;
      else if (!lmtp) return [r];
    }
    r = await this.command('DATA');
    if (r.code !== 354) return [r];
    let body = Buffer.isBuffer(mail.raw) ? mail.raw.toString('latin1') : mail.raw;
    if (mail.verbatim) this.#socket.write(body, 'latin1');
    else {
      if (!body.endsWith('\r\n')) body += '\r\n';
      this.#socket.write(`${body.replace(/^\./gm, '..')}.\r\n`, 'latin1');
    }
    const replies: SmtpReply[] = [];
    for (let i = 0; i < (lmtp ? accepted : 1); i++) replies.push(await this.#next());
    return replies;
  }

  /** Drops the connection without QUIT, as a client that gave up would. */
  destroy(): void {
    this.#socket.destroy();
  }

  async close(): Promise<void> {
    if (!this.#closed) await this.command('QUIT');
    this.#socket.destroy();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Opens a session and says EHLO (LHLO with `lmtp`). */
export async function openSmtp(port: number, helo = 'postfix.test', lmtp = false): Promise<SmtpSession> {
  const { session, banner } = await SmtpSession.open(port);
  if (banner.code !== 220) throw new Error(`banner: ${banner.code} ${banner.text}`);
  const ehlo = await session.command(`${lmtp ? 'LHLO' : 'EHLO'} ${helo}`);
  if (ehlo.code !== 250) throw new Error(`EHLO: ${ehlo.code} ${ehlo.text}`);
  return session;
}
