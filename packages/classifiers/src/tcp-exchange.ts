import { connect } from 'node:net';
import { PsfError } from '@psf/protocol';

export interface TcpExchange {
  host: string;
  port: number;
  /** Names the daemon in errors: `spamd`, `clamd`. */
  daemon: string;
  request: Buffer;
  timeoutMs: number;
  /** A longer reply is an error, not a buffer. */
  maxReplyBytes: number;
  /** Whether the reply is complete after this chunk (we then close); default: when the daemon closes. */
  complete?: (chunk: Buffer) => boolean;
}

/**
 * One request to a scanning daemon over TCP and its whole reply, as spamd and clamd speak: the
 * request in one write, no half-close (a proxy in between, a load balancer, may not pass one),
 * the reply read until the daemon closes. A reset while sending is not an error by itself: the
 * daemon may answer early (a size limit) and close, and that answer is the reply. Unreachable,
 * silent within `timeoutMs` or too long: PsfError CLASSIFIER_FAILED naming the daemon.
 */
export function tcpExchange(o: TcpExchange): Promise<Buffer> {
  const where = `${o.daemon} at ${o.host}:${o.port}`;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const fail = (message: string, cause?: unknown) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new PsfError('CLASSIFIER_FAILED', `${where}: ${message}`, { cause }));
    };
    const socket = connect({ host: o.host, port: o.port, noDelay: true });
    const timer = setTimeout(() => fail(`no answer within ${o.timeoutMs} ms`), o.timeoutMs);
    socket.on('connect', () => socket.write(o.request));
    socket.on('data', (b: Buffer) => {
      size += b.length;
      if (size > o.maxReplyBytes) return fail(`answer longer than ${o.maxReplyBytes} bytes`);
      chunks.push(b);
      if (o.complete?.(b)) socket.end();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE' || err.code === 'ECONNRESET') return; // what came is read at 'close'
      fail(err.code === 'ECONNREFUSED' ? 'unreachable (connection refused)' : err.message, err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
  });
}

/** `parse` of the reply; what it throws becomes PsfError CLASSIFIER_FAILED naming the daemon. */
export function parseReply<T>(o: Pick<TcpExchange, 'daemon' | 'host' | 'port'>, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new PsfError('CLASSIFIER_FAILED', `${o.daemon} at ${o.host}:${o.port}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
