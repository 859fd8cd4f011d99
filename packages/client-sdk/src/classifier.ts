import { BrokerConnection, type Logger, silentLogger } from '@psf/broker';
import {
  decodeLearnRequest,
  decodeScanRequest,
  encodeClassifierError,
  encodeLearnResult,
  encodeVerdict,
  isPsfError,
  LEARN_REQUEST_TYPE,
  type LearnLabel,
  type LearnOutcome,
  type LearnRequest,
  PsfError,
  type Verdict,
} from '@psf/protocol';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { learnMail, type Mail, toMail } from './mail.js';

/** Decides about one mail. Throwing is fine: the gateway is told at once and applies its policy. */
export type Handler = (mail: Mail) => Verdict | Promise<Verdict>;

/**
 * Learns an owner's correction: `mail` as `label`, into the model of `owner` (the request's, when
 * it named one). Resolves with what learning did; throwing sends the sender an error.
 */
export type Learner = (
  mail: Mail,
  label: LearnLabel,
  owner: string | undefined,
) => LearnOutcome | Promise<LearnOutcome>;

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
   * Answers learn requests (`psf-client learn`, `sendLearn`); without it they get the error
   * "this classifier does not learn".
   */
  learn?: Learner;
  /**
   * Broker users whose requests are answered (RabbitMQ vouches for the `user_id` of a message);
   * others are dead-lettered unanswered. Set it to the gateways' users: anyone who may publish
   * replies could otherwise put a forged request into your queue. Default: answer all scan
   * requests.
   */
  trustedPublishers?: string[];
  /**
   * Broker users whose learn requests are taken besides the classifier's own (the owner correcting
   * their classifier), e.g. the token API's for the self-service page's corrections. Learning
   * changes every later verdict, so nobody else's, ever. Default: the `trustedPublishers`.
   */
  learnPublishers?: string[];
  /** Mails handled at once (AMQP prefetch). Default 16. */
  concurrency?: number;
  /** Shown in RabbitMQ's connection list. */
  name?: string;
  logger?: Logger;
}

export interface ClassifierStats {
  /** Verdicts sent. */
  answered: number;
  /** Handler and learning errors reported to the sender (a learn request to a classifier
   * without `learn` included). */
  failed: number;
  /** Learn requests learnt and answered. */
  learnt: number;
  /** Requests whose deadline had passed before or while they were handled. */
  expired: number;
  /** Requests that could not be read or came from an untrusted publisher, dead-lettered. */
  malformed: number;
}

/**
 * Consumes scan requests and answers each with the handler's verdict. A request is acknowledged
 * after its reply, on the same channel, so a crash means redelivery, not a lost mail.
 */
export class Classifier {
  readonly stats: ClassifierStats = { answered: 0, failed: 0, learnt: 0, expired: 0, malformed: 0 };
  readonly #conn: BrokerConnection;
  readonly #opts: ClassifierOptions;
  readonly #log: Logger;
  readonly #inFlight = new Set<Promise<void>>();
  #channel: Channel | undefined;
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
    const ch = await model.createChannel();
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
      const work = msg.properties.type === LEARN_REQUEST_TYPE ? this.#learn(ch, msg) : this.#handle(ch, msg);
      const task = work.finally(() => this.#inFlight.delete(task));
      this.#inFlight.add(task);
    });
    this.#consumerTag = consumerTag;
  }

  async #handle(ch: Channel, msg: ConsumeMessage): Promise<void> {
    let mail: Mail;
    try {
      const publisher = msg.properties.userId as string | undefined;
      const trusted = this.#opts.trustedPublishers;
      if (trusted && !trusted.includes(publisher ?? '')) {
        throw new PsfError('BAD_REQUEST', `request from untrusted publisher ${JSON.stringify(publisher)}`);
      }
      mail = toMail(decodeScanRequest(msg));
    } catch (err) {
      this.#deadLetter(ch, msg, err);
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
      replyAndAck(ch, msg, replyTo, reply);
      if (outcome !== 'error') this.stats.answered++;
      this.#log.info({ ...log, event: 'classified', outcome, ms: Date.now() - started });
    } catch (err) {
      // The channel is gone: the broker requeues the unacked request for another try.
      this.#log.warn({ ...log, event: 'classifier-reply-failed', err: (err as Error).message });
    }
  }

  #deadLetter(ch: Channel, msg: ConsumeMessage, err: unknown) {
    this.stats.malformed++;
    this.#log.warn(
      { event: 'classifier-bad-request', err: (err as Error).message },
      'dead-lettering request',
    );
    ch.nack(msg, false, false); // to psf.dlx: a request nobody can read must not loop
  }

  async #learn(ch: Channel, msg: ConsumeMessage): Promise<void> {
    let req: LearnRequest;
    try {
      // Learning changes every later verdict: beyond the trusted publishers, only the owner of
      // this classifier's broker account may ask, never any user who can publish to the queue.
      const publisher = msg.properties.userId as string | undefined;
      const allowed = [
        this.#conn.username,
        ...(this.#opts.learnPublishers ?? this.#opts.trustedPublishers ?? []),
      ];
      if (publisher === undefined || !allowed.includes(publisher)) {
        throw new PsfError(
          'BAD_REQUEST',
          `learn request from untrusted publisher ${JSON.stringify(publisher)}`,
        );
      }
      req = decodeLearnRequest(msg);
    } catch (err) {
      this.#deadLetter(ch, msg, err);
      return;
    }
    const started = Date.now();
    const log = { id: req.id, queue: this.#opts.queue, label: req.label, owner: req.owner };
    const learn = this.#opts.learn;
    let reply: ReturnType<typeof encodeLearnResult>;
    let outcome = 'learnt';
    if (!learn) {
      reply = encodeClassifierError('this classifier does not learn', req.id);
      outcome = 'unsupported';
    } else {
      try {
        const learnt = await learn(learnMail(req), req.label, req.owner);
        reply = encodeLearnResult({ owner: req.owner, ...learnt, v: 1, label: req.label }, req.id);
      } catch (err) {
        const message = `learning failed: ${(err as Error)?.message ?? String(err)}`;
        this.#log.error({ ...log, event: 'classifier-learn-error', err: message }, 'learning failed');
        reply = encodeClassifierError(message, req.id);
        outcome = 'error';
      }
    }
    const replyTo = msg.properties.replyTo as string | undefined;
    try {
      replyAndAck(ch, msg, replyTo, reply);
      if (outcome === 'learnt') this.stats.learnt++;
      else this.stats.failed++;
      this.#log.info({ ...log, event: 'learn-answered', outcome, ms: Date.now() - started });
    } catch (err) {
      // As for scans: the unacked request comes back (and is learnt again, which only adds weight).
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

/**
 * The reply, then the ack, on one channel: RabbitMQ takes a channel's frames in order, so a
 * request is acknowledged only after its reply was routed, and a crash before both arrived means
 * redelivery, not a lost verdict. A publisher confirm would add a round trip and a wake-up per
 * mail and promise no more (it confirms routing either way, not the gateway's receipt).
 * Throws when the channel is gone: the broker then requeues the request.
 */
function replyAndAck(
  ch: Channel,
  msg: ConsumeMessage,
  replyTo: string | undefined,
  reply: { content: Buffer; properties: Record<string, unknown> },
): void {
  if (replyTo) ch.publish('', replyTo, reply.content, reply.properties);
  ch.ack(msg);
}

/** Starts a classifier: `await startClassifier({ url, queue, handler })`. */
export function startClassifier(opts: ClassifierOptions, timeoutMs?: number): Promise<Classifier> {
  return Classifier.start(opts, timeoutMs);
}
