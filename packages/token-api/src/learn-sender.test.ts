import { assertTopology, assertUserQueue, BrokerConnection, OwnerDirectory } from '@psf/broker';
import { type Classifier, type Learner, startClassifier } from '@psf/client-sdk';
import { DEFAULT_QUEUE, type LearnLabel, userQueue } from '@psf/protocol';
import { createVhost } from '@psf/testkit';
import amqp from 'amqplib';
import { describe, expect, it } from 'vitest';
import { BrokerLearnSender } from './learn-sender.js';

const RAW = 'Subject: cash prize\r\n\r\nclaim your cash prize now\r\n';

// Over a real RabbitMQ vhost, with in-process classifiers on a personal queue and on psf.default.
describe('BrokerLearnSender', () => {
  it("sends to the owner's personal queue when there is one, else to psf.default, naming the owner", async () => {
    await using vhost = await createVhost();
    const admin = await amqp.connect(vhost.url);
    const ch = await admin.createChannel();
    await assertTopology(ch);
    await assertUserQueue(ch, 'alice@example.org');
    await admin.close();
    const learnt: Array<{ queue: string; label: LearnLabel; owner: string | undefined; raw: string }> = [];
    const learner =
      (queue: string): Learner =>
      (mail, label, owner) => {
        learnt.push({ queue, label, owner, raw: mail.raw.toString() });
        return { times: 1 };
      };
    const classifiers: Classifier[] = [];
    const connection = await BrokerConnection.open({ url: vhost.url });
    try {
      for (const queue of [userQueue('alice@example.org'), DEFAULT_QUEUE]) {
        classifiers.push(
          await startClassifier({
            url: vhost.url,
            queue,
            handler: () => ({ v: 1, action: 'accept' }),
            learn: learner(queue),
          }),
        );
      }
      await connection.waitForConnect(10_000);
      const sender = new BrokerLearnSender({
        url: vhost.url,
        owners: new OwnerDirectory({ connection }),
        timeoutMs: 5000,
      });
      const alice = await sender.learn('alice@example.org', 'ham', Buffer.from(RAW));
      const bob = await sender.learn('bob@example.org', 'spam', Buffer.from(RAW));
      expect(alice).toMatchObject({ v: 1, label: 'ham', owner: 'alice@example.org', times: 1 });
      expect(bob).toMatchObject({ v: 1, label: 'spam', owner: 'bob@example.org', times: 1 });
      expect(learnt).toEqual([
        { queue: userQueue('alice@example.org'), label: 'ham', owner: 'alice@example.org', raw: RAW },
        { queue: DEFAULT_QUEUE, label: 'spam', owner: 'bob@example.org', raw: RAW },
      ]);
    } finally {
      await Promise.all(classifiers.map((c) => c.close()));
      await connection.close();
    }
  });
});
