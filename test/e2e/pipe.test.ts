import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { readEvents } from '@psf/broker';
import type { MailEvent } from '@psf/protocol';
import { openSmtp, sendMail, startPostfix, startSink, startTcpProxy, writeNodeCommand } from '@psf/testkit';
import amqp from 'amqplib';
import { describe, expect, it, vi } from 'vitest';
import { type ChainOptions, HAM, header, startChain } from './chain.js';

const PIPE_CLI = fileURLToPath(new URL('../../packages/gateway/src/pipe-cli.ts', import.meta.url));

// Postfix's pipe(8) runs psf-pipe as nobody, who may not be able to read this checkout (CI clones
// with unknown permissions): it runs a bundle in the instance's dir. The path: mail in on Postfix's
// port -> content_filter=psffilter -> psf-pipe -> RabbitMQ -> classifiers -> psf-pipe -> Postfix's
// reinjection smtpd -> the test's sink. (startChain's gateway is not in the path.)
async function throughPipe(opts: ChainOptions = {}) {
  const sink = await startSink();
  const pf = await startPostfix({ mode: 'pipe', sinkPort: sink.port, pipeCommand: 'psf-pipe' });
  const chain = await startChain(opts);
  const amqpUrl = opts.brokerPort
    ? chain.vhost.url.replace(':5672/', `:${opts.brokerPort}/`)
    : chain.vhost.url;
  /** (Re)writes psf-pipe into the instance's dir; `env` (PSF_* variables) overrides the defaults here. */
  const install = (env: Record<string, string> = {}) =>
    writeNodeCommand({
      entry: PIPE_CLI,
      dir: pf.dir,
      name: 'psf-pipe',
      env: {
        PSF_AMQP_URL: amqpUrl,
        PSF_REINJECT: `127.0.0.1:${pf.reinjectPort}`,
        PSF_TIMEOUT_MS: '3000',
        ...env,
      },
    });
  const command = await install();
  return {
    sink,
    pf,
    chain,
    command,
    install,
    async [Symbol.asyncDispose]() {
      await chain[Symbol.asyncDispose]();
      await pf[Symbol.asyncDispose]();
      await sink.close();
    },
  };
}

describe('through a real Postfix (pipe content filter, psf-pipe)', () => {
  it('delivers spam tagged and ham clean, and Postfix logs the pipe delivery as sent', async () => {
    await using t = await throughPipe();
    const base = { from: 'sender@example.net', to: ['alice@example.org'] };
    await sendMail(t.pf.publicPort, {
      ...base,
      subject: 'WINNER OF THE CASH PRIZE',
      text: 'You have won the lottery, act now!',
    });
    await sendMail(t.pf.publicPort, { ...base, subject: 'lunch tomorrow?', text: 'Shall we meet at noon?' });
    const mails = await t.sink.waitFor(2, 15_000);
    const bySubject = (s: string) => mails.find((m) => header(m.raw, 'Subject') === s);
    expect(header(bySubject('WINNER OF THE CASH PRIZE')!.raw, 'X-Spam-Flag')).toBe('YES');
    expect(header(bySubject('lunch tomorrow?')!.raw, 'X-Spam-Flag')).toBe('NO');
    expect(mails.every((m) => m.rcpt.join() === 'alice@example.org' && m.mailFrom === base.from)).toBe(true);
    expect(mails.every((m) => header(m.raw, 'Return-Path') === undefined)).toBe(true);
    await t.pf.waitForLog(
      /to=<alice@example\.org>, relay=psffilter, .*status=sent \(delivered via psffilter service\)/,
      5000,
    );
    // `psf stats` counts pipe-mode mail too: each psf-pipe had its event in psf.events before it exited.
    const conn = await amqp.connect(t.chain.vhost.url);
    const events: MailEvent[] = [];
    await readEvents(conn, { onEvent: (e) => (e.kind === 'mail' ? events.push(e) : undefined) });
    await conn.close();
    expect(events.map((e) => [e.owner, e.from, e.rcpt, e.status]).sort()).toEqual(
      [
        ['alice@example.org', base.from, ['alice@example.org'], 'clean'],
        ['alice@example.org', base.from, ['alice@example.org'], 'spam'],
      ].sort(),
    );
  });

  it('runs as nobody from the instance dir, silent on success, and exits promptly', async () => {
    await using t = await throughPipe();
    const started = Date.now();
    // As pipe(8) runs it: user nobody, PATH=/usr/bin:/bin and little else.
    const argv = ['-f', 'a@example.net', '--', 'b@example.org'];
    const run = promisify(execFile)(
      'runuser',
      ['-u', 'nobody', '--', 'env', '-i', 'PATH=/usr/bin:/bin', t.command, ...argv],
      { timeout: 10_000 },
    );
    run.child.stdin?.end(HAM('b@example.org').replaceAll('\r\n', '\n'));
    const { stdout, stderr } = await run;
    // Below the CLI's 3 s safety exit: psf-pipe closed everything and Node ended by itself.
    expect(Date.now() - started).toBeLessThan(2500);
    expect({ stdout, stderr }).toEqual({ stdout: '', stderr: '' });
    const [m] = await t.sink.waitFor(1, 15_000);
    expect(header(m!.raw, 'X-PSF-Status')).toBe('clean; action=accept');
  });

  it('reinjects a null-sender mail with the null sender', async () => {
    await using t = await throughPipe();
    await using smtp = await openSmtp(t.pf.publicPort);
    const reply = await smtp.send({ from: '', to: ['alice@example.org'], raw: HAM('alice@example.org') });
    expect(reply.code).toBe(250);
    const [m] = await t.sink.waitFor(1, 15_000);
    expect(m!.mailFrom).toBe('');
    expect(header(m!.raw, 'X-PSF-Status')).toBe('clean; action=accept');
    await t.pf.waitForLog(/to=<alice@example\.org>, relay=psffilter, .*status=sent/, 5000);
  });

  it('defers the mail (exit 75) while RabbitMQ is unreachable and delivers it on a flush once it is back', async () => {
    await using proxy = await startTcpProxy(5672);
    await using t = await throughPipe({ brokerPort: proxy.port });
    await t.install({ PSF_TIMEOUT_MS: '1000' });
    proxy.cut();
    await sendMail(t.pf.publicPort, {
      from: 's@example.net',
      to: ['bob@example.org'],
      subject: 'kept',
      text: 'hi',
    });
    await t.pf.waitForLog(
      /status=deferred \(temporary failure\. Command output: psf-pipe: [\w-]{12}: no RabbitMQ connection within 1000 ms/,
      15_000,
    );
    const [queued] = await t.pf.queue();
    expect(queued?.recipients.map((r) => r.address)).toEqual(['bob@example.org']);
    expect(t.sink.mails).toHaveLength(0);

    proxy.restore();
    await t.pf.flush();
    const [m] = await t.sink.waitFor(1, 15_000);
    expect(header(m!.raw, 'Subject')).toBe('kept');
    await vi.waitFor(async () => expect(await t.pf.queue()).toHaveLength(0), { timeout: 5000 });
  });

  it('defers the mail (78 with status 4.3.5) on a bad configuration instead of bouncing it', async () => {
    await using t = await throughPipe();
    await t.install({ PSF_ON_TIMEOUT: 'sometimes' });
    await sendMail(t.pf.publicPort, {
      from: 's@example.net',
      to: ['carl@example.org'],
      subject: 'cfg',
      text: 'x',
    });
    await t.pf.waitForLog(/status=deferred \(psf-pipe: invalid configuration: .*onTimeout/, 15_000);
    expect(await t.pf.queue()).toHaveLength(1);

    await t.install();
    await t.pf.flush();
    const [m] = await t.sink.waitFor(1, 15_000);
    expect(header(m!.raw, 'Subject')).toBe('cfg');
  });

  it("delivers only the other owner's copy when one owner's classifier discards, and logs both as sent", async () => {
    await using t = await throughPipe({
      owners: { 'carol@example.org': () => ({ v: 1, action: 'discard' }) },
    });
    await sendMail(t.pf.publicPort, {
      from: 's@example.net',
      to: ['carol@example.org', 'dave@example.org'],
      subject: 'lunch tomorrow?',
      text: 'Shall we meet at noon?',
    });
    for (const rcpt of ['carol', 'dave']) {
      await t.pf.waitForLog(new RegExp(`to=<${rcpt}@example\\.org>, relay=psffilter, .*status=sent`), 15_000);
    }
    const [m] = await t.sink.waitFor(1, 15_000);
    await vi.waitFor(async () => expect(await t.pf.queue()).toHaveLength(0), { timeout: 5000 });
    expect(t.sink.mails).toHaveLength(1);
    expect(m!.rcpt).toEqual(['dave@example.org']);
  });
});

describe('psf-pipe CLI', () => {
  // The installed command (built dist/, as npm test builds before testing).
  const cli = fileURLToPath(new URL('../../packages/gateway/dist/pipe-cli.js', import.meta.url));
  const run = (args: string[]) =>
    promisify(execFile)(process.execPath, [cli, ...args], { timeout: 10_000 }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );

  it('explains itself with --help', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: psf-pipe \[--config file\] -f <sender> -- <recipient\.\.\.>/);
  });

  it('refuses unusable arguments with 69 (EX_UNAVAILABLE) and one line', async () => {
    const r = await run(['-f', 'a@example.net']);
    expect(r).toMatchObject({
      code: 69,
      stdout: '',
      stderr: "psf-pipe: missing required argument 'recipient'\n",
    });
  });
});
