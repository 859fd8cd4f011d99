import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { assertUserQueue, BrokerConnection, readEvents } from '@psf/broker';
import { startGateway } from '@psf/gateway';
import type { PsfEvent } from '@psf/protocol';
import { ActivityFeed, type Summary } from '@psf/stats';
import { openSmtp, startSink } from '@psf/testkit';
import amqp from 'amqplib';
import { simpleParser } from 'mailparser';
import { describe, expect, it, vi } from 'vitest';
import { HAM, SPAM, startChain } from './chain.js';

const psf = fileURLToPath(new URL('../../packages/stats/dist/cli.js', import.meta.url));

function exec(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile(
      process.execPath,
      [psf, ...args],
      { env: { ...process.env, ...env }, timeout: 20_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
    ),
  );
}

async function run(args: string[], env: Record<string, string>): Promise<string> {
  const r = await exec(args, env);
  if (r.code !== 0) throw new Error(`psf ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

async function events(url: string): Promise<PsfEvent[]> {
  const model = await amqp.connect(url);
  const seen: PsfEvent[] = [];
  await readEvents(model, { onEvent: (e) => seen.push(e) });
  await model.close();
  return seen;
}

// Statistics live in the psf.events stream: every gateway appends one event per owner per mail
// and per dead request; psf stats, digests and the self-service page read it back.
describe('statistics from psf.events', () => {
  it('survive a gateway restart; psf stats sums both runs; an owner gets a digest of dead letters', async () => {
    const gatewayOptions = { timeoutMs: 1000, onTimeout: 'accept' } as const;
    await using chain = await startChain({ gateway: gatewayOptions });
    const admin = await amqp.connect(chain.vhost.url);
    // dora has a queue of her own and no classifier running: her request expires there.
    await assertUserQueue(await admin.createChannel(), 'dora@example.org');
    await admin.close();
    {
      await using smtp = await openSmtp(chain.gateway.address.port);
      for (const [from, to, raw] of [
        ['win@lottery.test', 'alice@example.org', SPAM('alice@example.org')],
        ['bob@example.net', 'alice@example.org', HAM('alice@example.org')],
        ['bob@example.net', 'dora@example.org', HAM('dora@example.org')],
      ] as const)
        expect((await smtp.send({ from, to: [to], raw })).code).toBe(250);
    }
    await chain.sink.waitFor(3, 10_000);
    await chain.gateway.close();

    // A new gateway process: what the first one counted is still there for the readers.
    await using second = await startGateway({
      amqpUrl: chain.vhost.url,
      listen: { port: 0 },
      reinject: { port: chain.sink.port },
      ...gatewayOptions,
    });
    await second.ready(10_000);
    {
      await using smtp = await openSmtp(second.address.port);
      const reply = await smtp.send({
        from: 'win@lottery.test',
        to: ['carol@example.org'],
        raw: SPAM('carol@example.org'),
      });
      expect(reply.code).toBe(250);
    }
    await chain.sink.waitFor(4, 10_000);
    await vi.waitFor(
      async () => expect((await events(chain.vhost.url)).some((e) => e.kind === 'dead')).toBe(true),
      {
        timeout: 15_000,
        interval: 500,
      },
    );

    const env = { PSF_AMQP_URL: chain.vhost.url };
    const summary = JSON.parse(await run(['stats', '--json', '--since', '1h'], env)) as Summary;
    expect(summary.mails).toBe(4);
    expect(summary.owners).toEqual([
      { owner: 'alice@example.org', counts: { spam: 1, clean: 1 } },
      { owner: 'carol@example.org', counts: { spam: 1 } },
      { owner: 'dora@example.org', counts: { unchecked: 1, dead: 1 } },
    ]);
    expect(summary.topSpamSenders).toEqual([{ sender: 'win@lottery.test', recipients: 2 }]);
    expect(summary.deadLetters).toEqual([{ owner: 'dora@example.org', reason: 'expired', count: 1 }]);
    expect(summary.classifyMs.count).toBe(3);
    const table = await run(['stats', '--since', '1h'], env);
    expect(table).toMatch(/^ {2}"dora@example\.org" +0 +0 +1 +1$/m);

    await using digestSink = await startSink();
    const sent = await run(['digest', '--since', '1h'], { ...env, PSF_SMTP: `127.0.0.1:${digestSink.port}` });
    expect(sent).toBe('sent 1 digest\n');
    const [digest] = await digestSink.waitFor(1, 10_000);
    expect(digest?.rcpt).toEqual(['dora@example.org']);
    const parsed = await simpleParser(digest?.raw ?? Buffer.alloc(0));
    expect(parsed.subject).toBe('psf: 1 mail not checked by your classifier');
    const text = parsed.text ?? '';
    expect(text).toMatch(/from <bob@example\.net> {2}expired/);
    // Metadata only: nothing of the mail itself.
    expect(text).not.toMatch(/Shall we meet/);

    // The self-service page's source follows the same stream.
    const connection = await BrokerConnection.open({ url: chain.vhost.url });
    const feed = new ActivityFeed({ connection });
    try {
      await vi.waitFor(() => expect(feed.owner('alice@example.org')?.recent).toHaveLength(2), {
        timeout: 10_000,
      });
      const [latest, earlier] = feed.owner('alice@example.org')?.recent ?? [];
      expect(latest?.status).toBe('clean');
      expect(earlier).toMatchObject({
        status: 'spam',
        from: 'win@lottery.test',
        messageId: '<spam-1@lottery.test>',
      });
      expect(feed.owners().map((o) => o.owner)).toEqual([
        'alice@example.org',
        'carol@example.org',
        'dora@example.org',
      ]);
    } finally {
      await feed.close();
      await connection.close();
    }
  });

  it('psf exits 69 when RabbitMQ is unreachable and 78 on a bad option or config key', async () => {
    const down = await exec(['stats'], { PSF_AMQP_URL: 'amqp://guest:guest@127.0.0.1:1/psf' });
    expect(down.code).toBe(69);
    expect(down.stderr).toMatch(/^psf: .*ECONNREFUSED/);
    const bad = await exec(['stats', '--since', 'someday'], {});
    expect(bad).toMatchObject({ code: 78, stderr: expect.stringMatching(/--since: expected/) });
    const key = await exec(['print-config'], { PSF_SMTP: 'nowhere' });
    expect(key).toMatchObject({ code: 78, stderr: expect.stringMatching(/smtp/) });
  });
});
