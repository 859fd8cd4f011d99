import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './net.js';

export interface SmtpSink {
  port: number;
  /** Mails received so far (smtp-sink's own `mesg=` counter). */
  count(): number;
  waitFor(n: number, timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Postfix's smtp-sink on a free 127.0.0.1 port: the reference SMTP server, in C, that only counts
 * what it receives (for load tests and benchmarks, where the testkit sink's keeping every mail
 * would cost). Stop it when done.
 */
export async function startSmtpSink(): Promise<SmtpSink> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    '/usr/sbin/smtp-sink',
    ['-u', 'nobody', '-c', `127.0.0.1:${port}`, '1000'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  // Without the binary (postfix not installed: scripts/services.sh installs it) spawn emits
  // 'error', which would otherwise end the process: the wait below fails with the reason.
  let failed: Error | undefined;
  child.once('error', (err) => {
    failed = err;
  });
  let last = '';
  child.stdout?.on('data', (b: Buffer) => {
    last = (last + b.toString()).slice(-200);
  });
  const count = () => Number(/mesg=(\d+)\s*$/.exec(last)?.[1] ?? 0);
  for (let i = 0; ; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => resolve(true)).once('error', () => resolve(false));
      s.unref();
      setTimeout(() => s.destroy(), 1000).unref();
    });
    if (up) break;
    if (failed) throw new Error(`smtp-sink could not start: ${failed.message}`);
    if (i > 50) throw new Error('smtp-sink did not listen');
    await sleep(100);
  }
  return {
    port,
    count,
    async waitFor(n, timeoutMs) {
      const until = Date.now() + timeoutMs;
      while (count() < n) {
        if (Date.now() > until) throw new Error(`smtp-sink: ${count()} of ${n} mails after ${timeoutMs} ms`);
        await sleep(20);
      }
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill();
      await new Promise((r) => child.once('exit', r));
    },
  };
}
