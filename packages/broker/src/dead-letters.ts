import { DEAD_QUEUE, LEARN_REQUEST_TYPE, RequestHeader } from '@psf/protocol';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { BrokerConnection } from './connection.js';
import { type Logger, silentLogger } from './logger.js';

/** Why a request died, as RabbitMQ's x-death header says: its owner's classifier was offline
 * (`expired`), it was refused (`rejected`), or the owner's queue was full (`maxlen`). */
export interface DeadLetter {
  /** The owner id (the request's routing key); '' for the default classifier. */
  owner: string;
  reason: string;
  /** The queue it died in. */
  queue: string;
  /** The request id (correlation id). */
  id?: string;
  /** The envelope sender and the recipients the request was for (from its headers). */
  from?: string;
  rcpt?: string[];
}

interface XDeath {
  reason?: string;
  queue?: string;
  'routing-keys'?: unknown[];
}

/** Reads one dead-lettered message's story from its x-death header. */
export function deadLetterOf(msg: Pick<ConsumeMessage, 'fields' | 'properties'>): DeadLetter {
  const deaths = (msg.properties.headers?.['x-death'] ?? []) as XDeath[];
  const first = deaths[0] ?? {};
  const keys = first['routing-keys'] ?? [msg.fields.routingKey];
  const headers = msg.properties.headers ?? {};
  const id = msg.properties.correlationId as unknown;
  const from = headers[RequestHeader.mailFrom];
  const rcpt = headers[RequestHeader.rcpt];
  return {
    owner: String(keys[0] ?? ''),
    reason: String(first.reason ?? 'unknown'),
    queue: String(first.queue ?? ''),
    ...(typeof id === 'string' ? { id } : {}),
    ...(typeof from === 'string' ? { from } : {}),
    ...(Array.isArray(rcpt) ? { rcpt: rcpt.map(String) } : {}),
  };
}

/**
 * Consumes psf.dead: each dead request is reported to `onDeadLetter` (stats, a digest to the
 * owner) and acknowledged at once. Mail is never kept here: the gateway already applied its
 * timeout policy to it, and Postfix holds what was deferred. Several gateways may run one; each
 * dead letter reaches one of them.
 */
export class DeadLetterWatcher {
  readonly #conn: BrokerConnection;
  readonly #onDeadLetter: (dead: DeadLetter) => void;
  readonly #log: Logger;
  #channel: Channel | undefined;
  #closed = false;

  constructor(options: {
    connection: BrokerConnection;
    onDeadLetter: (dead: DeadLetter) => void;
    logger?: Logger;
  }) {
    this.#conn = options.connection;
    this.#onDeadLetter = options.onDeadLetter;
    this.#log = options.logger ?? silentLogger;
    const start = (model: ChannelModel) =>
      this.#consume(model).catch((err: Error) =>
        this.#log.warn({ event: 'dead-letters-failed', err: err.message }, 'cannot read psf.dead'),
      );
    this.#conn.on('connect', start);
    if (this.#conn.model) void start(this.#conn.model);
  }

  async #consume(model: ChannelModel) {
    const ch = await model.createChannel();
    if (this.#closed) {
      await ch.close();
      return;
    }
    ch.on('error', () => {});
    this.#channel = ch;
    await ch.prefetch(100);
    await ch.consume(DEAD_QUEUE, (msg) => {
      if (!msg) return;
      // A refused or expired learn request is no mail: its sender was told (or timed out).
      if (msg.properties.type === LEARN_REQUEST_TYPE) {
        this.#log.info(
          { event: 'dead-learn-request', id: msg.properties.correlationId },
          'learn request died',
        );
        ch.ack(msg);
        return;
      }
      const dead = deadLetterOf(msg);
      this.#log.info({ event: 'dead-letter', ...dead }, 'request died unanswered');
      this.#onDeadLetter(dead);
      ch.ack(msg);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#channel?.close().catch(() => {});
  }
}
