import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { assertTopology, assertUserQueue, BrokerConnection, RpcClient } from '@psf/broker';
import {
  DEAD_QUEUE,
  encodeLearnRequest,
  isPsfError,
  type LearnLabel,
  SCAN_EXCHANGE,
  type ScanRequest,
  userQueue,
} from '@psf/protocol';
import { createVhost, type Vhost } from '@psf/testkit';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Classifier, type ClassifierOptions, startClassifier } from './classifier.js';
import type { Mail } from './mail.js';
import { sendLearn } from './send-learn.js';

let vhost: Vhost;
let admin: ChannelModel;
let ch: Channel;
let conn: BrokerConnection;
let rpc: RpcClient;

const RAW =
  'From: Bob <bob@example.net>\r\nSubject: Cheap pills\r\nMessage-ID: <1@example.net>\r\n\r\nBuy now\r\n';

function request(id: string, timeoutMs = 3000): ScanRequest {
  return {
    id,
    envelope: {
      mailFrom: 'bob@example.net',
      rcpt: ['carol@example.org'],
      clientAddr: '192.0.2.9',
      helo: 'mx.example.net',
    },
    size: RAW.length,
    truncated: false,
    deadline: Date.now() + timeoutMs,
    mail: Buffer.from(RAW),
  };
}

async function start(owner: string, handler: (m: Mail) => unknown): Promise<Classifier> {
  const queue = await assertUserQueue(ch, owner);
  return startClassifier({ url: vhost.url, queue, handler: handler as never }, 10_000);
}

beforeAll(async () => {
  vhost = await createVhost();
  admin = await amqp.connect(vhost.url);
  ch = await admin.createChannel();
  await assertTopology(ch);
  conn = await BrokerConnection.open({ url: vhost.url });
  rpc = new RpcClient({ connection: conn });
  await rpc.waitReady(10_000);
});

afterAll(async () => {
  await rpc?.close();
  await conn?.close();
  await admin?.close();
  await vhost?.close();
});

describe('Classifier', () => {
  it('hands the handler the envelope, raw bytes and parsed mail, and returns its verdict', async () => {
    let seen: { mail: Mail; subject: string | undefined } | undefined;
    const c = await start('carol@example.org', async (mail) => {
      seen = { mail, subject: (await mail.parsed()).subject };
      return { v: 1, action: 'tag', score: 6, reasons: ['PILLS'] };
    });
    expect(await rpc.call('carol@example.org', request('c-1'))).toEqual({
      v: 1,
      action: 'tag',
      score: 6,
      reasons: ['PILLS'],
    });
    expect(seen?.subject).toBe('Cheap pills');
    expect(seen?.mail.raw.toString()).toBe(RAW);
    expect(seen?.mail.envelope).toMatchObject({ mailFrom: 'bob@example.net', clientAddr: '192.0.2.9' });
    // Counted once the reply is sent, which may be just after the caller has it.
    await vi.waitFor(() => expect(c.stats.answered).toBe(1));
    await c.close();
  });

  it('reports a throwing handler at once as CLASSIFIER_FAILED, not as a timeout', async () => {
    const c = await start('dave@example.org', () => {
      throw new Error('model file corrupt');
    });
    const started = Date.now();
    let err: unknown;
    await rpc.call('dave@example.org', request('c-2', 10_000)).catch((e) => {
      err = e;
    });
    expect(isPsfError(err, 'CLASSIFIER_FAILED')).toBe(true);
    expect((err as Error).message).toMatch(/model file corrupt/);
    expect(Date.now() - started).toBeLessThan(5000);
    await vi.waitFor(() => expect(c.stats.failed).toBe(1));
    await c.close();
  });

  it('reports an invalid verdict from the handler as CLASSIFIER_FAILED naming the problem', async () => {
    const c = await start('erin@example.org', () => ({ v: 1, action: 'maybe' }));
    let err: unknown;
    await rpc.call('erin@example.org', request('c-3')).catch((e) => {
      err = e;
    });
    expect(isPsfError(err, 'CLASSIFIER_FAILED')).toBe(true);
    expect((err as Error).message).toMatch(/invalid verdict/);
    await c.close();
  });

  it('dead-letters a request it cannot read instead of looping on it', async () => {
    const c = await start('frank@example.org', () => ({ v: 1, action: 'accept' }));
    await ch.purgeQueue(DEAD_QUEUE);
    ch.publish(SCAN_EXCHANGE, 'frank@example.org', Buffer.from('junk'), { type: 'something-else' });
    let dead = 0;
    for (let i = 0; i < 50 && dead === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      dead = (await ch.checkQueue(DEAD_QUEUE)).messageCount;
    }
    expect(dead).toBe(1);
    expect(c.stats.malformed).toBe(1);
    await c.close();
  });

  it('answers only trusted publishers: RabbitMQ vouches for user_id, forged requests die unanswered', async () => {
    await assertUserQueue(ch, 'ida@example.org');
    const strict = await startClassifier({
      url: vhost.url,
      queue: userQueue('ida@example.org'),
      handler: () => ({ v: 1, action: 'accept' }),
      trustedPublishers: ['some-gateway'],
    });
    let err: unknown;
    await rpc.call('ida@example.org', request('c-7', 500)).catch((e) => {
      err = e;
    });
    expect(isPsfError(err, 'TIMEOUT')).toBe(true); // guest is not trusted here
    await vi.waitFor(() => expect(strict.stats.malformed).toBe(1));
    await strict.close();
    const open = await startClassifier({
      url: vhost.url,
      queue: userQueue('ida@example.org'),
      handler: () => ({ v: 1, action: 'accept' }),
      trustedPublishers: ['guest'],
    });
    expect(await rpc.call('ida@example.org', request('c-8'))).toEqual({ v: 1, action: 'accept' });
    await open.close();
  });

  it('finishes the mails in hand on close, and leaves nothing unacknowledged', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const c = await start('gina@example.org', async () => {
      await gate;
      return { v: 1, action: 'accept' };
    });
    const call = rpc.call('gina@example.org', request('c-5', 10_000));
    await new Promise((r) => setTimeout(r, 200));
    const closing = c.close();
    release();
    await closing;
    expect(await call).toEqual({ v: 1, action: 'accept' });
    const q = await ch.checkQueue(userQueue('gina@example.org'));
    expect(q.messageCount).toBe(0);
  });

  it('consumes again by itself after the broker connection drops', async () => {
    const c = await start('hank@example.org', () => ({ v: 1, action: 'accept' }));
    await promisify(execFile)('rabbitmqctl', ['-q', 'close_all_connections', '-p', vhost.name, 'test: drop']);
    // Everyone's connection in the vhost was closed: our own caller and admin channel too.
    admin = await amqp.connect(vhost.url);
    ch = await admin.createChannel();
    await rpc.waitReady(10_000);
    await vi.waitFor(
      async () => expect((await ch.checkQueue(userQueue('hank@example.org'))).consumerCount).toBe(1),
      {
        timeout: 10_000,
      },
    );
    expect(await rpc.call('hank@example.org', request('c-6'))).toEqual({ v: 1, action: 'accept' });
    await c.close();
  });
});

describe('Classifier learning', () => {
  const learnt: { raw: string; label: LearnLabel; owner: string | undefined }[] = [];
  const learner = (mail: Mail, label: LearnLabel, owner: string | undefined) => {
    learnt.push({ raw: mail.raw.toString(), label, owner });
    return { times: 2, before: 0.1, after: 0.995 };
  };

  /** A classifier that accepts every mail, on `owner`'s personal queue, with `options` (learn...). */
  async function startOn(owner: string, options: Partial<ClassifierOptions> = {}) {
    const queue = await assertUserQueue(ch, owner);
    const c = await startClassifier({
      url: vhost.url,
      queue,
      handler: () => ({ v: 1, action: 'accept' }),
      ...options,
    });
    return { queue, c };
  }

  async function deadCountAfter(publish: () => void): Promise<number> {
    await ch.purgeQueue(DEAD_QUEUE);
    publish();
    let dead = 0;
    for (let i = 0; i < 50 && dead === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      dead = (await ch.checkQueue(DEAD_QUEUE)).messageCount;
    }
    return dead;
  }

  it('hands learn requests to learn and scan requests to the handler, on the same queue', async () => {
    learnt.length = 0;
    // The owner's own user (guest here) may learn whatever the trusted publishers.
    const { queue, c } = await startOn('jane@example.org', {
      learn: learner,
      trustedPublishers: ['some-gateway'],
    });
    const result = await sendLearn({ url: vhost.url, queue, label: 'spam', mail: Buffer.from(RAW) });
    // The owner defaults to the personal queue's.
    expect(result).toEqual({
      v: 1,
      label: 'spam',
      owner: 'jane@example.org',
      times: 2,
      before: 0.1,
      after: 0.995,
    });
    expect(learnt).toEqual([{ raw: RAW, label: 'spam', owner: 'jane@example.org' }]);
    await vi.waitFor(() => expect(c.stats.learnt).toBe(1));
    expect((await ch.checkQueue(queue)).messageCount).toBe(0);
    await c.close();
  });

  it('dead-letters learn requests whose publisher is neither trusted nor its own user, even with no trust list', async () => {
    learnt.length = 0;
    const { queue, c } = await startOn('kate@example.org', { learn: learner });
    // Anyone who may publish to the default exchange can reach this queue; without user_id
    // RabbitMQ vouches for no one.
    const { content, properties } = encodeLearnRequest({
      id: 'l-forged',
      label: 'ham',
      mail: Buffer.from(RAW),
    });
    expect(await deadCountAfter(() => ch.sendToQueue(queue, content, properties))).toBe(1);
    expect(c.stats.malformed).toBe(1);
    expect(learnt).toEqual([]);
    await c.close();
  });

  it('dead-letters a malformed learn request from its own user', async () => {
    const { queue, c } = await startOn('liam@example.org', { learn: learner });
    const { content, properties } = encodeLearnRequest({
      id: 'l-bad',
      label: 'spam',
      mail: Buffer.from(RAW),
    });
    const headers = { ...properties.headers, 'psf-learn-label': 'eggs' };
    const publish = () => ch.sendToQueue(queue, content, { ...properties, headers, userId: 'guest' });
    expect(await deadCountAfter(publish)).toBe(1);
    expect(c.stats.malformed).toBe(1);
    await c.close();
  });

  it('a classifier without learn answers "this classifier does not learn" and acknowledges', async () => {
    const { queue, c } = await startOn('mia@example.org');
    const err = await sendLearn({ url: vhost.url, queue, label: 'ham', mail: Buffer.from(RAW) }).catch(
      (e) => e,
    );
    expect(isPsfError(err, 'CLASSIFIER_FAILED')).toBe(true);
    expect((err as Error).message).toBe('this classifier does not learn');
    await vi.waitFor(() => expect(c.stats.failed).toBe(1));
    expect((await ch.checkQueue(queue)).messageCount).toBe(0);
    await c.close();
  });

  it('reports a failing learn to the sender', async () => {
    const { queue, c } = await startOn('noah@example.org', {
      learn: () => {
        throw new Error('no space left on device');
      },
    });
    const err = await sendLearn({ url: vhost.url, queue, label: 'ham', mail: Buffer.from(RAW) }).catch(
      (e) => e,
    );
    expect(isPsfError(err, 'CLASSIFIER_FAILED')).toBe(true);
    expect((err as Error).message).toBe('learning failed: no space left on device');
    await c.close();
  });
});
