import {
  DIRECT_REPLY_TO,
  decodeReply,
  encodeScanRequest,
  PsfError,
  SCAN_EXCHANGE,
  type ScanRequest,
  type Verdict,
} from '@psf/protocol';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, Message } from 'amqplib';
import type { BrokerConnection } from './connection.js';
import { type Logger, silentLogger } from './logger.js';

export type ReplyMode = 'direct' | 'queue';

export interface RpcClientOptions {
  connection: BrokerConnection;
  /**
   * Where replies come back: `direct` (RabbitMQ's direct reply-to; no queue, at-most-once:
   * a lost reply is a timeout) or `queue` (an exclusive, auto-deleted reply queue). Default direct.
   */
  replyMode?: ReplyMode;
  /** Publish requests persistent (delivery mode 2). Default false: the mail stays in Postfix's
   * queue until the gateway answers, so a request lost with the broker costs only a retry. */
  persistent?: boolean;
  logger?: Logger;
}

interface Pending {
  resolve: (v: Verdict) => void;
  reject: (e: PsfError) => void;
  timer: NodeJS.Timeout;
  /** Where the request went, and so where its reply comes back. */
  ch: ConfirmChannel;
}

/** At most one channel renewal per this many ms: a full queue nacks too, and must not churn channels. */
const RENEW_INTERVAL_MS = 1000;

/**
 * Asks classifiers over RabbitMQ: one publish (confirmed, mandatory, expiring at the deadline)
 * per call, replies matched by correlation id. Every pending call is rejected when the channel
 * closes, and the channel is reopened on the next connection.
 */
export class RpcClient {
  readonly #conn: BrokerConnection;
  readonly #mode: ReplyMode;
  readonly #persistent: boolean;
  readonly #log: Logger;
  readonly #pending = new Map<string, Pending>();
  #channel: ConfirmChannel | undefined;
  #replyTo = DIRECT_REPLY_TO;
  #drained: Promise<void> | undefined;
  #opening: Promise<void> | undefined;
  /** Channels replaced after a nack, closed once their calls are settled. */
  readonly #retiring = new Set<ConfirmChannel>();
  #renewedAt = 0;
  #closed = false;
  readonly #onConnect = (model: ChannelModel) => {
    this.#opening = this.#open(model).catch((err: Error) => {
      this.#log.error({ event: 'rpc-channel-failed', err: err.message }, 'could not open RPC channel');
    });
  };

  constructor(options: RpcClientOptions) {
    this.#conn = options.connection;
    this.#mode = options.replyMode ?? 'direct';
    this.#persistent = options.persistent ?? false;
    this.#log = options.logger ?? silentLogger;
    this.#conn.on('connect', this.#onConnect);
    if (this.#conn.model) this.#onConnect(this.#conn.model);
  }

  /** Whether a call made now can be published (connected, channel open). */
  get ready(): boolean {
    return this.#channel !== undefined;
  }

  /** Number of calls waiting for a verdict. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /** Resolves once the reply channel is open (after a (re)connection). */
  async waitReady(timeoutMs = 30_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!this.#channel) {
      if (this.#closed || Date.now() > until) {
        throw new PsfError('BROKER_UNAVAILABLE', 'RPC channel not ready');
      }
      await (this.#opening ?? new Promise((r) => setTimeout(r, 20)));
      if (!this.#channel) await new Promise((r) => setTimeout(r, 20));
    }
  }

  async #open(model: ChannelModel): Promise<void> {
    const ch = await model.createConfirmChannel();
    ch.on('error', (err: Error) =>
      this.#log.warn({ event: 'rpc-channel-error', err: err.message }, 'RPC channel error'),
    );
    ch.on('close', () => this.#onChannelClose(ch, model));
    ch.on('return', (msg: Message) => this.#onReturn(msg));
    ch.on('drain', () => {
      this.#drained = undefined;
    });
    if (this.#mode === 'direct') {
      this.#replyTo = DIRECT_REPLY_TO;
    } else {
      this.#replyTo = (await ch.assertQueue('', { exclusive: true, autoDelete: true, durable: false })).queue;
    }
    await ch.consume(this.#replyTo, (msg) => this.#onReply(msg), { noAck: true });
    this.#channel = ch;
  }

  #onChannelClose(ch: Channel, model: ChannelModel) {
    this.#rejectAll(
      new PsfError('BROKER_UNAVAILABLE', 'RabbitMQ channel closed with the request in flight'),
      ch,
    );
    if (this.#retiring.delete(ch as ConfirmChannel)) return;
    if (this.#channel !== ch && this.#channel !== undefined) return;
    this.#channel = undefined;
    this.#drained = undefined;
    // A channel error (not a lost connection) leaves the connection up: reopen on it.
    if (!this.#closed && this.#conn.model === model) {
      setTimeout(() => {
        if (!this.#closed && !this.#channel && this.#conn.model === model) this.#onConnect(model);
      }, 100).unref();
    }
  }

  #onReply(msg: ConsumeMessage | null) {
    if (!msg) return; // consumer cancelled: the close handler rejects what is pending
    const id = msg.properties.correlationId as string | undefined;
    const pending = id === undefined ? undefined : this.#pending.get(id);
    if (!pending || id === undefined) {
      this.#log.warn({ event: 'rpc-stray-reply', id }, 'reply for no pending request (late or unknown)');
      return;
    }
    this.#settle(id);
    try {
      pending.resolve(decodeReply(msg));
    } catch (err) {
      pending.reject(err as PsfError);
    }
  }

  #onReturn(msg: Message) {
    const id = msg.properties.correlationId as string | undefined;
    const pending = id === undefined ? undefined : this.#pending.get(id);
    if (!pending || id === undefined) return;
    this.#settle(id);
    const fields = msg.fields as typeof msg.fields & { replyCode?: number; replyText?: string };
    pending.reject(
      new PsfError('PUBLISH_REFUSED', `request returned: ${fields.replyCode} ${fields.replyText}`),
    );
  }

  #settle(id: string): Pending | undefined {
    const p = this.#pending.get(id);
    if (p) {
      clearTimeout(p.timer);
      this.#pending.delete(id);
      if (this.#retiring.has(p.ch) && !this.#usedBy(p.ch)) void p.ch.close().catch(() => {});
    }
    return p;
  }

  #usedBy(ch: ConfirmChannel): boolean {
    for (const p of this.#pending.values()) if (p.ch === ch) return true;
    return false;
  }

  /** Rejects the calls waiting on `ch`, or on any channel. */
  #rejectAll(err: PsfError, ch?: Channel) {
    for (const [id, p] of this.#pending) {
      if (ch && p.ch !== ch) continue;
      this.#settle(id);
      p.reject(err);
    }
  }

  /**
   * After a nack, new calls go to a new channel: a channel that first published to a quorum queue
   * while it elected a leader (a node just died) can be nacked for good (seen on RabbitMQ 3.10);
   * a new one works once there is a leader. The old channel stays open for the replies to the
   * calls sent on it.
   */
  #renew(ch: ConfirmChannel) {
    const model = this.#conn.model;
    if (this.#closed || this.#channel !== ch || !model) return;
    if (Date.now() - this.#renewedAt < RENEW_INTERVAL_MS) return;
    this.#renewedAt = Date.now();
    this.#log.warn({ event: 'rpc-channel-renewed' }, 'request nacked: new RPC channel');
    this.#channel = undefined;
    this.#drained = undefined;
    this.#retiring.add(ch);
    if (!this.#usedBy(ch)) void ch.close().catch(() => {});
    this.#onConnect(model);
  }

  /**
   * Sends `request` to the classifier of `owner` (routing key on psf.scan) and resolves with its
   * verdict. Rejects with PsfError: TIMEOUT (deadline passed), BROKER_UNAVAILABLE (no connection,
   * or it closed meanwhile), PUBLISH_REFUSED (nacked or returned), BAD_VERDICT, CLASSIFIER_FAILED.
   */
  async call(owner: string, request: ScanRequest): Promise<Verdict> {
    if (this.#closed) throw new PsfError('SHUTTING_DOWN', 'RPC client closed');
    while (this.#drained) await this.#drained;
    const ch = this.#channel;
    if (!ch) throw new PsfError('BROKER_UNAVAILABLE', 'not connected to RabbitMQ');
    const ttl = request.deadline - Date.now();
    if (ttl <= 0) throw new PsfError('TIMEOUT', 'deadline passed before the request was sent');
    if (this.#pending.has(request.id)) throw new PsfError('CONFIG', `duplicate request id ${request.id}`);

    const { content, properties } = encodeScanRequest(request);
    return new Promise<Verdict>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.#settle(request.id)) {
          reject(new PsfError('TIMEOUT', `no verdict from ${owner}'s classifier within ${ttl} ms`));
        }
      }, ttl);
      this.#pending.set(request.id, { resolve, reject, timer, ch });
      let ok: boolean;
      try {
        ok = ch.publish(
          SCAN_EXCHANGE,
          owner,
          content,
          {
            ...properties,
            replyTo: this.#replyTo,
            expiration: String(ttl),
            mandatory: true,
            persistent: this.#persistent,
            // RabbitMQ refuses a user_id that is not the publisher's: classifiers can trust it.
            userId: this.#conn.username,
            timestamp: Math.floor(Date.now() / 1000),
          },
          (err) => {
            if (err && this.#settle(request.id)) {
              reject(new PsfError('PUBLISH_REFUSED', 'RabbitMQ did not confirm the request', { cause: err }));
              this.#renew(ch);
            }
          },
        );
      } catch (cause) {
        this.#settle(request.id);
        reject(new PsfError('BROKER_UNAVAILABLE', 'could not publish the request', { cause }));
        return;
      }
      // A full write buffer: later calls wait for 'drain' instead of piling into memory.
      if (!ok && !this.#drained) {
        // Also released by a close, so waiting calls fail fast instead of hanging.
        this.#drained = new Promise((r) => {
          ch.once('drain', r);
          ch.once('close', r);
        });
      }
    });
  }

  /** Rejects pending calls and closes the channel; the connection belongs to the caller. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#conn.off('connect', this.#onConnect);
    this.#rejectAll(new PsfError('SHUTTING_DOWN', 'RPC client closed'));
    const ch = this.#channel;
    this.#channel = undefined;
    await Promise.all([ch, ...this.#retiring].map((c) => c?.close().catch(() => {})));
  }
}
