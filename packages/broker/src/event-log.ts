import { randomBytes } from 'node:crypto';
import { decodeEvents, EVENTS_STREAM, encodeEvents, type PsfEvent } from '@psf/protocol';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { BrokerConnection } from './connection.js';
import { type Logger, silentLogger } from './logger.js';

export interface EventPublisherOptions {
  connection: BrokerConnection;
  /** Longest an event waits for its batch. Default 100 ms. */
  flushMs?: number;
  /** Events per message at most. Default 500. */
  maxBatch?: number;
  logger?: Logger;
}

/**
 * Appends events to psf.events, batched: one message per `flushMs` (or `maxBatch` events), so the
 * broker handles a message per batch, not per mail. Best effort by design: published without
 * waiting for a confirm and dropped while the broker is away, so statistics never slow down or
 * hold up mail (the gateway's Prometheus counters stay exact; `dropped` counts lost events).
 */
export class EventPublisher {
  readonly #conn: BrokerConnection;
  readonly #log: Logger;
  readonly #flushMs: number;
  readonly #maxBatch: number;
  #batch: PsfEvent[] = [];
  #timer: NodeJS.Timeout | undefined;
  #channel: Channel | undefined;
  #opening: Promise<void> | undefined;
  #closed = false;
  dropped = 0;

  constructor(options: EventPublisherOptions) {
    this.#conn = options.connection;
    this.#log = options.logger ?? silentLogger;
    this.#flushMs = options.flushMs ?? 100;
    this.#maxBatch = options.maxBatch ?? 500;
    const open = (model: ChannelModel) => {
      this.#opening = this.#open(model).catch((err: Error) =>
        this.#log.warn({ event: 'events-failed', err: err.message }, 'cannot publish to psf.events'),
      );
    };
    this.#conn.on('connect', open);
    if (this.#conn.model) void open(this.#conn.model);
  }

  async #open(model: ChannelModel) {
    const ch = await model.createChannel();
    if (this.#closed) return void (await ch.close());
    ch.on('error', () => {});
    ch.on('close', () => {
      if (this.#channel === ch) this.#channel = undefined;
    });
    this.#channel = ch;
  }

  publish(event: PsfEvent): void {
    this.#batch.push(event);
    if (this.#batch.length >= this.#maxBatch) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), this.#flushMs);
  }

  /** Publishes the events waiting for their batch now. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#batch;
    if (batch.length === 0) return;
    this.#batch = [];
    const ch = this.#channel;
    if (!ch) {
      this.dropped += batch.length;
      return;
    }
    const { content, properties } = encodeEvents(batch);
    try {
      ch.publish('', EVENTS_STREAM, content, { ...properties, persistent: true });
    } catch {
      this.dropped += batch.length;
    }
  }

  /** Publishes what waits and closes the channel: once it resolves, the broker has the events. */
  async close(): Promise<void> {
    await this.#opening; // a channel on its way takes the last batch (a short-lived psf-pipe's)
    this.flush();
    this.#closed = true;
    await this.#channel?.close().catch(() => {});
  }
}

export interface ReadEventsOptions {
  /** Epoch ms of the oldest event wanted (second precision), or 'first'. Default 'first'. */
  since?: number | 'first';
  onEvent: (event: PsfEvent) => void;
}

/** Where a stream consumer starts: RabbitMQ takes an offset, 'first', 'last', 'next' or a timestamp. */
function startAt(since: number | 'first'): unknown {
  return since === 'first' ? 'first' : { '!': 'timestamp', value: Math.floor(since / 1000) };
}

/** Decodes a delivery; batches that do not decode (another version, garbage) are skipped. */
function eventsOf(msg: ConsumeMessage, log: Logger): PsfEvent[] {
  try {
    return decodeEvents(msg);
  } catch (err) {
    log.debug({ event: 'bad-event', err: (err as Error).message }, 'skipped a batch of events');
    return [];
  }
}

/**
 * Reads psf.events from `since` up to now and resolves. A stream reports no message count, so the
 * reader first appends a mark of its own and stops when it reads it back: it needs write access
 * to the stream (the admin's credentials, as the psf CLI has).
 */
export async function readEvents(
  model: ChannelModel,
  options: ReadEventsOptions & { logger?: Logger },
): Promise<void> {
  const log = options.logger ?? silentLogger;
  const nonce = randomBytes(9).toString('base64url');
  const writer = await model.createConfirmChannel();
  const mark = encodeEvents([{ v: 1, kind: 'mark', at: Date.now(), nonce }]);
  writer.publish('', EVENTS_STREAM, mark.content, { ...mark.properties, persistent: true });
  await writer.waitForConfirms();
  await writer.close();
  const ch = await model.createChannel();
  try {
    await ch.prefetch(1000);
    await new Promise<void>((resolve, reject) => {
      ch.once('close', () => reject(new Error('channel closed while reading psf.events')));
      void ch
        .consume(
          EVENTS_STREAM,
          (msg) => {
            if (!msg) return reject(new Error('psf.events consumer cancelled'));
            ch.ack(msg);
            for (const event of eventsOf(msg, log)) {
              if (event.kind !== 'mark') options.onEvent(event);
              else if (event.nonce === nonce) resolve();
            }
          },
          { arguments: { 'x-stream-offset': startAt(options.since ?? 'first') } },
        )
        .catch(reject);
    });
  } finally {
    await ch.close().catch(() => {});
  }
}

/**
 * Follows psf.events from `since` for as long as it runs: through reconnections it resumes after
 * the last offset it read. Read access to the stream is enough (the token API uses it).
 */
export class EventFollower {
  readonly #conn: BrokerConnection;
  readonly #options: ReadEventsOptions;
  readonly #log: Logger;
  #channel: Channel | undefined;
  #next: number | undefined;
  #closed = false;

  constructor(options: ReadEventsOptions & { connection: BrokerConnection; logger?: Logger }) {
    this.#conn = options.connection;
    this.#options = options;
    this.#log = options.logger ?? silentLogger;
    const start = (model: ChannelModel) =>
      this.#consume(model).catch((err: Error) =>
        this.#log.warn({ event: 'events-follow-failed', err: err.message }, 'cannot read psf.events'),
      );
    this.#conn.on('connect', start);
    if (this.#conn.model) void start(this.#conn.model);
  }

  async #consume(model: ChannelModel) {
    const ch = await model.createChannel();
    if (this.#closed) return void (await ch.close());
    ch.on('error', () => {});
    this.#channel = ch;
    await ch.prefetch(1000);
    const offset = this.#next ?? startAt(this.#options.since ?? 'first');
    await ch.consume(
      EVENTS_STREAM,
      (msg) => {
        if (!msg) return;
        ch.ack(msg);
        this.#next = Number(msg.properties.headers?.['x-stream-offset']) + 1;
        for (const event of eventsOf(msg, this.#log)) if (event.kind !== 'mark') this.#options.onEvent(event);
      },
      { arguments: { 'x-stream-offset': offset } },
    );
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#channel?.close().catch(() => {});
  }
}
