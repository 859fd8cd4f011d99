import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { assertTopology, assertUserQueue } from '@psf/broker';
import { DEAD_QUEUE, isPsfError, MAX_LEARN_BYTES, userQueue } from '@psf/protocol';
import { createVhost, type Vhost } from '@psf/testkit';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startClassifier } from './classifier.js';
import { sendLearn } from './send-learn.js';

// Runs the built CLI (npx tsc -b first).
const CLI = fileURLToPath(new URL('../dist/recv-cli.js', import.meta.url));
const RAW = 'From: news@example.net\r\nSubject: garden club news\r\n\r\nroses and tulips\r\n';

let vhost: Vhost;
let admin: ChannelModel;
let ch: Channel;

function psfClient(args: string[], input: string) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, PSF_AMQP_URL: vhost.url }, timeout: 20_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(input);
  });
}

beforeAll(async () => {
  vhost = await createVhost();
  admin = await amqp.connect(vhost.url);
  ch = await admin.createChannel();
  await assertTopology(ch);
});

afterAll(async () => {
  await admin?.close();
  await vhost?.close();
});

describe('sendLearn', () => {
  it('refuses an oversized mail before connecting', async () => {
    const err = await sendLearn({
      url: 'amqp://guest:guest@127.0.0.1:1/psf',
      queue: userQueue('alice@example.org'),
      label: 'spam',
      mail: Buffer.alloc(MAX_LEARN_BYTES + 1, 0x61),
      timeoutMs: 500,
    }).catch((e) => e);
    expect(isPsfError(err, 'BAD_REQUEST')).toBe(true);
  });

  it('says clearly when the queue does not exist (mandatory publish returned)', async () => {
    const started = Date.now();
    const err = await sendLearn({
      url: vhost.url,
      queue: userQueue('nobody@example.org'),
      label: 'spam',
      mail: Buffer.from(RAW),
      timeoutMs: 10_000,
    }).catch((e) => e);
    expect(isPsfError(err, 'PUBLISH_REFUSED')).toBe(true);
    expect((err as Error).message).toMatch(/^no queue psf\.user\.nobody@example\.org \(312 NO_ROUTE\)/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('times out when no classifier answers, and the request expires to psf.dead instead of waiting', async () => {
    const queue = await assertUserQueue(ch, 'olga@example.org');
    await ch.purgeQueue(DEAD_QUEUE);
    const err = await sendLearn({
      url: vhost.url,
      queue,
      label: 'ham',
      mail: Buffer.from(RAW),
      timeoutMs: 300,
    }).catch((e) => e);
    expect(isPsfError(err, 'TIMEOUT')).toBe(true);
    await vi.waitFor(async () => expect((await ch.checkQueue(DEAD_QUEUE)).messageCount).toBe(1));
    expect((await ch.checkQueue(queue)).messageCount).toBe(0);
  });
});

describe('psf-client learn', () => {
  it('prints the result and exits 0; 65 when the classifier does not learn; 69 without the queue; 75 without an answer', async () => {
    const learning = await assertUserQueue(ch, 'pia@example.org');
    const deaf = await assertUserQueue(ch, 'quinn@example.org');
    const idle = await assertUserQueue(ch, 'rosa@example.org');
    const classifiers = await Promise.all([
      startClassifier({
        url: vhost.url,
        queue: learning,
        handler: () => ({ v: 1, action: 'accept' }),
        learn: (_mail, label, owner) => ({ owner: `${owner}`, times: label === 'spam' ? 3 : 1 }),
      }),
      startClassifier({ url: vhost.url, queue: deaf, handler: () => ({ v: 1, action: 'accept' }) }),
    ]);
    try {
      const ok = await psfClient(['learn', '--spam', learning, '--owner', 'pia+lists@example.org'], RAW);
      expect(ok).toMatchObject({ code: 0, stderr: '' });
      expect(JSON.parse(ok.stdout)).toEqual({
        v: 1,
        label: 'spam',
        owner: 'pia+lists@example.org',
        times: 3,
      });

      const refused = await psfClient(['learn', '--ham', deaf], RAW);
      expect(refused.code).toBe(65);
      expect(refused.stderr).toBe('psf-client: this classifier does not learn\n');

      const missing = await psfClient(['learn', '--ham', userQueue('nobody@example.org')], RAW);
      expect(missing.code).toBe(69);
      expect(missing.stderr).toMatch(/no queue psf\.user\.nobody@example\.org/);

      const late = await psfClient(['learn', '--ham', idle, '--timeout', '300'], RAW);
      expect(late.code).toBe(75);
      expect(late.stderr).toMatch(/no answer from the classifier of psf\.user\.rosa@example\.org in time/);

      const neither = await psfClient(['learn', learning], RAW);
      expect(neither.code).toBe(1);
      expect(neither.stderr).toMatch(/--spam or --ham/);
    } finally {
      await Promise.all(classifiers.map((c) => c.close()));
    }
  });
});
