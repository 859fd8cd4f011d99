import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import type { SmtpReply } from '@psf/testkit';

/**
 * An SMTP client that writes bytes exactly as given, whenever the test likes (pipelined floods,
 * one byte at a time, a 50 MB stream with backpressure), and reads replies as they come.
 */
export class RawSmtp {
  readonly socket: Socket;
  readonly replies: SmtpReply[] = [];
  #buffer = '';
  #lines: string[] = [];
  #wake: (() => void) | undefined;
  closed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.#buffer += chunk;
      for (let nl = this.#buffer.indexOf('\r\n'); nl !== -1; nl = this.#buffer.indexOf('\r\n')) {
        const line = this.#buffer.slice(0, nl);
        this.#buffer = this.#buffer.slice(nl + 2);
        this.#lines.push(line.slice(4));
        if (line[3] !== '-') {
          this.replies.push({ code: Number(line.slice(0, 3)), text: this.#lines.join('\n') });
          this.#lines = [];
        }
      }
      this.#wake?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.#wake?.();
    });
    socket.on('error', () => {});
  }

  /** Connects and waits for the banner (replies[0]). */
  static async open(port: number): Promise<RawSmtp> {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const session = new RawSmtp(socket);
    await session.waitReplies(1);
    return session;
  }

  /** Writes `data`, waiting for the socket to drain when its buffer is full. */
  async write(data: string | Buffer): Promise<void> {
    if (this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.socket.off('drain', done).off('close', done);
        resolve();
      };
      this.socket.on('drain', done).on('close', done);
    });
  }

  /** Resolves once `count` replies arrived in all (or the connection closed); rejects after timeoutMs. */
  async waitReplies(count: number, timeoutMs = 10_000): Promise<SmtpReply[]> {
    const until = Date.now() + timeoutMs;
    while (this.replies.length < count && !this.closed) {
      const left = until - Date.now();
      if (left <= 0)
        throw new Error(`waited ${timeoutMs} ms for ${count} replies, got ${this.replies.length}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
    return this.replies;
  }

  /** Resolves once the server closed the connection; rejects after timeoutMs. */
  async waitClosed(timeoutMs = 10_000): Promise<void> {
    await this.waitReplies(Number.POSITIVE_INFINITY, timeoutMs);
  }

  /** Writes a command line and resolves with its reply. */
  async command(line: string, timeoutMs?: number): Promise<SmtpReply> {
    const n = this.replies.length + 1;
    await this.write(`${line}\r\n`);
    return (await this.waitReplies(n, timeoutMs))[n - 1] ?? { code: 0, text: 'connection closed' };
  }

  close(): void {
    this.socket.destroy();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
