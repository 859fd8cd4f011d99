import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createClamavClassifier, createComposite, createRulesClassifier } from '@psf/classifiers';
import { EICAR, openSmtp, sendMail, startClamd, startTcpProxy } from '@psf/testkit';
import { describe, expect, it, vi } from 'vitest';
import { header, throughPostfix } from './chain.js';

const cli = fileURLToPath(new URL('../../packages/gateway/dist/quarantine-cli.js', import.meta.url));
/** The built psf-quarantine command (npm test builds before testing). */
const quarantineCli = (args: string[], env: Record<string, string>) =>
  promisify(execFile)(process.execPath, [cli, ...args], {
    env: { ...process.env, ...env },
    timeout: 20_000,
  }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );

describe('through a real Postfix (after-queue content_filter)', () => {
  it('delivers spam tagged and ham clean, with the real client in the reinjection log', async () => {
    await using t = await throughPostfix();
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
    expect(mails.every((m) => m.rcpt.join() === 'alice@example.org')).toBe(true);
    // XFORWARD worked: the reinjection smtpd logs the original client and queue id.
    await t.pf.waitForLog(/orig_queue_id=\w+, orig_client=\S*\[127\.0\.0\.1\]:\d+/, 5000);
  });

  it('defers the mail (451) while RabbitMQ is unreachable and delivers it once the broker is back', async () => {
    await using proxy = await startTcpProxy(5672);
    await using t = await throughPostfix({ brokerPort: proxy.port });
    proxy.cut();
    await sendMail(t.pf.publicPort, {
      from: 'sender@example.net',
      to: ['bob@example.org'],
      subject: 'kept',
      text: 'hi',
    });
    await t.pf.waitForLog(/status=deferred .*451 4\.3\.0 classifiers unreachable/, 15_000);
    await vi.waitFor(async () => expect(await t.pf.queue()).toHaveLength(1), { timeout: 5000 });
    expect(t.sink.mails).toHaveLength(0);

    proxy.restore();
    await t.chain.gateway.ready(15_000);
    await t.pf.flush();
    const [m] = await t.sink.waitFor(1, 15_000);
    expect(header(m!.raw, 'Subject')).toBe('kept');
    expect(header(m!.raw, 'X-PSF-Status')).toBe('clean; action=accept');
    await vi.waitFor(async () => expect(await t.pf.queue()).toHaveLength(0), { timeout: 5000 });
  });

  it('with no classifier answering, onTimeout=tempfail keeps the mail in the queue', async () => {
    await using t = await throughPostfix({
      noDefault: true,
      gateway: { timeoutMs: 500, onTimeout: 'tempfail' },
    });
    await sendMail(t.pf.publicPort, {
      from: 's@example.net',
      to: ['c@example.org'],
      subject: 'wait',
      text: 'x',
    });
    await t.pf.waitForLog(/status=deferred .*451 4\.4\.1 no verdict/, 15_000);
    expect(await t.pf.queue()).toHaveLength(1);
    expect(t.sink.mails).toHaveLength(0);
  });

  it('with no classifier answering, onTimeout=accept delivers the mail marked unchecked', async () => {
    await using t = await throughPostfix({
      noDefault: true,
      gateway: { timeoutMs: 500, onTimeout: 'accept' },
    });
    await sendMail(t.pf.publicPort, {
      from: 's@example.net',
      to: ['c@example.org'],
      subject: 'go',
      text: 'x',
    });
    const [m] = await t.sink.waitFor(1, 15_000);
    expect(header(m!.raw, 'X-PSF-Status')).toBe('unchecked; reason=timeout');
  });

  it('LMTP: delivers the recipients that were settled and keeps only the failed one queued', async () => {
    let failing = true;
    await using t = await throughPostfix({
      owners: {
        'carol@example.org': () => ({ v: 1, action: 'tag', score: 8 }),
        'dave@example.org': () => {
          if (failing) throw new Error('model missing');
          return { v: 1, action: 'accept' };
        },
      },
      gateway: { mode: 'after-queue-lmtp', onTimeout: 'tempfail' },
    });
    const to = ['carol@example.org', 'dave@example.org', 'erin@example.org'];
    await sendMail(t.pf.publicPort, { from: 's@example.net', to, subject: 'team', text: 'hello' });
    const first = await t.sink.waitFor(2, 15_000);
    expect(first.flatMap((m) => m.rcpt).sort()).toEqual(['carol@example.org', 'erin@example.org']);
    await t.pf.waitForLog(/to=<dave@example.org>.*status=deferred .*451 4\.3\.0 the classifier failed/, 5000);
    const queued = await t.pf.queue();
    expect(queued.flatMap((q) => q.recipients.map((r) => r.address))).toEqual(['dave@example.org']);

    failing = false;
    await t.pf.flush();
    const all = await t.sink.waitFor(3, 15_000);
    expect(all[2]!.rcpt).toEqual(['dave@example.org']); // the retry carried dave only: no duplicates
    await new Promise((r) => setTimeout(r, 300));
    expect(t.sink.mails).toHaveLength(3);
  });

  it('keeps the DSN request of the sender across the filter (NOTIFY reaches the next hop)', async () => {
    await using t = await throughPostfix();
    await using smtp = await openSmtp(t.pf.publicPort);
    expect((await smtp.command('MAIL FROM:<s@example.net> RET=HDRS')).code).toBe(250);
    expect((await smtp.command('RCPT TO:<dora@example.org> NOTIFY=FAILURE,DELAY')).code).toBe(250);
    expect((await smtp.command('DATA')).code).toBe(354);
    expect((await smtp.command('Subject: dsn\r\n\r\nhello\r\n.')).code).toBe(250);
    const [m] = await t.sink.waitFor(1, 15_000);
    expect(m!.dsn.ret).toBe('HDRS');
    expect(m!.dsn.rcpt['dora@example.org']?.notify).toEqual(['FAILURE', 'DELAY']);
  });

  it("LMTP with afterQueueReject=bounce: a rejecting owner's recipient bounces, the other is delivered", async () => {
    await using t = await throughPostfix({
      owners: { 'carol@example.org': () => ({ v: 1, action: 'reject', reasons: ['CAROL'] }) },
      gateway: { mode: 'after-queue-lmtp', afterQueueReject: 'bounce' },
    });
    await sendMail(t.pf.publicPort, {
      from: 's@example.net',
      to: ['carol@example.org', 'erin@example.org'],
      subject: 'x',
      text: 'x',
    });
    await t.pf.waitForLog(
      /to=<carol@example.org>.*status=bounced .*550 5\.7\.1 message refused as spam/,
      15_000,
    );
    await t.pf.waitForLog(/to=<erin@example.org>.*status=sent/, 5000);
    // The sink gets erin's copy and the bounce to the sender (the backscatter this option accepts).
    const mails = await t.sink.waitFor(2, 15_000);
    expect(mails.map((m) => m.rcpt.join()).sort()).toEqual(['erin@example.org', 's@example.net']);
  });

  it('delivers a mail to three owners with three different verdicts as three correct copies', async () => {
    await using t = await throughPostfix({
      owners: {
        'carol@example.org': () => ({ v: 1, action: 'tag', score: 8, reasons: ['CAROL_RULE'] }),
        'dave@example.org': () => ({ v: 1, action: 'accept', score: 1, headers: { 'X-Dave': 'checked' } }),
      },
    });
    const to = ['carol@example.org', 'dave@example.org', 'erin@example.org'];
    await sendMail(t.pf.publicPort, {
      from: 's@example.net',
      to,
      subject: 'WINNER OF THE CASH PRIZE',
      text: 'You have won the lottery, act now!',
    });
    const copies = await t.sink.waitFor(3, 15_000);
    const of = (rcpt: string) => copies.find((c) => c.rcpt.includes(rcpt))!.raw;
    expect(copies.map((c) => c.rcpt.length)).toEqual([1, 1, 1]);
    expect(header(of('carol@example.org'), 'X-Spam-Status')).toBe('Yes, score=8.0 tests=CAROL_RULE');
    expect(header(of('dave@example.org'), 'X-Spam-Flag')).toBe('NO');
    expect(header(of('dave@example.org'), 'X-Dave')).toBe('checked');
    expect(header(of('erin@example.org'), 'X-Spam-Status')).toMatch(/^Yes, score=\d+\.\d tests=.*LOTTERY/);
    await t.pf.waitForLog(/status=sent .*delivered as 3 copies/, 5000);
  });

  it('quarantines, lists and releases a mail with psf-quarantine; the release reaches the next hop with its DSN request', async () => {
    await using t = await throughPostfix({
      owners: {
        // A tab in a reason must not shift psf-quarantine's columns.
        'carol@example.org': () => ({ v: 1, action: 'quarantine', score: 11, reasons: ['CAROL', 'TAB\tIN'] }),
      },
    });
    await using smtp = await openSmtp(t.pf.publicPort);
    expect((await smtp.command('MAIL FROM:<s@example.net> RET=HDRS')).code).toBe(250);
    expect((await smtp.command('RCPT TO:<carol@example.org> NOTIFY=FAILURE,DELAY')).code).toBe(250);
    expect((await smtp.command('RCPT TO:<erin@example.org>')).code).toBe(250);
    expect((await smtp.command('DATA')).code).toBe(354);
    expect((await smtp.command('Subject: hold\r\n\r\nx\r\n.')).code).toBe(250);
    const [erin] = await t.sink.waitFor(1, 15_000);
    expect(erin!.rcpt).toEqual(['erin@example.org']);
    await t.pf.waitForLog(/status=sent .*quarantined for 1/, 5000);

    const env = { PSF_AMQP_URL: t.chain.vhost.url, PSF_REINJECT: `127.0.0.1:${t.pf.reinjectPort}` };
    const list = await quarantineCli(['list', 'carol@example.org'], env);
    expect(list.code).toBe(0);
    const [id, , from, rcpt, score, reasons] = list.stdout.trim().split('\t');
    expect([from, rcpt, score, reasons]).toEqual([
      '<s@example.net>',
      'carol@example.org',
      '11.0',
      'CAROL,TAB?IN',
    ]);

    expect((await quarantineCli(['release', 'carol@example.org', id!], env)).code).toBe(0);
    const [, carol] = await t.sink.waitFor(2, 15_000);
    expect(carol!.rcpt).toEqual(['carol@example.org']);
    expect(header(carol!.raw, 'X-PSF-Status')).toBe('released; action=quarantine');
    expect(header(carol!.raw, 'Subject')).toBe('hold');
    expect(carol!.dsn.ret).toBe('HDRS');
    expect(carol!.dsn.rcpt['carol@example.org']?.notify).toEqual(['FAILURE', 'DELAY']);
    expect((await quarantineCli(['list', 'carol@example.org'], env)).stdout).toBe('');
    expect((await quarantineCli(['release', 'carol@example.org', id!], env)).code).toBe(1);
  });

  it('a virus is quarantined by the ClamAV bridge on psf.default (as amavisd-new would), clean mail delivered', async () => {
    await using clamd = await startClamd();
    await using t = await throughPostfix({
      defaultHandler: createClamavClassifier({ host: clamd.host, port: clamd.port }),
    });
    const attached = (content: string) =>
      `From: a@example.net\r\nTo: dora@example.org\r\nSubject: your file\r\nMIME-Version: 1.0\r\n` +
      `Content-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n` +
      `--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n` +
      `Content-Disposition: attachment; filename=tool.com\r\n\r\n${Buffer.from(content).toString('base64')}\r\n--b1--\r\n`;
    await using smtp = await openSmtp(t.pf.publicPort);
    await smtp.send({ from: 'a@example.net', to: ['dora@example.org'], raw: attached(EICAR) });
    await smtp.send({ from: 'a@example.net', to: ['dora@example.org'], raw: attached('a harmless file\n') });
    const [clean] = await t.sink.waitFor(1, 15_000);
    expect(header(clean!.raw, 'X-PSF-Status')).toBe('clean; action=accept');
    await t.pf.waitForLog(/status=sent .*quarantined for 1/, 5000);
    const env = { PSF_AMQP_URL: t.chain.vhost.url, PSF_REINJECT: `127.0.0.1:${t.pf.reinjectPort}` };
    const list = await quarantineCli(['list', 'dora@example.org'], env);
    const [, , from, rcpt, score, reasons] = list.stdout.trim().split('\t');
    expect([from, rcpt, score, reasons]).toEqual([
      '<a@example.net>',
      'dora@example.org',
      '100.0',
      `VIRUS:${clamd.eicarName}`,
    ]);
    expect(t.sink.mails).toHaveLength(1);
  });

  it('clamd down with clamav required in the composite: Postfix keeps the mail (451) and delivers it scanned once clamd is back', async () => {
    await using clamd = await startClamd();
    await using proxy = await startTcpProxy(clamd.port);
    const composite = createComposite({
      members: [
        { name: 'rules', classify: createRulesClassifier() },
        {
          name: 'clamav',
          classify: createClamavClassifier({ host: '127.0.0.1', port: proxy.port }),
          required: true,
        },
      ],
      thresholds: { tag: 5, quarantine: 50 },
    });
    await using t = await throughPostfix({ defaultHandler: composite, gateway: { onTimeout: 'tempfail' } });
    proxy.cut();
    await sendMail(t.pf.publicPort, {
      from: 'a@example.net',
      to: ['dora@example.org'],
      subject: 'kept',
      text: 'hi',
    });
    await t.pf.waitForLog(/status=deferred .*451 4\.3\.0 the classifier failed on this mail/, 15_000);
    expect(await t.pf.queue()).toHaveLength(1);
    expect(t.sink.mails).toHaveLength(0);

    proxy.restore();
    await t.pf.flush();
    const [m] = await t.sink.waitFor(1, 15_000);
    expect(header(m!.raw, 'Subject')).toBe('kept');
    expect(header(m!.raw, 'X-PSF-Status')).toBe('clean; action=accept');
  });
});

describe('through a real Postfix (before-queue smtpd_proxy_filter)', () => {
  const sendError = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (e: { responseCode?: number; response?: string }) => e,
    );

  it('refuses a rejected mail with 550 to the sending client, and queues nothing', async () => {
    await using t = await throughPostfix({
      owners: { 'carol@example.org': () => ({ v: 1, action: 'reject', reasons: ['BAD'] }) },
      gateway: { mode: 'before-queue' },
    });
    const err = await sendError(
      sendMail(t.pf.publicPort, {
        from: 's@example.net',
        to: ['carol@example.org'],
        subject: 'x',
        text: 'x',
      }),
    );
    expect(err?.responseCode).toBe(550);
    expect(err?.response).toMatch(/5\.7\.1 message refused as spam/);
    await t.pf.waitForLog(/proxy-reject: END-OF-MESSAGE: 550 5\.7\.1/, 5000);
    expect(await t.pf.queue()).toHaveLength(0);
    expect(t.sink.mails).toHaveLength(0);
  });

  it('delivers accepted mail tagged by the verdict, with the real client logged', async () => {
    await using t = await throughPostfix({ gateway: { mode: 'before-queue' } });
    const base = { from: 's@example.net', to: ['alice@example.org'] };
    await sendMail(t.pf.publicPort, {
      ...base,
      subject: 'WINNER OF THE CASH PRIZE',
      text: 'You have won the lottery, act now!',
    });
    const [m] = await t.sink.waitFor(1, 15_000);
    expect(header(m!.raw, 'X-Spam-Flag')).toBe('YES');
    await t.pf.waitForLog(/orig_client=\S*\[127\.0\.0\.1\]:\d+/, 5000);
  });

  it('tempfails the sending client (451) while RabbitMQ is unreachable; Postfix keeps nothing', async () => {
    await using proxy = await startTcpProxy(5672);
    await using t = await throughPostfix({ brokerPort: proxy.port, gateway: { mode: 'before-queue' } });
    proxy.cut();
    const err = await sendError(
      sendMail(t.pf.publicPort, { from: 's@example.net', to: ['bob@example.org'], subject: 'x', text: 'x' }),
    );
    expect(err?.responseCode).toBe(451);
    expect(await t.pf.queue()).toHaveLength(0);
  });

  it('when smtpd_proxy_timeout expires first, the client gets 451 and the late verdict delivers nothing', async () => {
    await using t = await throughPostfix({
      owners: {
        'slow@example.org': async () => {
          await new Promise((r) => setTimeout(r, 4000));
          return { v: 1, action: 'accept' };
        },
      },
      gateway: { mode: 'before-queue', timeoutMs: 8000 },
      mainCf: ['smtpd_proxy_timeout = 2s'],
    });
    const started = Date.now();
    const err = await sendError(
      sendMail(t.pf.publicPort, { from: 's@example.net', to: ['slow@example.org'], subject: 'x', text: 'x' }),
    );
    expect(err?.responseCode).toBe(451);
    expect(Date.now() - started).toBeLessThan(4000);
    await new Promise((r) => setTimeout(r, 3500)); // past the verdict
    // The client's retry is the only delivery. (Postfix itself mails postmaster a transcript of
    // the proxy timeout, a "software" notice: that one may be at the sink.)
    expect(t.sink.mails.filter((m) => m.rcpt.includes('slow@example.org'))).toHaveLength(0);
    expect(await t.pf.maillog()).toMatch(/warning: timeout talking to proxy/);
  });
});
