import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  BrokerConnection,
  DeadLetterWatcher,
  EventPublisher,
  type Logger,
  type QueueType,
  type ReplyMode,
  RpcClient,
  silentLogger,
  topologySetup,
} from '@psf/broker';
import { type Dsn, isPsfError, PsfError } from '@psf/protocol';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { messageId } from './header-block.js';
import { MailBody, type SpoolOptions } from './mail-body.js';
import { mailEvents } from './mail-events.js';
import { createMailFilter, type MailFilter } from './mail-filter.js';
import { addressOf, GatewayMetrics, serveMetrics } from './metrics.js';
import type { OwnerMap } from './owners.js';
import type { OnTimeout, PolicyMap } from './policy.js';
import { greetAtOnce } from './prompt-greeting.js';
import { Reinjector, type XForward } from './reinjector.js';
import { coalesceReplies } from './reply-coalescing.js';
import { failureReply, okRcptReply, okReply } from './reply-map.js';

export type GatewayMode = 'after-queue-smtp' | 'after-queue-lmtp' | 'before-queue';

/** What reload() can change: how mail is judged, not where it comes from or goes. */
export type Reloadable = Pick<
  GatewayOptions,
  'ownerOf' | 'policy' | 'timeoutMs' | 'onTimeout' | 'maxScanBytes' | 'quarantine' | 'afterQueueReject'
>;

export interface GatewayOptions {
  /**
   * AMQP URL (credentials, vhost) of the broker the classifiers listen on; for a cluster, its
   * nodes' URLs separated by commas: tried in turn, the next one when a node fails.
   */
  amqpUrl: string;
  /**
   * psf's queues (and quarantines): `quorum` on a cluster, replicated so they outlive a node; a
   * full queue then refuses requests (451) without dead-lettering them. Every gateway and
   * `psf-broker install` must agree. Default classic.
   */
  queueType?: QueueType;
  /** Where Postfix's content_filter connects. Default 127.0.0.1:10025 (port 0: any free port). */
  listen?: { host?: string; port?: number };
  /** Postfix's reinjection smtpd. Default 127.0.0.1:10026. */
  reinject?: { host?: string; port?: number; poolSize?: number };
  /** Time classifiers have for a verdict, ms. Default 10 000. */
  timeoutMs?: number;
  /** When no usable verdict comes: deliver marked unchecked (`accept`, default) or 451 (`tempfail`). */
  onTimeout?: OnTimeout;
  /**
   * Bytes of a mail sent to classifiers; the rest is delivered but not scanned. Default 512 KiB, as
   * spamc's 500 KB: memory holds about this much per mail being classified.
   */
  maxScanBytes?: number;
  /** Concurrent SMTP sessions; match the `scan` transport's maxproc in master.cf. Default 100. */
  maxSessions?: number;
  /** A session silent this long is closed with 421. Default 60 000 ms (Postfix waits 300 s). */
  socketTimeoutMs?: number;
  /**
   * How Postfix hands mail over (docs/postfix.md). `after-queue-smtp` (default): content_filter,
   * one reply per mail. `after-queue-lmtp`: content_filter over LMTP, one reply per recipient, so a
   * failure defers only the recipients it concerns. `before-queue`: smtpd_proxy_filter, the
   * sending client waits for our answer, so a `reject` verdict becomes a 550.
   */
  mode?: GatewayMode;
  /**
   * After queue, a `reject` verdict is delivered tagged (`tag`, default), or refused with 550
   * (`bounce`: Postfix then bounces to the sender, who may be forged: backscatter).
   */
  afterQueueReject?: 'tag' | 'bounce';
  /** Peers whose XFORWARD is believed. Default loopback. */
  trustedClients?: string[];
  /** Recipient address -> mailbox owner id. Default: the lower-cased address. */
  ownerOf?: OwnerMap;
  /** Thresholds, subject tag and headers, by default and per owner. */
  policy?: PolicyMap;
  /**
   * Keep `quarantine` verdicts in RabbitMQ (psf.quarantine.<owner>) for `retentionMs` (default 30
   * days), or `false` to deliver them tagged. Default on.
   */
  quarantine?: { retentionMs?: number } | false;
  replyMode?: ReplyMode;
  /**
   * Mails bigger than `memoryBytes` (default 256 KiB) are spooled to a file
   * in `dir` (default the OS temp dir) instead of being held in memory.
   */
  spool?: SpoolOptions;
  /**
   * Read psf.dead: count why requests died (psf_dead_letters_total) and append them to psf.events.
   * Default true.
   */
  deadLetters?: boolean;
  /**
   * Append what became of each owner's share of each mail to psf.events (metadata only), where
   * `psf stats`, digests and the self-service page read it. Default true.
   */
  events?: boolean;
  /** Serve Prometheus /metrics, JSON /stats and /healthz here (port 0: any free port). Off by default. */
  metrics?: { host?: string; port: number };
  /** Name in the SMTP banner. Default 'psf-gateway'. */
  hostname?: string;
  logger?: Logger;
}

const XFORWARD_KEYS = ['NAME', 'ADDR', 'PORT', 'PROTO', 'HELO', 'IDENT', 'SOURCE'] as const;

function xforwardOf(session: SMTPServerSession): XForward {
  const map = (session as SMTPServerSession & { xForward?: Map<string, string | false> }).xForward;
  const x: XForward = {};
  for (const key of XFORWARD_KEYS) {
    const value = map?.get(key);
    if (value === undefined) continue;
    // smtp-server turns [UNAVAILABLE] into false; Postfix wants it passed on as such.
    x[key.toLowerCase() as keyof XForward] = value === false ? '[UNAVAILABLE]' : String(value);
  }
  return x;
}

/** The DSN parameters of the transaction, as smtp-server decoded them. */
function dsnOf(session: SMTPServerSession): Dsn {
  const { envelope } = session;
  // Object.fromEntries, not assignment: an address such as `__proto__` stays a key.
  const rcpt: NonNullable<Dsn['rcpt']> = Object.fromEntries(
    envelope.rcptTo.flatMap((r) => {
      const d = (r as { dsn?: { notify?: string[]; orcpt?: string } }).dsn;
      return d
        ? [[r.address, { ...(d.notify ? { notify: d.notify } : {}), ...(d.orcpt ? { orcpt: d.orcpt } : {}) }]]
        : [];
    }),
  );
  const mail = (envelope as { dsn?: { ret?: string; envid?: string } }).dsn;
  return { ...(mail?.ret ? { ret: mail.ret } : {}), ...(mail?.envid ? { envid: mail.envid } : {}), rcpt };
}

/**
 * The content filter: Postfix hands it each mail (after queue over SMTP or LMTP, or before queue
 * as smtpd_proxy_filter); it asks the owners' classifiers over RabbitMQ and reinjects the mail
 * (one copy per group of verdicts) to Postfix's second smtpd, answering 250 only once every copy
 * is accepted (or the mail quarantined or dropped by a verdict), 451 otherwise.
 */
export class Gateway {
  readonly #server: SMTPServer;
  readonly #connection: BrokerConnection;
  readonly #rpc: RpcClient;
  readonly #reinjector: Reinjector;
  #filter: MailFilter;
  readonly #mode: GatewayMode;
  readonly #log: Logger;
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #lmtp: boolean;
  /** The gateway's statistics (also served at /metrics when `metrics` is set). */
  readonly metrics = new GatewayMetrics();
  #metricsServer: Server | undefined;
  #deadLetters: DeadLetterWatcher | undefined;
  #events: EventPublisher | undefined;
  readonly #spool: SpoolOptions;
  /** Per session, aborted when the client disconnects (before-queue: Postfix gave up on us). */
  readonly #sessions = new Map<string, AbortController>();
  #closing = false;
  readonly #queueType: QueueType;

  private constructor(options: GatewayOptions, connection: BrokerConnection) {
    const log = options.logger ?? silentLogger;
    this.#log = log;
    const mode = options.mode ?? 'after-queue-smtp';
    this.#spool = options.spool ?? {};
    this.#lmtp = mode === 'after-queue-lmtp';
    this.#connection = connection;
    this.#queueType = options.queueType ?? 'classic';
    this.#rpc = new RpcClient({
      connection,
      logger: log,
      ...(options.replyMode ? { replyMode: options.replyMode } : {}),
    });
    this.#reinjector = new Reinjector({
      host: options.reinject?.host ?? '127.0.0.1',
      port: options.reinject?.port ?? 10026,
      ...(options.reinject?.poolSize ? { poolSize: options.reinject.poolSize } : {}),
      logger: log,
    });
    this.#mode = mode;
    this.#filter = this.#pipeline(options);
    const trusted = options.trustedClients ?? ['127.0.0.1', '::1', '::ffff:127.0.0.1'];
    this.#server = new SMTPServer({
      name: options.hostname ?? 'psf-gateway',
      banner: 'psf content filter',
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      hideSTARTTLS: true,
      // Advertise DSN so Postfix hands us the sender's NOTIFY/ORCPT/RET/ENVID to pass on.
      hideDSN: false,
      useXForward: trusted,
      maxClients: options.maxSessions ?? 100,
      socketTimeout: options.socketTimeoutMs ?? 60_000,
      lmtp: this.#lmtp,
      disableReverseLookup: true,
      logger: false,
      onConnect: (session, cb) => {
        // Only Postfix (a trusted peer) may hand mail to the filter: it would relay anything.
        if (!trusted.includes(session.remoteAddress)) {
          const err = Object.assign(new Error('5.7.1 not a trusted client'), { responseCode: 554 });
          return cb(err);
        }
        this.metrics.sessions.inc();
        cb();
      },
      // Every sender and recipient is taken (Postfix checked them): answered at once, so the
      // replies to a pipelined MAIL, RCPT, DATA leave in one write (coalesceReplies).
      onMailFrom: (_address, _session, cb) => cb(),
      onRcptTo: (_address, _session, cb) => cb(),
      onClose: (session) => {
        this.#sessions.get(session.id)?.abort();
        this.#sessions.delete(session.id);
      },
      onData: (stream, session, cb) => {
        const task = this.#onData(stream, session).then(
          (text) => cb(null, text),
          (err: unknown) => cb(err as Error),
        );
        this.#inFlight.add(task);
        void task.finally(() => this.#inFlight.delete(task));
      },
    });
    coalesceReplies(this.#server.server);
    greetAtOnce(this.#server);
    this.#server.on('error', (err) =>
      log.error({ event: 'smtp-error', err: err.message }, 'SMTP server error'),
    );
  }

  /** Starts listening; the broker may be down, mail is then answered 451 until it is back. */
  static async start(options: GatewayOptions): Promise<Gateway> {
    const connection = await BrokerConnection.open({
      url: options.amqpUrl,
      name: 'psf-gateway',
      ...(options.logger ? { logger: options.logger } : {}),
      setup: topologySetup({ queueType: options.queueType ?? 'classic' }),
    });
    const gateway = new Gateway(options, connection);
    gateway.metrics.brokerConnected.set(connection.connected ? 1 : 0);
    connection.on('connect', () => gateway.metrics.brokerConnected.set(1));
    connection.on('disconnect', () => gateway.metrics.brokerConnected.set(0));
    if (options.events !== false) gateway.#events = new EventPublisher({ connection, logger: gateway.#log });
    if (options.deadLetters !== false) {
      gateway.#deadLetters = new DeadLetterWatcher({
        connection,
        onDeadLetter: (dead) => {
          gateway.metrics.deadLetters.inc({ owner: dead.owner, reason: dead.reason });
          gateway.#events?.publish({ v: 1, kind: 'dead', at: Date.now(), ...dead });
        },
        ...(options.logger ? { logger: options.logger } : {}),
      });
    }
    if (options.metrics) {
      gateway.#metricsServer = await serveMetrics(
        gateway.metrics,
        options.metrics.host ?? '127.0.0.1',
        options.metrics.port,
      );
    }
    await new Promise<void>((resolve, reject) => {
      gateway.#server.once('error', reject);
      gateway.#server.listen(options.listen?.port ?? 10025, options.listen?.host ?? '127.0.0.1', () => {
        gateway.#server.off('error', reject);
        resolve();
      });
    });
    return gateway;
  }

  /** Where the gateway listens. */
  get address(): { host: string; port: number } {
    const a = this.#server.server.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  #pipeline(options: Reloadable): MailFilter {
    // Quarantine queues take the topology's type (mail-filter passes these on to Quarantine).
    const quarantine =
      options.quarantine === false ? false : { ...options.quarantine, queueType: this.#queueType };
    return createMailFilter(this.#connection, this.#rpc, this.#reinjector, {
      ...options,
      quarantine,
      refuse: this.#mode === 'before-queue' || options.afterQueueReject === 'bounce',
    });
  }

  /**
   * Applies new policy settings (SIGHUP in psf-gateway) to the mails that arrive from now on; mails
   * in flight finish under the old ones. Listening address, mode, broker and reinjection stay.
   */
  reload(options: Reloadable): void {
    this.#filter = this.#pipeline(options);
    this.#log.info({ event: 'reloaded' }, 'policy reloaded');
  }

  /** Where the metrics are served, if they are. */
  get metricsAddress(): { host: string; port: number } | undefined {
    return this.#metricsServer ? addressOf(this.#metricsServer) : undefined;
  }

  /** Resolves once the broker connection and reply channel are up. */
  ready(timeoutMs = 30_000): Promise<void> {
    return this.#rpc.waitReady(timeoutMs);
  }

  async #onData(
    stream: SMTPServerDataStream,
    session: SMTPServerSession,
  ): Promise<string | Array<string | Error>> {
    const id = randomBytes(9).toString('base64url');
    const started = Date.now();
    const body = await MailBody.receive(stream, this.#spool).catch((err: unknown) => {
      throw failureReply(err, id);
    });
    const xforward = xforwardOf(session);
    const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
    const rcpt = session.envelope.rcptTo.map((r) => r.address);
    const line = {
      event: 'mail',
      id,
      queueId: xforward.ident,
      messageId: messageId(body.head),
      from: mailFrom,
      rcpt,
      size: body.size,
      ...(body.spooled ? { spooled: true } : {}),
    };
    this.metrics.inFlight.inc();
    try {
      if (this.#closing) throw new PsfError('SHUTTING_DOWN', 'gateway closing');
      const aborter = new AbortController();
      this.#sessions.set(session.id, aborter);
      const { failed, discarded, quarantined, copies, owners } = await this.#filter.process(
        { id, mailFrom, rcpt, body, xforward, dsn: dsnOf(session) },
        { perRecipient: this.#lmtp, signal: aborter.signal },
      );
      const counts = { copies, discarded: discarded.length, quarantined: quarantined.length };
      const logged = owners.map(({ rcpt: _, ...o }) => o);
      const summary = { ...line, owners: logged, ...counts, ms: Date.now() - started };
      for (const o of owners) {
        this.metrics.recipients.inc({ owner: o.owner, status: o.status }, o.rcpt.length);
        this.metrics.classifySeconds.observe(o.ms / 1000);
      }
      const facts = { id, queueId: line.queueId, messageId: line.messageId, from: mailFrom, size: body.size };
      for (const event of mailEvents(facts, owners)) this.#events?.publish(event);
      this.#record(!this.#lmtp || failed.size === 0 ? 'ok' : 'partial', body.size, started);
      if (!this.#lmtp) {
        this.#log.info({ ...summary, outcome: 'ok' }, 'mail settled');
        return okReply(id, counts);
      }
      // LMTP: one reply per recipient, in RCPT order; only the failed ones are retried by Postfix.
      const deferred = [...failed.keys()];
      const errors = [...new Set([...failed.values()].map((e) => (e as Error).message))];
      if (deferred.length)
        this.#log.warn({ ...summary, outcome: 'partial', deferred, err: errors }, 'mail partly deferred');
      else this.#log.info({ ...summary, outcome: 'ok' }, 'mail settled');
      return rcpt.map((r) =>
        failed.has(r)
          ? failureReply(failed.get(r), id)
          : okRcptReply(
              id,
              r,
              discarded.includes(r) ? 'discarded' : quarantined.includes(r) ? 'quarantined' : 'delivered',
            ),
      );
    } catch (err) {
      const reply = failureReply(err, id);
      const rejected = isPsfError(err, 'POLICY_REJECT');
      this.#record(rejected ? 'rejected' : 'tempfail', body.size, started);
      this.metrics.failures.inc({ reason: isPsfError(err) ? err.code.toLowerCase() : 'internal' });
      this.#log[rejected ? 'info' : 'warn'](
        {
          ...line,
          outcome: rejected ? 'rejected' : 'tempfail',
          err: (err as Error).message,
          reply: reply.message,
          ms: Date.now() - started,
        },
        rejected ? 'mail rejected' : 'mail deferred',
      );
      throw reply;
    } finally {
      this.metrics.inFlight.dec();
      await body.dispose();
    }
  }

  #record(outcome: 'ok' | 'partial' | 'rejected' | 'tempfail', size: number, started: number) {
    this.metrics.mails.inc({ outcome });
    this.metrics.mailBytes.observe(size);
    this.metrics.mailSeconds.observe((Date.now() - started) / 1000);
  }

  /**
   * Stops accepting connections, lets mails in flight finish, then closes the broker
   * connection and the reinjection pool. Sessions still open afterwards get 421.
   */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await Promise.allSettled([...this.#inFlight]);
    await closed;
    await this.#rpc.close();
    await this.#deadLetters?.close();
    await this.#events?.close();
    await this.#reinjector.close();
    await this.#connection.close();
    const metrics = this.#metricsServer;
    if (metrics) await new Promise((resolve) => metrics.close(resolve));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Starts a gateway: `await using gw = await startGateway({ amqpUrl })`. */
export function startGateway(options: GatewayOptions): Promise<Gateway> {
  return Gateway.start(options);
}
