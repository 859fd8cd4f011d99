import { randomUUID } from 'node:crypto';
import { BrokerConnection } from '@psf/broker';
import {
  DIRECT_REPLY_TO,
  decodeLearnResult,
  encodeLearnRequest,
  type LearnLabel,
  type LearnResult,
  ownerOfQueue,
  PsfError,
} from '@psf/protocol';
import type { ConfirmChannel, ConsumeMessage, Message } from 'amqplib';

export interface SendLearnOptions {
  /** AMQP URL with the sender's credentials and vhost (a cluster: several, as for a classifier). */
  url: string | readonly string[];
  /** The classifier's queue: the owner's `psf.user.<owner>`, or psf.default. */
  queue: string;
  label: LearnLabel;
  /** The raw RFC 5322 bytes (at most MAX_LEARN_BYTES). */
  mail: Buffer;
  /** Whose model learns. Default: the owner of a `psf.user.<owner>` queue; none for other queues. */
  owner?: string;
  /** How long to wait for the classifier's answer, connecting included. Default 30 000. */
  timeoutMs?: number;
}

/**
 * Asks the classifier consuming `queue` to learn `mail` as spam or ham, and resolves with what
 * learning did. The request goes through the default exchange (an owner may publish there, and
 * only there), persistent, confirmed and mandatory, with direct reply-to, and expires when the
 * wait ends, so a classifier that is offline never learns a correction its sender gave up on.
 *
 * Rejects with PsfError: BAD_REQUEST (the mail or owner cannot be sent), PUBLISH_REFUSED (no such
 * queue, or the broker refused the publish), CLASSIFIER_FAILED (the classifier answered an error,
 * e.g. "this classifier does not learn"), TIMEOUT (no answer in time), BROKER_UNAVAILABLE.
 */
export async function sendLearn(options: SendLearnOptions): Promise<LearnResult> {
  const until = Date.now() + (options.timeoutMs ?? 30_000);
  const id = randomUUID();
  const owner = options.owner ?? ownerOfQueue(options.queue);
  // Before connecting: a mail that cannot be sent fails at once.
  const { content, properties } = encodeLearnRequest({ id, label: options.label, owner, mail: options.mail });
  const conn = await BrokerConnection.open({ url: options.url, name: `psf-client learn ${options.queue}` });
  try {
    const model = await conn.waitForConnect(Math.max(1, until - Date.now()));
    const ch = await model.createConfirmChannel();
    return await new Promise<LearnResult>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new PsfError('TIMEOUT', `no answer from the classifier of ${options.queue} in time`)),
        Math.max(1, until - Date.now()),
      );
      const settle =
        <T>(fn: (v: T) => void) =>
        (v: T) => {
          clearTimeout(timer);
          fn(v);
        };
      const ok = settle(resolve);
      const fail = settle(reject);
      ch.on('error', (err: Error) => fail(new PsfError('PUBLISH_REFUSED', `broker refused: ${err.message}`)));
      ch.on('close', () =>
        fail(new PsfError('BROKER_UNAVAILABLE', 'RabbitMQ channel closed before the answer')),
      );
      ch.on('return', (msg: Message) => {
        const f = msg.fields as typeof msg.fields & { replyCode?: number; replyText?: string };
        fail(new PsfError('PUBLISH_REFUSED', `no queue ${options.queue} (${f.replyCode} ${f.replyText})`));
      });
      const onReply = (msg: ConsumeMessage | null) => {
        if (!msg || msg.properties.correlationId !== id) return;
        try {
          ok(decodeLearnResult(msg));
        } catch (err) {
          fail(err as PsfError);
        }
      };
      void publish(ch, onReply, options.queue, content, {
        ...properties,
        replyTo: DIRECT_REPLY_TO,
        expiration: String(Math.max(1, until - Date.now())),
        mandatory: true,
        persistent: true,
        // RabbitMQ refuses a user_id that is not the publisher's: the classifier can trust it.
        userId: conn.username,
        timestamp: Math.floor(Date.now() / 1000),
      }).catch(fail);
    });
  } finally {
    await conn.close();
  }
}

async function publish(
  ch: ConfirmChannel,
  onReply: (msg: ConsumeMessage | null) => void,
  queue: string,
  content: Buffer,
  properties: Record<string, unknown>,
): Promise<void> {
  // Direct reply-to: consume the pseudo-queue on this channel before publishing on it.
  await ch.consume(DIRECT_REPLY_TO, onReply, { noAck: true });
  await new Promise<void>((resolve, reject) => {
    ch.publish('', queue, content, properties, (err) =>
      err ? reject(new PsfError('PUBLISH_REFUSED', 'RabbitMQ did not confirm the learn request')) : resolve(),
    );
  });
}
