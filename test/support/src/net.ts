import { createServer } from 'node:net';
import nodemailer from 'nodemailer';

/** A port free on 127.0.0.1 right now (the kernel picks it; racy only against other binds). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('freePort: no port assigned'))));
    });
  });
}

export interface SendMailOptions {
  from: string;
  to: string[];
  subject: string;
  text: string;
  headers?: Record<string, string>;
  /** Bounds connect, greeting and each reply (default 10 s). */
  timeoutMs?: number;
}

/** Submits one mail over plain SMTP to 127.0.0.1:port; resolves with the server's final reply. */
export async function sendMail(port: number, opts: SendMailOptions): Promise<string> {
  const t = opts.timeoutMs ?? 10_000;
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    secure: false,
    ignoreTLS: true,
    name: 'client.test',
    connectionTimeout: t,
    greetingTimeout: t,
    socketTimeout: t,
  });
  try {
    const { from, to, subject, text, headers } = opts;
    const info = await transport.sendMail({ from, to, subject, text, ...(headers ? { headers } : {}) });
    return info.response;
  } finally {
    transport.close();
  }
}
