// Who may train a classifier and who may ask it for verdicts are separate lists: on a private
// RabbitMQ node with real users (RabbitMQ vouches for each message's user_id), the token API's
// user may send corrections but no scan requests, the gateway's the reverse.
import { assertTopology, assertUserQueue } from '@psf/broker';
import { type Classifier, sendLearn, startClassifier } from '@psf/client-sdk';
import { DEAD_QUEUE, encodeScanRequest, isPsfError } from '@psf/protocol';
import { type RabbitNode, startRabbitNode } from '@psf/testkit';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

const MAIL = Buffer.from('Subject: x\r\n\r\nhello\r\n');
let node: RabbitNode;
let admin: ChannelModel;
let ch: Channel;
let classifier: Classifier;
let queue: string;
const learnt: string[] = [];
const answered: string[] = [];

const urlOf = (user: string) => node.url.replace('guest:guest', `${user}:secret-${user}`);

async function deadCount(): Promise<number> {
  return (await ch.checkQueue(DEAD_QUEUE)).messageCount;
}

/** A scan request published as `user` straight into the classifier's queue; close the connection after. */
async function scanAs(user: string, id: string): Promise<ChannelModel> {
  const conn = await amqp.connect(urlOf(user));
  const pub = await conn.createConfirmChannel();
  const { content, properties } = encodeScanRequest({
    id,
    envelope: { mailFrom: 'a@example.net', rcpt: ['owner@example.org'] },
    size: MAIL.length,
    truncated: false,
    deadline: Date.now() + 10_000,
    mail: MAIL,
  });
  const { queue: replyTo } = await pub.assertQueue('', { exclusive: true });
  pub.sendToQueue(queue, content, { ...properties, userId: user, replyTo });
  await pub.waitForConfirms();
  return conn;
}

beforeAll(async () => {
  node = await startRabbitNode();
  for (const user of ['psf-gateway', 'psf-token-api']) {
    await node.ctl(['add_user', user, `secret-${user}`]);
    await node.ctl(['set_permissions', '-p', '/', user, '.*', '.*', '.*']);
  }
  admin = await amqp.connect(node.url);
  ch = await admin.createChannel();
  await assertTopology(ch);
  queue = await assertUserQueue(ch, 'owner@example.org');
  classifier = await startClassifier({
    url: node.url, // the owner's classifier runs as guest here
    queue,
    trustedPublishers: ['psf-gateway'],
    learnPublishers: ['psf-token-api'],
    handler: (mail) => {
      answered.push(mail.id);
      return { v: 1, action: 'accept' };
    },
    learn: (_mail, label) => {
      learnt.push(label);
      return { times: 1 };
    },
  });
}, 120_000);

afterAll(async () => {
  await classifier?.close();
  await admin?.close();
  await node?.[Symbol.asyncDispose]();
});

describe('learnPublishers and trustedPublishers', () => {
  it("takes the token API's corrections and the classifier's own, not the gateway's", async () => {
    const fromTokenApi = await sendLearn({ url: urlOf('psf-token-api'), queue, label: 'ham', mail: MAIL });
    expect(fromTokenApi).toMatchObject({ v: 1, label: 'ham', times: 1 });
    expect(await sendLearn({ url: node.url, queue, label: 'spam', mail: MAIL })).toMatchObject({ times: 1 });
    const dead = await deadCount();
    const fromGateway = await sendLearn({
      url: urlOf('psf-gateway'),
      queue,
      label: 'spam',
      mail: MAIL,
      timeoutMs: 1500,
    }).catch((err: unknown) => err);
    expect(isPsfError(fromGateway, 'TIMEOUT')).toBe(true);
    await vi.waitFor(async () => expect(await deadCount()).toBe(dead + 1));
    expect(learnt).toEqual(['ham', 'spam']);
  });

  it("answers the gateway's scan requests, not the token API's", async () => {
    const dead = await deadCount();
    const senders = [
      await scanAs('psf-gateway', 'from-gateway'),
      await scanAs('psf-token-api', 'from-token-api'),
    ];
    await vi.waitFor(async () => expect(await deadCount()).toBe(dead + 1));
    await vi.waitFor(() => expect(answered).toEqual(['from-gateway']));
    for (const sender of senders) await sender.close();
    expect(classifier.stats.malformed).toBe(2); // the gateway's learn request above and this scan
  });
});
