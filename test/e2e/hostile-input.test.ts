import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_QUEUE } from '@psf/protocol';
import { openSmtp, SmtpSession } from '@psf/testkit';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAIL_CASES, SESSION_CASES } from '../hostile/cases.js';
import { BIG_MAIL_START, bigMail } from '../hostile/generate.js';
import { startHashingTarget } from '../hostile/hashing-target.js';
import { RawSmtp } from '../hostile/raw-smtp.js';
import { type Chain, HAM, header, startChain } from './chain.js';

// Hostile and broken input against a real gateway, a real classifier on a test vhost and a sink,
// over real SMTP sockets: each case is delivered intact or refused with a clear code, and a normal
// mail goes through after it. The corpus and its expected outcomes: test/hostile.

/** The gateway's own fields, which it prepends to every copy. */
const OWN_FIELDS = /^(?:(?:X-PSF-[\w-]+|X-Spam-[\w-]+): [^\r\n]*\r\n)*$/i;
const OWNED_FIELD = /^(?:x-psf-|x-spam-)[^\r\n]*\r\n(?:[ \t][^\r\n]*\r\n)*/gim;

/** The mail as DATA on the wire: dot-stuffed after every LF (as smtp-server unstuffs) and terminated. */
function wire(raw: Buffer): string {
  const text = raw.toString('latin1');
  return `${text.replace(/(^|\n)\./g, '$1..')}${text.endsWith('\r\n') ? '' : '\r\n'}.\r\n`;
}

/** What the sink must receive after the gateway's fields: CRLF line ends, forged psf fields gone. */
function intact(raw: Buffer): string {
  let text = raw.toString('latin1');
  if (!text.endsWith('\r\n')) text += '\r\n';
  text = text.replace(/\r\n|\r|\n/g, '\r\n');
  if (text.startsWith('\r\n')) return text; // no header at all
  const end = text.indexOf('\r\n\r\n');
  if (end === -1) return text.replace(OWNED_FIELD, ''); // all header
  return text.slice(0, end + 2).replace(OWNED_FIELD, '') + text.slice(end + 2);
}

const expected = (name: string) => {
  const c = SESSION_CASES.find((s) => s.name === name);
  if (!c) throw new Error(`no session case ${name}`);
  return c;
};

/** A normal mail on a fresh session: the gateway still serves. */
async function stillServes(chain: Chain): Promise<void> {
  const before = chain.sink.mails.length;
  await using s = await openSmtp(chain.gateway.address.port);
  const r = await s.send({
    from: 'bob@example.net',
    to: ['alice@example.org'],
    raw: HAM('alice@example.org'),
  });
  expect(r.code).toBe(250);
  const m = (await chain.sink.waitFor(before + 1, 10_000))[before]!;
  expect(header(m.raw, 'Message-ID')).toBe('<ham-1@example.net>');
}

describe('hostile mails: delivered intact or refused, and the gateway keeps serving', () => {
  let chain: Chain;
  beforeAll(async () => {
    chain = await startChain({ gateway: { timeoutMs: 5000 } });
  });
  afterAll(async () => {
    await chain?.[Symbol.asyncDispose]();
  });

  for (const c of MAIL_CASES) {
    it(`${c.name}: ${c.what}`, async () => {
      const raw = c.raw();
      const before = chain.sink.mails.length;
      await using s = await openSmtp(chain.gateway.address.port);
      const r = await s.send({
        from: 'hostile@example.net',
        to: ['alice@example.org'],
        raw: wire(raw),
        verbatim: true,
      });
      expect(r.code, r.text).toBe(250);
      const m = (await chain.sink.waitFor(before + 1, 20_000))[before]!;
      const got = m.raw.toString('latin1');
      const body = intact(raw);
      expect(got.length).toBeGreaterThanOrEqual(body.length);
      // Byte for byte, after the gateway's own fields (compared as strings only when small).
      const tail = got.slice(got.length - body.length);
      if (body.length < 4096) expect(tail).toBe(body);
      else expect(tail === body).toBe(true);
      expect(got.slice(0, got.length - body.length)).toMatch(OWN_FIELDS);
      expect(got).not.toMatch(/\r(?!\n)|(?<!\r)\n/);
      expect(header(m.raw, 'X-PSF-Status')).toMatch(c.status);
      expect(chain.sink.mails).toHaveLength(before + 1); // one mail in, one copy out
      // The reply stream is in step: nothing smuggled is waiting for an answer.
      expect((await s.command('NOOP')).code).toBe(250);
      await stillServes(chain);
    });
  }

  it(`1000-recipients: ${expected('1000-recipients').what}`, async () => {
    const before = chain.sink.mails.length;
    const to = Array.from({ length: 1000 }, (_, i) => `r${i}@example.org`);
    await using s = await openSmtp(chain.gateway.address.port);
    const r = await s.send({ from: 'bob@example.net', to, raw: HAM('undisclosed-recipients:;') });
    expect(r.code, r.text).toBe(250);
    expect(r.text).toMatch(/delivered as 1 copy/);
    const m = (await chain.sink.waitFor(before + 1, 20_000))[before]!;
    expect(m.rcpt).toEqual(to);
    await stillServes(chain);
  }, 60_000);

  it(`pipelined-flood: ${expected('pipelined-flood').what}`, async () => {
    using s = await RawSmtp.open(chain.gateway.address.port);
    await s.command('EHLO flood.test');
    const n = 3000;
    // Without a transaction, RCPT is out of sequence: 503 each, in order.
    let sent = s.replies.length;
    await s.write(`${'NOOP\r\n'.repeat(n)}${'RSET\r\n'.repeat(n)}${'RCPT TO:<x@example.org>\r\n'.repeat(n)}`);
    let got = (await s.waitReplies(sent + 3 * n, 30_000)).slice(sent);
    expect(got.filter((r) => r.code === 250)).toHaveLength(2 * n);
    expect(got.slice(2 * n).every((r) => r.code === 503)).toBe(true);
    // Then a transaction of thousands of recipients in one write, abandoned with RSET.
    sent = s.replies.length;
    const rcpts = Array.from({ length: n }, (_, i) => `RCPT TO:<r${i}@example.org>\r\n`).join('');
    await s.write(`MAIL FROM:<b@example.net>\r\n${rcpts}RSET\r\n`);
    got = (await s.waitReplies(sent + n + 2, 30_000)).slice(sent);
    expect(got.map((r) => r.code)).toEqual(Array(n + 2).fill(250));
    expect(s.closed).toBe(false);
    await stillServes(chain);
  }, 60_000);

  it(`unknown-xforward: ${expected('unknown-xforward').what}`, async () => {
    await using s = await openSmtp(chain.gateway.address.port);
    const r = await s.command('XFORWARD NAME=mx.example.net FOO=bar');
    expect(r.code).toBe(501);
    expect((await s.command(`XFORWARD ADDR=192.0.2.1 ${'X'.repeat(2000)}=1`)).code).toBe(501);
    // The session goes on, and a proper XFORWARD still reaches the reinjection server.
    const before = chain.sink.mails.length;
    const ok = await s.send({
      from: 'bob@example.net',
      to: ['alice@example.org'],
      raw: HAM('alice@example.org'),
      xforward: { NAME: 'mx.example.net', ADDR: '192.0.2.9' },
    });
    expect(ok.code).toBe(250);
    const m = (await chain.sink.waitFor(before + 1, 10_000))[before]!;
    expect(m.xforward).toMatchObject({ NAME: 'mx.example.net', ADDR: '192.0.2.9' });
    expect(Object.keys(m.xforward)).not.toContain('FOO');
  });
});

describe('a 50 MB mail', () => {
  it(`50-mb-mail: ${expected('50-mb-mail').what}`, async () => {
    const spool = await mkdtemp(join(tmpdir(), 'psf-hostile-'));
    try {
      await using target = await startHashingTarget(BIG_MAIL_START);
      await using chain = await startChain({
        reinjectPort: target.port,
        gateway: { spool: { dir: spool }, timeoutMs: 10_000 },
      });
      using s = await RawSmtp.open(chain.gateway.address.port);
      await s.command('EHLO big.test');
      expect((await s.command('MAIL FROM:<big@example.net>')).code).toBe(250);
      expect((await s.command('RCPT TO:<alice@example.org>')).code).toBe(250);
      expect((await s.command('DATA')).code).toBe(354);
      const rss0 = process.memoryUsage().rss;
      let peak = rss0;
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss);
      }, 50);
      const hash = createHash('sha256');
      let bytes = 0;
      let spooled: string[] = [];
      try {
        for (const chunk of bigMail()) {
          hash.update(chunk);
          bytes += chunk.length;
          await s.write(chunk);
          if (bytes > 40e6 && spooled.length === 0) spooled = await readdir(spool);
        }
        const r = await s.command('.', 120_000);
        expect(r.code, r.text).toBe(250);
      } finally {
        clearInterval(sampler);
      }
      expect(spooled).toHaveLength(1);
      expect(target.mails).toHaveLength(1);
      expect(target.mails[0]).toMatchObject({ bytes, sha256: hash.digest('hex') });
      expect(target.mails[0]!.prefix).toMatch(/^(?:\r\n)?X-PSF-Status: (?:clean|spam); action=/);
      expect(await readdir(spool)).toEqual([]);
      const growthMb = (peak - rss0) / 2 ** 20;
      console.info(`50 MB mail: ${bytes} bytes, RSS growth ${growthMb.toFixed(1)} MiB`);
      // Held in memory, the mail would cost twice its size (its chunks, then concatenated); spooled,
      // a few chunks at a time plus what the garbage collector has not taken back yet.
      expect(growthMb).toBeLessThan(1.5 * (bytes / 2 ** 20));
    } finally {
      await rm(spool, { recursive: true, force: true });
    }
  }, 180_000);
});

describe('slow and greedy clients', () => {
  it(`slowloris: ${expected('slowloris').what}`, async () => {
    await using chain = await startChain({ gateway: { socketTimeoutMs: 1000 } });
    const port = chain.gateway.address.port;
    const slow = await Promise.all([1, 2, 3].map(() => RawSmtp.open(port)));
    const dribble = setInterval(() => {
      for (const s of slow) if (!s.closed) s.socket.write('N');
    }, 1500);
    try {
      // Meanwhile another session is served in full.
      await stillServes(chain);
      for (const s of slow) await s.waitClosed(5000);
      for (const s of slow) {
        expect(s.replies[0]!.code).toBe(220);
        expect(s.replies[1]!.code).toBe(421);
        expect(s.closed).toBe(true);
      }
    } finally {
      clearInterval(dribble);
      for (const s of slow) s.close();
    }
  });

  it(`session-limit: ${expected('session-limit').what}`, async () => {
    await using chain = await startChain({ gateway: { socketTimeoutMs: 1000, maxSessions: 3 } });
    const port = chain.gateway.address.port;
    // Fast enough for the idle timeout never to fire: only the session limit bounds them.
    const slow = await Promise.all([1, 2, 3].map(() => RawSmtp.open(port)));
    const dribble = setInterval(() => {
      for (const s of slow) if (!s.closed) s.socket.write('N');
    }, 200);
    try {
      const { session, banner } = await SmtpSession.open(port);
      expect(banner.code).toBe(421);
      expect(banner.text).toMatch(/Too many connected clients/);
      await session.close();
      await new Promise((r) => setTimeout(r, 1500));
      expect(slow.every((s) => !s.closed)).toBe(true);
    } finally {
      clearInterval(dribble);
      for (const s of slow) s.close();
    }
    await new Promise((r) => setTimeout(r, 200));
    await stillServes(chain);
  });
});

describe('hostile classifier replies: a clear 4xx or the timeout policy, never a crash', () => {
  type Mode = 'not-json' | 'wrong-id' | 'huge' | 'good';
  let mode: Mode = 'good';
  let chain: Chain;
  let consumer: amqp.ChannelModel;
  const send = async () => {
    await using s = await openSmtp(chain.gateway.address.port);
    // Awaited here, before the session is disposed.
    return await s.send({
      from: 'bob@example.net',
      to: ['alice@example.org'],
      raw: HAM('alice@example.org'),
    });
  };

  beforeAll(async () => {
    chain = await startChain({ noDefault: true, gateway: { timeoutMs: 1500, onTimeout: 'tempfail' } });
    // A hand-written classifier on psf.default that answers as badly as the test asks.
    consumer = await amqp.connect(chain.vhost.url);
    const ch = await consumer.createChannel();
    await ch.consume(DEFAULT_QUEUE, (msg) => {
      if (!msg) return;
      const { replyTo, correlationId } = msg.properties as { replyTo: string; correlationId: string };
      const verdict = Buffer.from(JSON.stringify({ v: 1, action: 'accept', score: 0 }));
      const body = {
        'not-json': Buffer.from('<verdict>accept</verdict>'),
        'wrong-id': verdict,
        huge: Buffer.from(`{"v":1,"action":"accept","pad":"${'p'.repeat(10 * 1024 * 1024)}"}`),
        good: verdict,
      }[mode];
      const id = mode === 'wrong-id' ? `${correlationId}-other` : correlationId;
      ch.sendToQueue(replyTo, body, { correlationId: id, type: 'psf.verdict.v1' });
      ch.ack(msg);
    });
  });
  afterAll(async () => {
    await consumer?.close();
    await chain?.[Symbol.asyncDispose]();
  });

  const cases: Array<[Mode, string, RegExp, string]> = [
    ['not-json', 'verdict-not-json', /^4\.3\.0 unreadable verdict/, 'unchecked; reason=bad-verdict'],
    [
      'wrong-id',
      'verdict-wrong-id',
      /^4\.4\.1 no verdict from the classifier in time/,
      'unchecked; reason=timeout',
    ],
    ['huge', 'verdict-10-mb', /^4\.3\.0 unreadable verdict/, 'unchecked; reason=bad-verdict'],
  ];
  for (const [m, name, reply, status] of cases) {
    it(`${name}: ${expected(name).what}`, async () => {
      mode = m;
      chain.gateway.reload({ timeoutMs: 1500, onTimeout: 'tempfail' });
      const before = chain.sink.mails.length;
      const r = await send();
      expect(r.code).toBe(451);
      expect(r.text).toMatch(reply);
      expect(chain.sink.mails).toHaveLength(before);
      // With onTimeout=accept, the same reply delivers the mail marked unchecked.
      chain.gateway.reload({ timeoutMs: 1500, onTimeout: 'accept' });
      expect((await send()).code).toBe(250);
      const got = (await chain.sink.waitFor(before + 1, 10_000))[before]!;
      expect(header(got.raw, 'X-PSF-Status')).toBe(status);
      // And the next mail, properly answered, passes.
      mode = 'good';
      chain.gateway.reload({ timeoutMs: 1500, onTimeout: 'tempfail' });
      expect((await send()).code).toBe(250);
      const ok = (await chain.sink.waitFor(before + 2, 10_000))[before + 1]!;
      expect(header(ok.raw, 'X-PSF-Status')).toBe('clean; action=accept');
    });
  }
});
