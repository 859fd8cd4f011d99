import { createVhost } from '@psf/testkit';
import amqp, { type ChannelModel } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { BrokerConnection } from './connection.js';

type Socket = { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void };

/** Counts the socket writes (each one system call) of a connection from now on. */
function countWrites(model: ChannelModel): { count(): number } {
  const socket = (model as unknown as { connection: { stream: Socket } }).connection.stream;
  let writes = 0;
  for (const key of ['_write', '_writev'] as const) {
    const inner = socket[key];
    socket[key] = function (this: Socket, ...args: unknown[]) {
      writes++;
      return inner.apply(this, args);
    };
  }
  return { count: () => writes };
}

/** Publishes ten 4 KiB messages in one turn of the event loop; returns the socket writes it took. */
async function publishBurst(
  model: ChannelModel,
  queue: string,
): Promise<{ writes: number; bodies: Buffer[] }> {
  const ch = await model.createConfirmChannel();
  await ch.assertQueue(queue, { durable: false });
  const sent = Array.from({ length: 10 }, (_, i) => Buffer.alloc(4096, 97 + i));
  const writes = countWrites(model);
  for (const body of sent) ch.sendToQueue(queue, body);
  await ch.waitForConfirms(); // reads only
  const counted = writes.count();
  const bodies: Buffer[] = [];
  for (let msg = await ch.get(queue, { noAck: true }); msg; msg = await ch.get(queue, { noAck: true }))
    bodies.push(msg.content);
  expect(bodies).toEqual(sent);
  await ch.close();
  return { writes: counted, bodies };
}

describe('coalesced frame writes', () => {
  it('sends the frames of a burst of publishes in a few writes, where amqplib alone makes two per publish', async () => {
    await using vhost = await createVhost();
    const conn = await BrokerConnection.open({ url: vhost.url });
    const plain = await amqp.connect(vhost.url);
    try {
      const coalesced = await publishBurst(await conn.waitForConnect(10_000), 'psf.test.coalesced');
      const oneByOne = await publishBurst(plain, 'psf.test.plain');
      expect(oneByOne.writes).toBeGreaterThanOrEqual(20);
      expect(coalesced.writes).toBeLessThanOrEqual(4);
    } finally {
      await plain.close();
      await conn.close();
    }
  });
});
