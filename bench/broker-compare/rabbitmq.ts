// RabbitMQ variants over amqplib, publishing as psf's RpcClient does: a confirm channel,
// mandatory, per-message expiration, correlation id, reply-to; persistent or transient.
import amqp, { type ConsumeMessage } from 'amqplib';
import { PendingCalls } from './pending-calls.js';
import {
  CALL_TIMEOUT_MS,
  type Closable,
  type Endpoints,
  noop,
  type Requester,
  type Variant,
  VERDICT,
} from './variant.js';

const DIRECT_REPLY_TO = 'amq.rabbitmq.reply-to';
const EXCHANGE = 'bench.scan';

export interface RabbitOptions {
  queueType: 'classic' | 'quorum';
  reply: 'direct' | 'queue';
  persistent: boolean;
}

export function rabbitVariant(id: Variant['id'], ep: Endpoints, o: RabbitOptions): Variant {
  const queue = `bench.${id}`;
  // noDelay: without it a round trip waits for Nagle + delayed ACK (~40 ms).
  const open = () => amqp.connect(ep.amqpUrl, { noDelay: true });
  return {
    id,
    async setup() {
      const conn = await open();
      try {
        const ch = await conn.createChannel();
        await ch.assertExchange(EXCHANGE, 'direct', { durable: true });
        await ch.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': o.queueType } });
        await ch.bindQueue(queue, EXCHANGE, queue);
      } finally {
        await conn.close();
      }
    },
    async respond(): Promise<Closable> {
      const conn = await open();
      const ch = await conn.createChannel();
      await ch.prefetch(32); // more than the 20 calls in flight: prefetch is not what is measured
      await ch.consume(queue, (msg: ConsumeMessage | null) => {
        if (!msg) return;
        ch.sendToQueue(msg.properties.replyTo as string, Buffer.from(VERDICT), {
          correlationId: msg.properties.correlationId as string,
          contentType: 'application/json',
        });
        ch.ack(msg);
      });
      return { close: () => conn.close() };
    },
    async request(): Promise<Requester> {
      const conn = await open();
      const ch = await conn.createConfirmChannel();
      const pending = new PendingCalls('r', CALL_TIMEOUT_MS);
      const replyTo =
        o.reply === 'direct'
          ? DIRECT_REPLY_TO
          : (await ch.assertQueue('', { exclusive: true, autoDelete: true, durable: false })).queue;
      await ch.consume(replyTo, (msg) => pending.arrived(msg?.properties.correlationId as string), {
        noAck: true,
      });
      ch.on('return', (msg: ConsumeMessage) =>
        pending.fail(msg.properties.correlationId as string, new Error('request returned (unroutable)')),
      );
      ch.on('close', () => pending.failAll(new Error('channel closed')));
      return {
        call(body) {
          const { id, done } = pending.add(2);
          // 20 calls of 100 KB at most are buffered: a false return (buffer full) is ignored here.
          ch.publish(
            EXCHANGE,
            queue,
            Buffer.from(body.buffer, body.byteOffset, body.byteLength),
            {
              correlationId: id,
              replyTo,
              mandatory: true,
              persistent: o.persistent,
              expiration: String(CALL_TIMEOUT_MS),
              contentType: 'message/rfc822',
            },
            (err) => (err ? pending.fail(id, new Error('request nacked')) : pending.arrived(id)),
          );
          return done;
        },
        close: () => conn.close(),
      };
    },
    teardown: noop,
  };
}
