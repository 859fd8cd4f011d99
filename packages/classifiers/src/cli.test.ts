import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertTopology, assertUserQueue, BrokerConnection, RpcClient } from '@psf/broker';
import { sendLearn } from '@psf/client-sdk';
import { isPsfError, type ScanRequest, userQueue } from '@psf/protocol';
import {
  createVhost,
  EICAR,
  freePort,
  type Rspamd,
  type Spamd,
  startClamd,
  startRspamd,
  startSpamd,
  type Vhost,
} from '@psf/testkit';
import amqp, { type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { rawMail } from './bayes/raw-mail.js';
import { BayesStore } from './bayes/store.js';
import { GTUBE, PLAIN } from './test-mails.js';

// Runs the built CLI (npx tsc -b first).
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

function runCli(args: string[], input = '', env: NodeJS.ProcessEnv = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, ...env }, timeout: 30_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(input);
  });
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'psf-classify-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('psf-classify configuration', () => {
  it('an unknown kind: exit 78 naming the key', async () => {
    const r = await runCli(['--kind', 'nope', 'check'], PLAIN);
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/kind/);
    expect(r.stderr).toMatch(
      /expected one of bayes, rules, senders, spamassassin, rspamd, attachments, clamav, composite/,
    );
  });

  it('a bad option in a kind section: exit 78 naming it', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(file, JSON.stringify({ kind: 'spamassassin', spamassassin: { address: 'nowhere' } }));
    const r = await runCli(['-c', file, 'check'], PLAIN);
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/spamassassin\.address/);
  });

  it('--print-config shows the effective configuration with the password hidden', async () => {
    const r = await runCli(['--print-config'], '', {
      PSF_KIND: 'rules',
      PSF_AMQP_URL: 'amqp://owner:secret@127.0.0.1:5672/psf',
    });
    expect(r.code).toBe(0);
    const config = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(config).toMatchObject({
      kind: 'rules',
      queue: 'psf.default',
      amqpUrl: 'amqp://owner:***@127.0.0.1:5672/psf',
    });
  });

  it('check classifies stdin without a broker', async () => {
    const spam =
      'From: x@spam.test\r\nSubject: WINNER OF THE CASH PRIZE\r\n\r\nYou have won the lottery, act now!\r\n';
    const r = await runCli(['check', '--kind', 'rules'], spam);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ v: 1, action: 'tag', spam: true });
  });

  it('the bayes kind classifies with a trained model; a corrupt model stops it at start with exit 78', async () => {
    const models = join(dir, 'models');
    const store = await BayesStore.open({ models, allowMissing: true });
    const mail = (text: string) => rawMail(Buffer.from(text), { mailFrom: '', rcpt: ['alice@example.org'] });
    for (let i = 0; i < 5; i++) {
      await store.learn(mail(`Subject: cheap pills ${i}\r\n\r\nbuy cheap pills viagra now ${i}\r\n`), 'spam');
      await store.learn(
        mail(`Subject: minutes ${i}\r\n\r\nthe meeting minutes are attached ${i}\r\n`),
        'ham',
      );
    }
    const file = join(dir, 'bayes.json');
    await writeFile(file, JSON.stringify({ kind: 'bayes', bayes: { models } }));
    const spam = await runCli(
      ['-c', file, 'check'],
      'Subject: cheap pills\r\n\r\nbuy cheap pills viagra now\r\n',
    );
    expect(spam.code).toBe(0);
    expect(JSON.parse(spam.stdout)).toMatchObject({ action: 'tag', spam: true });
    await writeFile(join(models, 'global.psfbayes'), 'not a model at all');
    const corrupt = await runCli(['-c', file, 'check'], PLAIN);
    expect(corrupt.code).toBe(78);
    expect(corrupt.stderr).toMatch(/^psf-classify: .*global\.psfbayes/m);
  });

  it("the senders kind in a composite: an owner's allowed sender passes the rules, a bad list line exits 75", async () => {
    const lists = join(dir, 'lists');
    const file = join(dir, 'senders.json');
    await writeFile(
      file,
      JSON.stringify({
        kind: 'composite',
        senders: { lists },
        composite: { members: [{ kind: 'rules' }, { kind: 'senders' }] },
      }),
    );
    const spam =
      'From: Lottery Club <club@prizes.example>\r\nSubject: WINNER OF THE CASH PRIZE\r\n\r\nYou have won the lottery, act now!\r\n';
    const check = (rcpt: string) => runCli(['-c', file, 'check', '--rcpt', rcpt], spam);
    expect(JSON.parse((await check('alice@example.org')).stdout)).toMatchObject({ action: 'tag' });
    await mkdir(join(lists, 'owners'), { recursive: true });
    await writeFile(join(lists, 'owners', 'alice%40example.org.senders'), 'allow club@prizes.example\n');
    const allowed = JSON.parse((await check('alice@example.org')).stdout);
    expect(allowed).toMatchObject({ action: 'accept', spam: false });
    expect(allowed.reasons).toContain('senders:SENDER_ALLOWED');
    // Bob has no list: the rules decide for him.
    expect(JSON.parse((await check('bob@example.org')).stdout)).toMatchObject({ action: 'tag' });
    // The senders kind alone fails on a bad line: check exits 75 naming the file and line.
    await writeFile(join(lists, 'owners', 'alice%40example.org.senders'), 'welcome club@prizes.example\n');
    await writeFile(join(dir, 'senders-alone.json'), JSON.stringify({ kind: 'senders', senders: { lists } }));
    const failing = await runCli(
      ['-c', join(dir, 'senders-alone.json'), 'check', '--rcpt', 'alice@example.org'],
      spam,
    );
    expect(failing.code).toBe(75);
    expect(failing.stderr).toMatch(/alice%40example\.org\.senders:1: expected "allow <pattern>"/);
  });

  it('check with spamd down: exit 75 and the reason', async () => {
    const port = await freePort();
    const file = join(dir, 'down.json');
    await writeFile(
      file,
      JSON.stringify({ kind: 'spamassassin', spamassassin: { address: `127.0.0.1:${port}` } }),
    );
    const r = await runCli(['-c', file, 'check'], PLAIN);
    expect(r.code).toBe(75);
    expect(r.stderr).toMatch(/unreachable/);
  });

  it('the clamav kind asks a real clamd: the EICAR test file is quarantined', async () => {
    await using clamd = await startClamd();
    const file = join(dir, 'clamav.json');
    await writeFile(
      file,
      JSON.stringify({ kind: 'clamav', clamav: { address: `${clamd.host}:${clamd.port}` } }),
    );
    const infected = `From: a@example.net\r\nSubject: see attached\r\n\r\n${EICAR}\r\n`;
    const r = await runCli(['-c', file, 'check'], infected);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      v: 1,
      action: 'quarantine',
      score: 100,
      spam: true,
      reasons: [`VIRUS:${clamd.eicarName}`],
    });
    expect(JSON.parse((await runCli(['-c', file, 'check'], PLAIN)).stdout)).toMatchObject({
      action: 'accept',
    });
  });
});

describe('psf-classify on a queue, through RabbitMQ, against real spamd and rspamd', () => {
  let vhost: Vhost;
  let admin: ChannelModel;
  let conn: BrokerConnection;
  let rpc: RpcClient;
  let spamd: Spamd;
  let rspamd: Rspamd;
  const children: ChildProcessWithoutNullStreams[] = [];

  const request = (id: string, raw: string): ScanRequest => ({
    id,
    envelope: { mailFrom: 'sender@example.net', rcpt: ['bob@example.org'], clientAddr: '192.0.2.10' },
    size: raw.length,
    truncated: false,
    deadline: Date.now() + 10_000,
    mail: Buffer.from(raw),
  });

  /** Starts psf-classify on the owner's queue with this config; resolves once it consumes. */
  async function classifyFor(owner: string, config: object) {
    const ch = await admin.createChannel();
    const queue = await assertUserQueue(ch, owner);
    await ch.close();
    const file = join(dir, `${owner}.json`);
    await writeFile(file, JSON.stringify({ ...config, amqpUrl: vhost.url, queue }));
    const child = spawn(process.execPath, [CLI, '-c', file]);
    children.push(child);
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      out += b.toString();
    });
    await vi.waitFor(() => expect(out).toMatch(/"event":"ready"/), { timeout: 15_000, interval: 50 });
  }

  beforeAll(async () => {
    [spamd, rspamd, vhost] = await Promise.all([startSpamd(), startRspamd(), createVhost()]);
    admin = await amqp.connect(vhost.url);
    const ch = await admin.createChannel();
    await assertTopology(ch);
    await ch.close();
    conn = await BrokerConnection.open({ url: vhost.url });
    rpc = new RpcClient({ connection: conn });
    await rpc.waitReady(10_000);
  }, 120_000);

  afterAll(async () => {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(
      children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)),
    );
    await rpc?.close();
    await conn?.close();
    await admin?.close();
    await vhost?.close();
    await spamd?.[Symbol.asyncDispose]();
    await rspamd?.[Symbol.asyncDispose]();
  });

  it('a composite of spamd, rspamd and the rules answers real verdicts; spamd down is skipped and said', async () => {
    const sa = `${spamd.host}:${spamd.port}`;
    await classifyFor('alice@example.org', {
      kind: 'composite',
      spamassassin: { address: sa },
      rspamd: { url: rspamd.url },
      composite: {
        members: [
          { kind: 'spamassassin', weight: 0.5 },
          { kind: 'rspamd', weight: 0.5 },
          { kind: 'rules', weight: 1 },
        ],
        thresholds: { tag: 5, quarantine: 50 },
      },
    });
    const spam = await rpc.call('alice@example.org', request('c1', GTUBE));
    expect(spam).toMatchObject({ action: 'quarantine', spam: true });
    expect(spam.score).toBeGreaterThan(500);
    expect(spam.reasons).toEqual(expect.arrayContaining(['spamassassin:GTUBE', 'rspamd:GTUBE']));

    const ham = await rpc.call('alice@example.org', request('c2', PLAIN));
    expect(ham).toMatchObject({ action: 'accept', spam: false });

    await spamd.stop();
    const degraded = await rpc.call('alice@example.org', request('c3', GTUBE));
    expect(degraded.reasons?.[0]).toBe('spamassassin:FAILED');
    expect(degraded.reasons).toContain('rspamd:GTUBE');
    expect(degraded.action).toBe('tag');
  });

  it('the spamassassin kind with spamd down answers the error reply: the gateway gets CLASSIFIER_FAILED at once', async () => {
    await spamd.stop();
    await classifyFor('bob@example.org', {
      kind: 'spamassassin',
      spamassassin: { address: `${spamd.host}:${spamd.port}` },
    });
    const started = Date.now();
    const err = await rpc.call('bob@example.org', request('s1', GTUBE)).catch((e: unknown) => e);
    expect(isPsfError(err, 'CLASSIFIER_FAILED')).toBe(true);
    expect((err as Error).message).toMatch(/unreachable/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('a composite learns through its bayes member; the rules kind answers that it does not learn', async () => {
    const models = join(dir, 'composite-models');
    const store = await BayesStore.open({ models, allowMissing: true });
    for (const [text, label] of [
      ['Subject: cheap pills\r\n\r\nbuy cheap pills viagra now\r\n', 'spam'],
      [PLAIN, 'ham'],
    ] as const)
      await store.learn(rawMail(Buffer.from(text)), label);
    await classifyFor('dora@example.org', {
      kind: 'composite',
      bayes: { models },
      composite: { members: [{ kind: 'bayes' }, { kind: 'rules' }] },
    });
    const learnt = await sendLearn({
      url: vhost.url,
      queue: userQueue('dora@example.org'),
      label: 'spam',
      mail: Buffer.from(GTUBE),
    });
    expect(learnt).toMatchObject({ v: 1, label: 'spam', owner: 'dora@example.org' });
    expect(learnt.members?.bayes?.after).toBeGreaterThanOrEqual(0.99);
    expect(Object.keys(learnt.members ?? {})).toEqual(['bayes']);
    expect(await readdir(join(models, 'owners'))).toEqual(['dora%40example.org.psfbayes']);

    await classifyFor('erik@example.org', { kind: 'rules' });
    const err = await sendLearn({
      url: vhost.url,
      queue: userQueue('erik@example.org'),
      label: 'ham',
      mail: Buffer.from(PLAIN),
    }).catch((e: unknown) => e);
    expect(isPsfError(err, 'CLASSIFIER_FAILED')).toBe(true);
    expect((err as Error).message).toBe('this classifier does not learn');
  });
});
