import { BrokerConnection, type Logger, silentLogger } from '@psf/broker';
import {
  decodeScanRequest,
  encodeClassifierError,
  encodeVerdict,
  isPsfError,
  PsfError,
  type Verdict,
} from '@psf/protocol';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import { type Mail, toMail } from './mail.js';

/** Decides about one mail. Throwing is fine: the gateway is told at once and applies its policy. */
export type Handler = (mail: Mail) => Verdict | Promise<Verdict>;

export interface ClassifierOptions {
  /**
   * AMQP URL with the owner's credentials and vhost; for a cluster, its nodes' URLs (an array, or
   * separated by commas): the classifier moves to the next one when its node fails.
   */
  url: string | readonly string[];
  /** Credentials read at every (re)connection, overriding the URL's (a token that is refreshed). */
  credentials?: () => { username: string; password: string };
  /** The queue to consume: `userQueue(owner)` from @psf/protocol, or psf.default for the central one. */
  queue: string;
  handler: Handler;
  /**
   * Broker users whose requests are answered (RabbitMQ vouches for the `user_id` of a message);
   * others are dead-lettered unanswered. Set it to the gateways' users: anyone who may publish
   * replies could otherwise put a forged request into your queue. Default: answer all.
   */
  trustedPublishers?: string[];
  /** Mails handled at once (AMQP prefetch). Default 16. */
  concurrency?: number;
  /** Shown in RabbitMQ's connection list. */
  name?: string;
  logger?: Logger;
}

export interface ClassifierStats {
  /** Verdicts sent. */
  answered: number;
  /** Handler errors reported to the gateway. */
  failed: number;
  /** Requests whose deadline had passed before or while they were handled. */
  expired: number;
  /** Requests that could not be read, dead-lettered. */
  malformed: number;
}

/**
 * Consumes scan requests and answers each with the handler's verdict. A request is acknowledged
 * only after its reply is confirmed by the broker, so a crash means redelivery, not a lost mail.
 */
export class Classifier {
  readonly stats: ClassifierStats = { answered: 0, failed: 0, expired: 0, malformed: 0 };
  readonly #conn: BrokerConnection;
  readonly #opts: ClassifierOptions;
  readonly #log: Logger;
  readonly #inFlight = new Set<Promise<void>>();
  #channel: ConfirmChannel | undefined;
  #consumerTag: string | undefined;
  #closed = false;

  private constructor(conn: BrokerConnection, opts: ClassifierOptions) {
    this.#conn = conn;
    this.#opts = opts;
    this.#log = opts.logger ?? silentLogger;
    conn.on('connect', (model) => {
      this.#consume(model).catch((err: Error) => {
        this.#log.error(
          { event: 'classifier-consume-failed', queue: opts.queue, err: err.message },
          'cannot consume',
        );
      });
    });
  }

  /** Connects and starts consuming; resolves once consuming (waits up to `timeoutMs` for the broker). */
  static async start(opts: ClassifierOptions, timeoutMs = 30_000): Promise<Classifier> {
    const conn = await BrokerConnection.open({
      url: opts.url,
      name: opts.name ?? `psf-classifier ${opts.queue}`,
      ...(opts.credentials ? { credentials: opts.credentials } : {}),
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
    const classifier = new Classifier(conn, opts);
    try {
      await conn.waitForConnect(timeoutMs);
      await classifier.#waitConsuming(timeoutMs);
    } catch (err) {
      await conn.close();
      throw err;
    }
    return classifier;
  }

  async #waitConsuming(timeoutMs: number) {
    const until = Date.now() + timeoutMs;
    while (!this.#consumerTag) {
      if (Date.now() > until) throw new PsfError('BROKER_UNAVAILABLE', `not consuming ${this.#opts.queue}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async #consume(model: ChannelModel) {
    const ch = await model.createConfirmChannel();
    ch.on('error', (err: Error) => this.#log.warn({ event: 'classifier-channel-error', err: err.message }));
    ch.on('close', () => {
      if (this.#channel === ch) {
        this.#channel = undefined;
        this.#consumerTag = undefined;
      }
    });
    await ch.prefetch(this.#opts.concurrency ?? 16);
    this.#channel = ch;
    const { consumerTag } = await ch.consume(this.#opts.queue, (msg) => {
      if (!msg) return; // cancelled by the broker (queue deleted): the next connection retries
      const task = this.#handle(ch, msg).finally(() => this.#inFlight.delete(task));
      this.#inFlight.add(task);
    });
    this.#consumerTag = consumerTag;
  }

  async #handle(ch: ConfirmChannel, msg: ConsumeMessage): Promise<void> {
    let mail: Mail;
    try {
      const publisher = msg.properties.userId as string | undefined;
      const trusted = this.#opts.trustedPublishers;
      if (trusted && !trusted.includes(publisher ?? '')) {
        throw new PsfError('BAD_REQUEST', `request from untrusted publisher ${JSON.stringify(publisher)}`);
      }
      mail = toMail(decodeScanRequest(msg));
    } catch (err) {
      this.stats.malformed++;
      this.#log.warn(
        { event: 'classifier-bad-request', err: (err as Error).message },
        'dead-lettering request',
      );
      ch.nack(msg, false, false); // to psf.dlx: a request nobody can read must not loop
      return;
    }
    const replyTo = msg.properties.replyTo as string | undefined;
    const started = Date.now();
    const log = { id: mail.id, queue: this.#opts.queue };
    if (started >= mail.deadline || !replyTo) {
      this.stats.expired++;
      this.#log.info({ ...log, event: 'classifier-expired' }, 'deadline passed before handling');
      ch.ack(msg);
      return;
    }

    let reply: ReturnType<typeof encodeVerdict>;
    let outcome: string;
    try {
      const verdict = await withDeadline(
        Promise.resolve().then(() => this.#opts.handler(mail)),
        mail.deadline,
      );
      reply = encodeVerdict(verdict, mail.id);
      outcome = verdict.action;
    } catch (err) {
      if (isPsfError(err, 'TIMEOUT')) {
        this.stats.expired++;
        this.#log.warn({ ...log, event: 'classifier-overran' }, 'handler outlived the deadline');
        ch.ack(msg);
        return;
      }
      this.stats.failed++;
      const message = isPsfError(err, 'BAD_VERDICT')
        ? `handler returned an invalid verdict: ${err.message}`
        : `handler failed: ${(err as Error)?.message ?? String(err)}`;
      this.#log.error({ ...log, event: 'classifier-handler-error', err: message }, 'handler failed');
      reply = encodeClassifierError(message, mail.id);
      outcome = 'error';
    }
    try {
      await publishConfirmed(ch, replyTo, reply);
      ch.ack(msg);
      if (outcome !== 'error') this.stats.answered++;
      this.#log.info({ ...log, event: 'classified', outcome, ms: Date.now() - started });
    } catch (err) {
      // The channel is gone: the broker requeues the unacked request for another try.
      this.#log.warn({ ...log, event: 'classifier-reply-failed', err: (err as Error).message });
    }
  }

  /** Stops consuming, lets in-flight mails finish and closes the connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const ch = this.#channel;
    if (ch && this.#consumerTag) await ch.cancel(this.#consumerTag).catch(() => {});
    await Promise.allSettled([...this.#inFlight]);
    // A round trip after the last ack, so it is not lost in the close (rabbitmq-server#10327).
    if (ch) await ch.checkQueue(this.#opts.queue).catch(() => {});
    await this.#conn.close();
  }
}

function withDeadline<T>(work: Promise<T>, deadline: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new PsfError('TIMEOUT', 'deadline passed')),
      Math.max(0, deadline - Date.now()),
    );
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

function publishConfirmed(
  ch: Channel & ConfirmChannel,
  replyTo: string,
  reply: { content: Buffer; properties: Record<string, unknown> },
): Promise<void> {
  return new Promise((resolve, reject) => {
    ch.publish('', replyTo, reply.content, reply.properties, (err) => (err ? reject(err) : resolve()));
  });
}

/** Starts a classifier: `await startClassifier({ url, queue, handler })`. */
export function startClassifier(opts: ClassifierOptions, timeoutMs?: number): Promise<Classifier> {
  return Classifier.start(opts, timeoutMs);
}
