import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertUserQueue } from '@psf/broker';
import { openSmtp, SmtpSession } from '@psf/testkit';
import amqp from 'amqplib';
import { describe, expect, it, vi } from 'vitest';
import { HAM, header, SPAM, startChain } from './chain.js';

// The gateway between real sockets: a test SMTP client in, RabbitMQ and classifiers in the
// middle, the sink standing in for Postfix's reinjection smtpd. Postfix itself: postfix.test.ts.
describe('gateway without Postfix', () => {
  it('tags spam, leaves ham clean, forwards XFORWARD, and answers 250 with the mail id', async () => {
    await using chain = await startChain();
    await using smtp = await openSmtp(chain.gateway.address.port);
    const xforward = {
      NAME: 'mx.example.net',
      ADDR: '192.0.2.25',
      PORT: '40000',
      PROTO: 'ESMTP',
      HELO: 'mx.example.net',
      IDENT: 'ABC123',
      SOURCE: 'REMOTE',
    };
    const spam = await smtp.send({
      from: 'win@lottery.test',
      to: ['alice@example.org'],
      raw: SPAM('alice@example.org'),
      xforward,
    });
    const ham = await smtp.send({
      from: 'bob@example.net',
      to: ['alice@example.org'],
      raw: HAM('alice@example.org'),
      xforward,
    });
    expect(spam.code).toBe(250);
    expect(spam.text).toMatch(/^2\.0\.0 Ok: delivered as 1 copy \([\w-]+\)$/);
    expect(ham.code).toBe(250);
    const [s, h] = await chain.sink.waitFor(2, 5000);
    expect(header(s!.raw, 'X-Spam-Flag')).toBe('YES');
    expect(header(s!.raw, 'X-PSF-Status')).toBe('spam; action=tag');
    expect(header(s!.raw, 'X-Spam-Status')).toMatch(/^Yes, score=\d+\.\d tests=.*LOTTERY/);
    expect(header(h!.raw, 'X-Spam-Flag')).toBe('NO');
    expect(header(h!.raw, 'X-PSF-Status')).toBe('clean; action=accept');
    expect(s!.xforward).toMatchObject({
      ADDR: '192.0.2.25',
      HELO: 'mx.example.net',
      IDENT: 'ABC123',
      NAME: 'mx.example.net',
    });
    expect(s!.rcpt).toEqual(['alice@example.org']);
  });

  it('strips spoofed X-Spam-* and X-PSF-* headers from incoming mail', async () => {
    await using chain = await startChain();
    await using smtp = await openSmtp(chain.gateway.address.port);
    const forged = 'X-Spam-Flag: NO\r\nX-PSF-Status: clean\r\n';
    expect(
      (
        await smtp.send({
          from: 'win@lottery.test',
          to: ['a@example.org'],
          raw: SPAM('a@example.org', forged),
        })
      ).code,
    ).toBe(250);
    const [m] = await chain.sink.waitFor(1, 5000);
    const text = m!.raw.toString('latin1');
    expect(text.match(/^X-Spam-Flag:/gim)).toHaveLength(1);
    expect(header(m!.raw, 'X-Spam-Flag')).toBe('YES');
  });

  it('sends one copy per group of owners with the same verdict, and drops discarded recipients', async () => {
    await using chain = await startChain({
      owners: {
        'carol@example.org': () => ({ v: 1, action: 'discard' }),
        'dave@example.org': () => ({ v: 1, action: 'accept', score: 0 }),
      },
    });
    await using smtp = await openSmtp(chain.gateway.address.port);
    const to = ['carol@example.org', 'dave@example.org', 'erin@example.org', 'Frank@Example.org'];
    const r = await smtp.send({ from: 'bob@example.net', to, raw: HAM('x@example.org') });
    expect(r.code).toBe(250);
    expect(r.text).toMatch(/delivered as 1 copy/);
    // dave (own classifier: accept) and erin/frank (default classifier: ham) get the same headers.
    const [copy] = await chain.sink.waitFor(1, 5000);
    expect(copy!.rcpt.sort()).toEqual(['Frank@Example.org', 'dave@example.org', 'erin@example.org']);
    await new Promise((res) => setTimeout(res, 200));
    expect(chain.sink.mails).toHaveLength(1);
  });

  it('answers 451 with the mail id when the broker is unreachable, and sends nothing on', async () => {
    await using chain = await startChain({ gateway: { amqpUrl: 'amqp://guest:guest@127.0.0.1:1/none' } });
    await using smtp = await openSmtp(chain.gateway.address.port);
    const r = await smtp.send({ from: 'bob@example.net', to: ['a@example.org'], raw: HAM('a@example.org') });
    expect(r.code).toBe(451);
    expect(r.text).toMatch(/^4\.3\.0 classifiers unreachable .*\([\w-]+\)$/);
    expect(chain.sink.mails).toHaveLength(0);
  });

  it('with no classifier answering: onTimeout=accept delivers marked unchecked, tempfail answers 451', async () => {
    await using accept = await startChain({
      noDefault: true,
      gateway: { timeoutMs: 300, onTimeout: 'accept' },
    });
    await using s1 = await openSmtp(accept.gateway.address.port);
    expect(
      (await s1.send({ from: 'b@example.net', to: ['a@example.org'], raw: HAM('a@example.org') })).code,
    ).toBe(250);
    const [m] = await accept.sink.waitFor(1, 5000);
    expect(header(m!.raw, 'X-PSF-Status')).toBe('unchecked; reason=timeout');

    await using tempfail = await startChain({
      noDefault: true,
      gateway: { timeoutMs: 300, onTimeout: 'tempfail' },
    });
    await using s2 = await openSmtp(tempfail.gateway.address.port);
    const r = await s2.send({ from: 'b@example.net', to: ['a@example.org'], raw: HAM('a@example.org') });
    expect(r.code).toBe(451);
    expect(r.text).toMatch(/^4\.4\.1 no verdict/);
    expect(tempfail.sink.mails).toHaveLength(0);
  });

  it('answers 451 when the reinjection server refuses the copy, whether 4xx or 5xx', async () => {
    for (const code of [451, 554]) {
      await using chain = await startChain({ sink: { reply: () => ({ code, message: 'not now' }) } });
      await using smtp = await openSmtp(chain.gateway.address.port);
      const r = await smtp.send({ from: 'b@example.net', to: ['a@example.org'], raw: HAM('a@example.org') });
      expect(r.code).toBe(451);
      expect(r.text).toMatch(/^4\.\d\.\d reinjection/);
    }
  });

  it('answers 451 when RabbitMQ refuses the request (the owner queue is full)', async () => {
    await using chain = await startChain();
    const admin = await amqp.connect(chain.vhost.url);
    await assertUserQueue(await admin.createChannel(), 'full@example.org', { maxQueueLength: 0 });
    await admin.close();
    await using smtp = await openSmtp(chain.gateway.address.port);
    const r = await smtp.send({
      from: 'b@example.net',
      to: ['full@example.org'],
      raw: HAM('full@example.org'),
    });
    expect(r.code).toBe(451);
    expect(r.text).toMatch(/^4\.3\.0 classifier queue refused the request/);
    expect(chain.sink.mails).toHaveLength(0);
    // The refused request was dead-lettered; the gateway's watcher counts why.
    await vi.waitFor(async () =>
      expect(await chain.gateway.metrics.registry.metrics()).toMatch(
        /^psf_dead_letters_total\{owner="full@example.org",reason="maxlen"\} 1$/m,
      ),
    );
  });

  it('scans only the first maxScanBytes, flagged as truncated, and delivers the whole mail', async () => {
    const seen: Array<{ truncated: boolean; bytes: number; size: number }> = [];
    await using chain = await startChain({
      owners: {
        'big@example.org': (mail) => {
          seen.push({ truncated: mail.truncated, bytes: mail.raw.length, size: mail.size });
          return { v: 1, action: 'accept' };
        },
      },
      gateway: { maxScanBytes: 4096 },
    });
    await using smtp = await openSmtp(chain.gateway.address.port);
    const raw = HAM('big@example.org', '').replace(
      'Shall we meet at noon?',
      'x'.repeat(998).concat('\r\n').repeat(100),
    );
    expect((await smtp.send({ from: 'b@example.net', to: ['big@example.org'], raw })).code).toBe(250);
    const [m] = await chain.sink.waitFor(1, 5000);
    expect(seen).toEqual([{ truncated: true, bytes: 4096, size: raw.length }]);
    expect(m!.raw.toString('latin1')).toContain(raw.slice(raw.indexOf('From:')));
  });

  it('refuses clients it does not trust before any command (it would relay anything)', async () => {
    await using chain = await startChain({ gateway: { trustedClients: ['192.0.2.1'] } });
    const { session, banner } = await SmtpSession.open(chain.gateway.address.port);
    expect(banner.code).toBe(554);
    await session.close();
  });

  it('on close, finishes the mail in flight (250, delivered) before shutting down', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    await using chain = await startChain({
      owners: {
        'slow@example.org': async () => {
          await gate;
          return { v: 1, action: 'accept' };
        },
      },
    });
    const smtp = await openSmtp(chain.gateway.address.port);
    const reply = smtp.send({
      from: 'b@example.net',
      to: ['slow@example.org'],
      raw: HAM('slow@example.org'),
    });
    await new Promise((r) => setTimeout(r, 300));
    const closing = chain.gateway.close();
    setTimeout(release, 200);
    expect((await reply).code).toBe(250);
    await smtp.close();
    await closing;
    expect(chain.sink.mails).toHaveLength(1);
  });

  it('delivers a mail to three owners with three different verdicts as three correct copies', async () => {
    await using chain = await startChain({
      owners: {
        'carol@example.org': () => ({ v: 1, action: 'tag', score: 8, reasons: ['CAROL_RULE'] }),
        'dave@example.org': () => ({ v: 1, action: 'accept', score: 1, headers: { 'X-Dave': 'checked' } }),
      },
    });
    await using smtp = await openSmtp(chain.gateway.address.port);
    const to = ['carol@example.org', 'dave@example.org', 'erin@example.org'];
    const r = await smtp.send({ from: 'win@lottery.test', to, raw: SPAM('team@example.org') });
    expect(r.text).toMatch(/delivered as 3 copies/);
    const copies = await chain.sink.waitFor(3, 5000);
    const of = (rcpt: string) => copies.find((c) => c.rcpt.includes(rcpt))!;
    expect(copies.map((c) => c.rcpt.length)).toEqual([1, 1, 1]);
    expect(header(of('carol@example.org').raw, 'X-Spam-Status')).toBe('Yes, score=8.0 tests=CAROL_RULE');
    expect(header(of('dave@example.org').raw, 'X-Spam-Flag')).toBe('NO');
    expect(header(of('dave@example.org').raw, 'X-Dave')).toBe('checked');
    expect(header(of('erin@example.org').raw, 'X-Spam-Status')).toMatch(
      /^Yes, score=\d+\.\d tests=.*LOTTERY/,
    );
  });

  it('asks each personal classifier once, and the default classifier once for everyone else', async () => {
    const asked: string[][] = [];
    await using chain = await startChain({
      owners: { 'carol@example.org': () => ({ v: 1, action: 'accept' }) },
      defaultHandler: (mail) => {
        asked.push(mail.envelope.rcpt);
        return { v: 1, action: 'accept' };
      },
    });
    await using smtp = await openSmtp(chain.gateway.address.port);
    const to = ['erin@example.org', 'carol@example.org', 'frank@example.org', 'gina@example.org'];
    expect((await smtp.send({ from: 'b@example.net', to, raw: HAM('team@example.org') })).code).toBe(250);
    expect(asked).toEqual([['erin@example.org', 'frank@example.org', 'gina@example.org']]);
    const copies = await chain.sink.waitFor(1, 5000);
    expect(copies[0]!.rcpt).toHaveLength(4); // same verdict everywhere: one copy
  });

  it('applies the default and per-owner policies: thresholds, subject tag, headers', async () => {
    const fourPoints = () => ({ v: 1 as const, action: 'accept' as const, score: 4 });
    await using chain = await startChain({
      owners: {
        'carol@example.org': fourPoints,
        'dave@example.org': fourPoints,
        'erin@example.org': fourPoints,
      },
      gateway: {
        policy: {
          default: { tagAbove: 3, subjectTag: '[SPAM] ' },
          owners: { 'dave@example.org': { tagAbove: 10 }, 'erin@example.org': { headers: false } },
        },
      },
    });
    await using smtp = await openSmtp(chain.gateway.address.port);
    const to = ['carol@example.org', 'dave@example.org', 'erin@example.org'];
    expect((await smtp.send({ from: 'b@example.net', to, raw: HAM('team@example.org') })).code).toBe(250);
    const copies = await chain.sink.waitFor(3, 5000);
    const of = (rcpt: string) => copies.find((c) => c.rcpt.includes(rcpt))!.raw;
    expect(header(of('carol@example.org'), 'Subject')).toBe('[SPAM] lunch tomorrow?');
    expect(header(of('carol@example.org'), 'X-PSF-Status')).toBe('spam; action=tag');
    expect(header(of('dave@example.org'), 'Subject')).toBe('lunch tomorrow?');
    expect(header(of('dave@example.org'), 'X-Spam-Flag')).toBe('NO');
    expect(header(of('erin@example.org'), 'Subject')).toBe('[SPAM] lunch tomorrow?');
    expect(header(of('erin@example.org'), 'X-PSF-Status')).toBeUndefined();
  });

  it('spools a big mail to disk and delivers it byte for byte, leaving no spool file behind', async () => {
    const spool = await mkdtemp(join(tmpdir(), 'psf-spool-e2e-'));
    try {
      let spooledWhileScanning: string[] = [];
      let scanned = 0;
      await using chain = await startChain({
        gateway: { spool: { dir: spool, memoryBytes: 64 * 1024 }, maxScanBytes: 32 * 1024 },
        defaultHandler: async (mail) => {
          spooledWhileScanning = await readdir(spool);
          scanned = mail.raw.length;
          return { v: 1, action: 'accept' };
        },
      });
      await using smtp = await openSmtp(chain.gateway.address.port);
      const line = `${'y'.repeat(76)}\r\n`;
      const raw = HAM('a@example.org').replace('Shall we meet at noon?\r\n', line.repeat(40_000)); // ~3 MB
      expect((await smtp.send({ from: 'b@example.net', to: ['a@example.org'], raw })).code).toBe(250);
      const [m] = await chain.sink.waitFor(1, 10_000);
      const got = m!.raw.toString('latin1');
      expect(got.slice(got.indexOf('From: Bob'))).toBe(raw);
      expect(header(m!.raw, 'X-Spam-Flag')).toBe('NO');
      expect(spooledWhileScanning).toHaveLength(1);
      expect(scanned).toBe(32 * 1024);
      expect(await readdir(spool)).toEqual([]);
    } finally {
      await rm(spool, { recursive: true, force: true });
    }
  });

  it('passes DSN parameters (RET, ENVID, NOTIFY, ORCPT) on to the reinjection server', async () => {
    await using chain = await startChain();
    await using smtp = await openSmtp(chain.gateway.address.port);
    expect((await smtp.command('MAIL FROM:<b@example.net> RET=HDRS ENVID=q+2B1')).code).toBe(250);
    expect(
      (await smtp.command('RCPT TO:<a@example.org> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;A@example.org')).code,
    ).toBe(250);
    expect((await smtp.command('RCPT TO:<c@example.org>')).code).toBe(250);
    expect((await smtp.command('DATA')).code).toBe(354);
    expect((await smtp.command(`${HAM('a@example.org')}.`)).code).toBe(250);
    const [m] = await chain.sink.waitFor(1, 5000);
    expect(m!.dsn).toEqual({
      ret: 'HDRS',
      envid: 'q+1',
      rcpt: { 'a@example.org': { notify: ['SUCCESS', 'DELAY'], orcpt: 'rfc822;A@example.org' } },
    });
  });

  it('counts mails, recipients by owner and status, and latencies at /metrics and /stats', async () => {
    await using chain = await startChain({
      owners: { 'carol@example.org': () => ({ v: 1, action: 'quarantine', score: 12 }) },
      gateway: { metrics: { port: 0 } },
    });
    await using smtp = await openSmtp(chain.gateway.address.port);
    await smtp.send({ from: 'win@lottery.test', to: ['bob@example.org'], raw: SPAM('bob@example.org') });
    await smtp.send({
      from: 'b@example.net',
      to: ['carol@example.org', 'dave@example.org'],
      raw: HAM('x@example.org'),
    });
    const { port } = chain.gateway.metricsAddress!;
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(text).toMatch(/^psf_mails_total\{outcome="ok"\} 2$/m);
    // Two mails over one session.
    expect(text).toMatch(/^psf_smtp_sessions_total 1$/m);
    expect(text).toMatch(/^psf_recipients_total\{owner="bob@example.org",status="spam"\} 1$/m);
    expect(text).toMatch(/^psf_recipients_total\{owner="carol@example.org",status="quarantined"\} 1$/m);
    expect(text).toMatch(/^psf_recipients_total\{owner="dave@example.org",status="clean"\} 1$/m);
    expect(text).toMatch(/^psf_classify_seconds_count 3$/m);
    expect(text).toMatch(/^psf_broker_connected 1$/m);
    expect(text).toMatch(/^psf_mails_in_flight 0$/m);
    const stats = (await (await fetch(`http://127.0.0.1:${port}/stats`)).json()) as Array<{ name: string }>;
    expect(stats.map((m) => m.name)).toContain('psf_mail_seconds');
  });

  it('counts why mails were not settled: reinjection refused, no route to any classifier', async () => {
    await using chain = await startChain({
      noDefault: true,
      owners: { 'carol@example.org': () => ({ v: 1, action: 'accept' }) },
      sink: { reply: () => ({ code: 451, message: '4.3.0 try later' }) },
      gateway: { timeoutMs: 500, onTimeout: 'tempfail' },
    });
    await using smtp = await openSmtp(chain.gateway.address.port);
    const refused = await smtp.send({
      from: 'b@example.net',
      to: ['carol@example.org'],
      raw: HAM('carol@example.org'),
    });
    expect(refused.code).toBe(451);
    // Nobody consumes psf.default: the request times out, the policy says tempfail.
    const timedOut = await smtp.send({
      from: 'b@example.net',
      to: ['erin@example.org'],
      raw: HAM('erin@example.org'),
    });
    expect(timedOut.code).toBe(451);
    const text = await chain.gateway.metrics.registry.metrics();
    expect(text).toMatch(/^psf_mail_failures_total\{reason="reinject_tempfail"\} 1$/m);
    expect(text).toMatch(/^psf_mail_failures_total\{reason="timeout"\} 1$/m);
    expect(text).toMatch(/^psf_mails_total\{outcome="tempfail"\} 2$/m);
  });

  it('reload() applies a new policy to the mails that follow', async () => {
    await using chain = await startChain({
      owners: { 'carol@example.org': () => ({ v: 1, action: 'accept', score: 4 }) },
      gateway: { policy: { default: { tagAbove: 10 } } },
    });
    await using smtp = await openSmtp(chain.gateway.address.port);
    const send = () =>
      smtp.send({ from: 'b@example.net', to: ['carol@example.org'], raw: HAM('carol@example.org') });
    expect((await send()).code).toBe(250);
    chain.gateway.reload({ policy: { default: { tagAbove: 3, subjectTag: '[SPAM] ' } } });
    expect((await send()).code).toBe(250);
    const [before, after] = await chain.sink.waitFor(2, 5000);
    expect(header(before!.raw, 'X-Spam-Flag')).toBe('NO');
    expect(header(after!.raw, 'X-Spam-Flag')).toBe('YES');
    expect(header(after!.raw, 'Subject')).toBe('[SPAM] lunch tomorrow?');
  });

  it('LMTP: answers per recipient, deferring only the owner whose classifier failed', async () => {
    await using chain = await startChain({
      owners: {
        'carol@example.org': () => ({ v: 1, action: 'tag', score: 8 }),
        'dave@example.org': () => {
          throw new Error('model missing');
        },
      },
      gateway: { mode: 'after-queue-lmtp', onTimeout: 'tempfail' },
    });
    await using lmtp = await openSmtp(chain.gateway.address.port, 'postfix.test', true);
    const to = ['carol@example.org', 'dave@example.org', 'erin@example.org'];
    const replies = await lmtp.sendLmtp({ from: 'bob@example.net', to, raw: HAM('team@example.org') });
    expect(replies.map((r) => r.code)).toEqual([250, 451, 250]);
    expect(replies[0]!.text).toMatch(/^2\.0\.0 <carol@example.org> Ok: delivered \([\w-]+\)$/);
    expect(replies[1]!.text).toMatch(/^4\.3\.0 the classifier failed/);
    const copies = await chain.sink.waitFor(2, 5000);
    expect(copies.flatMap((c) => c.rcpt).sort()).toEqual(['carol@example.org', 'erin@example.org']);
  });

  describe('before queue (smtpd_proxy_filter)', () => {
    const rejectAll = () => ({ v: 1 as const, action: 'reject' as const, reasons: ['BAD_SENDER'] });

    it('answers 550 5.7.1 when every owner rejects, and delivers nothing', async () => {
      await using chain = await startChain({
        owners: { 'carol@example.org': rejectAll, 'dave@example.org': rejectAll },
        gateway: { mode: 'before-queue' },
      });
      await using smtp = await openSmtp(chain.gateway.address.port);
      const to = ['carol@example.org', 'dave@example.org'];
      const r = await smtp.send({ from: 'win@lottery.test', to, raw: SPAM('carol@example.org') });
      expect(r.code).toBe(550);
      expect(r.text).toMatch(/^5\.7\.1 message refused as spam .*\([\w-]+\)$/);
      await new Promise((res) => setTimeout(res, 200));
      expect(chain.sink.mails).toHaveLength(0);
    });

    it('when only some owners reject, drops their recipients and delivers to the others', async () => {
      await using chain = await startChain({
        owners: { 'carol@example.org': rejectAll },
        gateway: { mode: 'before-queue' },
      });
      await using smtp = await openSmtp(chain.gateway.address.port);
      const r = await smtp.send({
        from: 'b@example.net',
        to: ['carol@example.org', 'erin@example.org'],
        raw: HAM('x@example.org'),
      });
      expect(r.code).toBe(250);
      const [m] = await chain.sink.waitFor(1, 5000);
      expect(m!.rcpt).toEqual(['erin@example.org']);
    });

    it('after queue, a reject verdict is delivered tagged instead (no backscatter)', async () => {
      await using chain = await startChain({ owners: { 'carol@example.org': rejectAll } });
      await using smtp = await openSmtp(chain.gateway.address.port);
      const r = await smtp.send({
        from: 'b@example.net',
        to: ['carol@example.org'],
        raw: HAM('carol@example.org'),
      });
      expect(r.code).toBe(250);
      const [m] = await chain.sink.waitFor(1, 5000);
      expect(header(m!.raw, 'X-PSF-Status')).toBe('spam; action=reject');
    });

    it('reinjects nothing when the client is gone before the verdict (its retry must not duplicate)', async () => {
      let release: () => void = () => {};
      const gate = new Promise<void>((r) => {
        release = r;
      });
      let asked = 0;
      await using chain = await startChain({
        owners: {
          'slow@example.org': async () => {
            asked++;
            await gate;
            return { v: 1, action: 'accept' };
          },
        },
        gateway: { mode: 'before-queue' },
      });
      const smtp = await openSmtp(chain.gateway.address.port);
      void smtp.send({ from: 'b@example.net', to: ['slow@example.org'], raw: HAM('slow@example.org') });
      await vi.waitFor(() => expect(asked).toBe(1), { timeout: 5000 });
      smtp.destroy();
      await new Promise((r) => setTimeout(r, 100));
      release();
      await new Promise((r) => setTimeout(r, 500));
      expect(chain.sink.mails).toHaveLength(0);
    });
  });
});
