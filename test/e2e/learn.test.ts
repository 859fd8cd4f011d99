// An owner corrects a Bayes classifier over the broker: the real psf-classify and psf-client
// commands (built dist/), a real RabbitMQ vhost, scan requests as the gateway sends them.
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { access, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertTopology, assertUserQueue, BrokerConnection, RpcClient } from '@psf/broker';
import { BayesStore, DEFAULT_TAG_AT, GLOBAL_MODEL, OWNERS_DIR, rawMail } from '@psf/classifiers';
import { DEFAULT_QUEUE, type ScanRequest, userQueue } from '@psf/protocol';
import { createVhost, type Vhost } from '@psf/testkit';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

const CLASSIFY = fileURLToPath(new URL('../../packages/classifiers/dist/cli.js', import.meta.url));
const CLIENT = fileURLToPath(new URL('../../packages/client-sdk/dist/recv-cli.js', import.meta.url));

const text = (subject: string, body: string) =>
  `From: someone@example.net\r\nTo: you@example.org\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@example.net>\r\n\r\n${body}\r\n`;

const HAMS = [
  text('meeting tomorrow', 'shall we meet for the project review at noon'),
  text('project review notes', 'notes from the review meeting attached, see the project plan'),
  text('lunch', 'lunch at noon after the meeting with the project team'),
  text('weekly newsletter', 'this week in the garden club newsletter: roses, tulips and a lecture'),
];
const SPAMS = [
  text('cheap pills', 'buy cheap pills now, limited offer, click here'),
  text('you won', 'you won the lottery prize, claim your cash now, click here'),
  text('cash offer', 'limited cash offer, act now and claim your prize'),
];
// Ham to the global model; the owner calls it spam.
const NEWSLETTER = text('garden club news', 'the garden club invites you: roses, tulips and a lecture');
// Spam to the global model; the owner did win the club's raffle.
const RAFFLE = text('cash prize', 'claim your cash prize now, click here');

let vhost: Vhost;
let conn: BrokerConnection;
let rpc: RpcClient;
let dir: string;
const children: ChildProcessWithoutNullStreams[] = [];

/** A model directory holding only the global model, trained on the mails above. */
async function modelDir(name: string): Promise<string> {
  const models = join(dir, name);
  const store = await BayesStore.open({ models, allowMissing: true });
  for (const m of HAMS) await store.learn(rawMail(Buffer.from(m)), 'ham');
  for (const m of SPAMS) await store.learn(rawMail(Buffer.from(m)), 'spam');
  return models;
}

/** psf-classify with the bayes kind on `queue`; resolves once it consumes. */
async function classify(queue: string, models: string): Promise<void> {
  const file = join(dir, `${queue}.json`);
  await writeFile(file, JSON.stringify({ kind: 'bayes', bayes: { models }, amqpUrl: vhost.url, queue }));
  const child = spawn(process.execPath, [CLASSIFY, '-c', file]);
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

let seq = 0;
/** The verdict's action for `raw` sent to `owner`, as the gateway asks. */
async function scan(owner: string, raw: string): Promise<string> {
  const request: ScanRequest = {
    id: `learn-${++seq}`,
    envelope: { mailFrom: 'someone@example.net', rcpt: [owner] },
    size: raw.length,
    truncated: false,
    deadline: Date.now() + 10_000,
    mail: Buffer.from(raw),
  };
  return (await rpc.call(owner, request)).action;
}

/** psf-client learn, the mail on stdin. */
function learn(args: string[], raw: string) {
  return new Promise<{ code: number; result: Record<string, unknown> | undefined; stderr: string }>(
    (resolve) => {
      const child = execFile(
        process.execPath,
        [CLIENT, 'learn', ...args],
        { env: { ...process.env, PSF_AMQP_URL: vhost.url }, timeout: 20_000 },
        (err, stdout, stderr) =>
          resolve({
            code: err ? ((err as { code?: number }).code ?? 1) : 0,
            result: stdout ? (JSON.parse(stdout) as Record<string, unknown>) : undefined,
            stderr,
          }),
      );
      child.stdin?.end(raw);
    },
  );
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'psf-learn-'));
  vhost = await createVhost();
  const admin = await amqp.connect(vhost.url);
  const ch = await admin.createChannel();
  await assertTopology(ch);
  await assertUserQueue(ch, 'alice@example.org');
  await admin.close();
  conn = await BrokerConnection.open({ url: vhost.url });
  rpc = new RpcClient({ connection: conn });
  await rpc.waitReady(10_000);
}, 60_000);

afterAll(async () => {
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(
    children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)),
  );
  await rpc?.close();
  await conn?.close();
  await vhost?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('learn as spam/ham over the broker', () => {
  it("an owner's own classifier: one correction each way moves the mail, into the owner's model file", async () => {
    const models = await modelDir('alice');
    const queue = userQueue('alice@example.org');
    await classify(queue, models);

    expect(await scan('alice@example.org', NEWSLETTER)).toBe('accept');
    const spam = await learn(['--spam', queue], NEWSLETTER);
    expect(spam.stderr).toBe('');
    expect(spam.code).toBe(0);
    expect(spam.result).toMatchObject({ v: 1, label: 'spam', owner: 'alice@example.org' });
    expect(spam.result?.before).toBeLessThan(0.5);
    expect(spam.result?.after).toBeGreaterThanOrEqual(DEFAULT_TAG_AT);
    expect(await scan('alice@example.org', NEWSLETTER)).toBe('tag');

    expect(await scan('alice@example.org', RAFFLE)).toBe('tag');
    const ham = await learn(['--ham', queue], RAFFLE);
    expect(ham.code).toBe(0);
    expect(ham.result).toMatchObject({ label: 'ham', owner: 'alice@example.org' });
    expect(ham.result?.after).toBeLessThan(DEFAULT_TAG_AT);
    expect(await scan('alice@example.org', RAFFLE)).toBe('accept');

    expect(await readdir(join(models, OWNERS_DIR))).toEqual(['alice%40example.org.psfbayes']);
  });

  it('the central classifier: the owner travels with the request, and only that owner is affected', async () => {
    const models = await modelDir('central');
    await classify(DEFAULT_QUEUE, models);
    // bob and carol have no queue of their own: their mail goes to psf.default.
    expect(await scan('bob@example.org', NEWSLETTER)).toBe('accept');
    const r = await learn(['--spam', DEFAULT_QUEUE, '--owner', 'bob@example.org'], NEWSLETTER);
    expect(r.code).toBe(0);
    expect(r.result).toMatchObject({ label: 'spam', owner: 'bob@example.org' });
    expect(await scan('bob@example.org', NEWSLETTER)).toBe('tag');
    expect(await scan('carol@example.org', NEWSLETTER)).toBe('accept');
    await access(join(models, GLOBAL_MODEL));
    expect(await readdir(join(models, OWNERS_DIR))).toEqual(['bob%40example.org.psfbayes']);
  });
});
