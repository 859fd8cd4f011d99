import { setTimeout as sleep } from 'node:timers/promises';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { MailSource } from './mail-source.js';

export interface LoadOptions {
  host: string;
  port: number;
  /** Mails to send in all. */
  count: number;
  /** Parallel SMTP sessions, each sending mail after mail (RSET between). */
  sessions: number;
  /** Mails per second in all; flat out when not set. */
  rate?: number;
  mails: MailSource;
  from: string;
  to: string[];
  lmtp?: boolean;
  /** Called about once a second with what was done so far. */
  onProgress?: (p: Progress) => void;
}

export interface Progress {
  done: number;
  accepted: number;
  refused: number;
  errors: number;
  seconds: number;
}

export interface LoadReport extends Progress {
  sent: number;
  /** Refusals by reply code. */
  refusedBy: Record<string, number>;
  /** First few connection or protocol errors, for the reader. */
  errorSamples: string[];
  mailsPerSecond: number;
  averageSize: number;
  /** Per-mail latency (from its scheduled start when a rate is set), ms. */
  latencyMs: { p50: number; p90: number; p99: number; max: number };
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
}

type Conn = InstanceType<typeof SMTPConnection>;

function open(o: LoadOptions): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const conn = new SMTPConnection({
      host: o.host,
      port: o.port,
      lmtp: o.lmtp ?? false,
      ignoreTLS: true,
      socketTimeout: 60_000,
    });
    conn.once('error', reject);
    conn.connect((err) => {
      conn.removeListener('error', reject);
      // Later socket errors surface through send()'s callback; keep the emitter from throwing.
      conn.on('error', () => {});
      if (err) reject(err);
      else resolve(conn);
    });
  });
}

const send = (conn: Conn, o: LoadOptions, mail: Buffer) =>
  new Promise<void>((resolve, reject) =>
    conn.send({ from: o.from, to: o.to }, mail, (err) => (err ? reject(err) : resolve())),
  );

const reset = (conn: Conn) =>
  new Promise<void>((resolve, reject) => conn.reset((err) => (err ? reject(err) : resolve())));

/**
 * Sends `count` mails over `sessions` parallel SMTP (or LMTP) sessions, flat out or at `rate`,
 * and reports what the server answered and how fast (the seed's send_loop; Postfix's smtp-source
 * is the reference). A refused mail (4xx/5xx) is counted by code and the session goes on; a
 * broken session is counted as an error and reopened. Bounded: exactly `count` attempts.
 */
export async function runLoad(o: LoadOptions): Promise<LoadReport> {
  const started = performance.now();
  const latencies: number[] = [];
  const refusedBy: Record<string, number> = {};
  const errorSamples: string[] = [];
  let next = 0;
  let accepted = 0;
  let refused = 0;
  let errors = 0;
  const progress = (): Progress => ({
    done: accepted + refused + errors,
    accepted,
    refused,
    errors,
    seconds: (performance.now() - started) / 1000,
  });
  const ticker = o.onProgress ? setInterval(() => o.onProgress?.(progress()), 1000) : undefined;

  async function session() {
    let conn: Conn | undefined;
    while (next < o.count) {
      const i = next++;
      const scheduled = o.rate ? started + (i * 1000) / o.rate : performance.now();
      const wait = scheduled - performance.now();
      if (wait > 0) await sleep(wait);
      const t0 = o.rate ? scheduled : performance.now();
      try {
        conn ??= await open(o);
        await send(conn, o, o.mails.next(i));
        accepted++;
      } catch (err) {
        const code = (err as { responseCode?: number }).responseCode;
        if (code && code >= 400) {
          refused++;
          refusedBy[code] = (refusedBy[code] ?? 0) + 1;
        } else {
          errors++;
          if (errorSamples.length < 5) errorSamples.push((err as Error).message);
          conn?.close();
          conn = undefined;
          continue;
        }
      }
      latencies.push(performance.now() - t0);
      if (conn && next < o.count)
        await reset(conn).catch(() => {
          conn?.close();
          conn = undefined;
        });
    }
    conn?.quit();
  }

  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.sessions, o.count)) }, session));
  if (ticker) clearInterval(ticker);
  const done = progress();
  latencies.sort((a, b) => a - b);
  return {
    ...done,
    sent: o.count,
    refusedBy,
    errorSamples,
    mailsPerSecond: done.done / done.seconds,
    averageSize: o.mails.averageSize,
    latencyMs: {
      p50: quantile(latencies, 0.5),
      p90: quantile(latencies, 0.9),
      p99: quantile(latencies, 0.99),
      max: latencies.at(-1) ?? 0,
    },
  };
}
