import { EventEmitter } from 'node:events';
import { PsfError } from '@psf/protocol';
import amqp, { type ChannelModel, type Options, type RecoveringChannelModel } from 'amqplib';
import { amqpUrls } from './amqp-urls.js';
import { coalesceFrameWrites } from './frame-writes.js';
import { type Logger, silentLogger } from './logger.js';

export interface BrokerConnectionOptions {
  /**
   * AMQP URL with credentials and vhost, e.g. `amqp://user:pass@127.0.0.1:5672/psf`; for a cluster,
   * one per node (an array, or separated by commas). The first is tried first; after a failed
   * attempt or a lost connection, the next one.
   */
  url: string | readonly string[];
  /** Shown in RabbitMQ's connection list. */
  name?: string;
  logger?: Logger;
  /** First reconnect delay; doubles (with jitter) up to `maxReconnectDelayMs`. Default 100. */
  reconnectDelayMs?: number;
  /** Default 5000. */
  maxReconnectDelayMs?: number;
  /** AMQP heartbeat in seconds. Default 10, so a dead broker is noticed within ~20 s. */
  heartbeat?: number;
  /**
   * A connection attempt that has not opened by then fails and the next node is tried: a surviving
   * cluster node can leave a handshake unanswered for a while just after a peer died. Default 3 000.
   */
  connectTimeoutMs?: number;
  /**
   * `setup` that has not finished by then fails the attempt, which is then retried. Without a
   * bound, one declaration a booting node never answers would stop recovery for good (amqplib
   * schedules the next attempt only when the current one ends). Default 15 000.
   */
  setupTimeoutMs?: number;
  /**
   * Read at every (re)connection instead of the URL's user and password: for credentials that
   * change, such as a token refreshed before it expires.
   */
  credentials?: () => { username: string; password: string };
  /** Runs on every (re)connection before it is announced, e.g. to declare topology. */
  setup?: (model: ChannelModel) => Promise<void>;
}

export interface BrokerConnectionEvents {
  connect: [model: ChannelModel];
  disconnect: [err: Error];
}

/**
 * A connection to RabbitMQ that comes back by itself (amqplib's recovery: exponential backoff
 * with jitter) and tells its users when it does, so they can reopen their channels.
 * It never gives up while open: a mail gateway must outlive any broker outage.
 */
export class BrokerConnection extends EventEmitter<BrokerConnectionEvents> {
  #model: ChannelModel | undefined;
  #closed = false;
  readonly #recovering: RecoveringChannelModel;
  readonly #log: Logger;

  /** The broker user this connection logs in as (what RabbitMQ checks `user_id` against). */
  readonly #username: () => string;

  readonly #nodes: Nodes;

  private constructor(recovering: RecoveringChannelModel, log: Logger, username: () => string, nodes: Nodes) {
    super();
    this.#username = username;
    this.#recovering = recovering;
    this.#log = log;
    this.#nodes = nodes;
    recovering.on('connect', (model) => {
      this.#model = model;
      if (!coalesceFrameWrites(model))
        log.debug({ event: 'broker-frame-writes' }, 'frames written one by one');
      log.info({ event: 'broker-connect', node: nodes.current() }, 'connected to RabbitMQ');
      this.emit('connect', model);
    });
    // A node that failed or went away is skipped: the next attempt goes to the next node.
    recovering.on('disconnect', (err) => {
      this.#model = undefined;
      log.warn(
        { event: 'broker-disconnect', node: nodes.current(), err: err.message },
        'lost RabbitMQ connection',
      );
      nodes.next();
      this.emit('disconnect', err);
    });
    recovering.on('connect-failed', (err) => {
      log.warn(
        { event: 'broker-connect-failed', node: nodes.current(), err: err.message },
        'RabbitMQ connection attempt failed',
      );
      nodes.next();
    });
    // Connection-level errors arrive again as 'disconnect'; without a listener they would throw.
    recovering.on('error', () => {});
  }

  /**
   * Starts connecting and returns without waiting for the broker: the first connection, like
   * every later one, is announced by 'connect'. Use `waitForConnect()` to wait for it.
   */
  static async open(options: BrokerConnectionOptions): Promise<BrokerConnection> {
    const nodes = new Nodes(amqpUrls(options.url).map((url) => target(url, options)));
    const recovering = await amqp.connect(nodes.target, {
      noDelay: true, // without it an RPC round trip takes ~44 ms instead of ~0.4 ms (Nagle)
      timeout: options.connectTimeoutMs ?? 3_000,
      clientProperties: { connection_name: options.name ?? 'psf' },
      recovery: {
        initialDelay: options.reconnectDelayMs ?? 100,
        maxDelay: options.maxReconnectDelayMs ?? 5000,
        maxRetries: Number.POSITIVE_INFINITY,
        waitForConnect: false,
        ...(options.setup ? { setup: bounded(options.setup, options.setupTimeoutMs ?? 15_000) } : {}),
      },
    });
    const credentials = options.credentials;
    const username = credentials ? () => credentials().username : () => nodes.username;
    return new BrokerConnection(recovering, options.logger ?? silentLogger, username, nodes);
  }

  /** The node connected to now (or tried next), as `host:port`. */
  get node(): string {
    return this.#nodes.current();
  }

  /** The broker user name this connection logs in as. */
  get username(): string {
    return this.#username();
  }

  /** The live connection, if there is one now. */
  get model(): ChannelModel | undefined {
    return this.#model;
  }

  get connected(): boolean {
    return this.#model !== undefined;
  }

  /** Resolves on the next connection (at once if connected); rejects after `timeoutMs`. */
  waitForConnect(timeoutMs = 30_000): Promise<ChannelModel> {
    if (this.#model) return Promise.resolve(this.#model);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('connect', onConnect);
        reject(new PsfError('BROKER_UNAVAILABLE', `no RabbitMQ connection within ${timeoutMs} ms`));
      }, timeoutMs);
      const onConnect = (model: ChannelModel) => {
        clearTimeout(timer);
        resolve(model);
      };
      this.once('connect', onConnect);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#model = undefined;
    await this.#recovering.close().catch((err: Error) => {
      this.#log.debug({ event: 'broker-close', err: err.message }, 'error while closing');
    });
  }
}

type Target = Options.Connect & { protocol: string; hostname: string };

/**
 * What amqplib connects to: amqplib's object form of the URL, with the heartbeat (an explicit one
 * in the URL wins) and, with `credentials`, getters it reads at every attempt.
 */
function target(url: string, options: BrokerConnectionOptions): Target {
  const u = new URL(url);
  const query = (key: string) => (u.searchParams.has(key) ? Number(u.searchParams.get(key)) : undefined);
  const base: Target = {
    protocol: u.protocol.replace(/:$/, ''),
    hostname: u.hostname.replace(/^\[|\]$/g, ''),
    ...(u.port ? { port: Number(u.port) } : {}),
    vhost: u.pathname.slice(1), // amqplib unescapes it; empty is the default vhost
    heartbeat: query('heartbeat') ?? options.heartbeat ?? 10,
    ...(query('frameMax') === undefined ? {} : { frameMax: query('frameMax') }),
    ...(query('channelMax') === undefined ? {} : { channelMax: query('channelMax') }),
  };
  const credentials = options.credentials;
  if (credentials)
    return Object.defineProperties(base, {
      username: { get: () => credentials().username, enumerable: true },
      password: { get: () => credentials().password, enumerable: true },
    });
  // As amqplib reads a URL: guest/guest only when both are missing.
  if (u.username || u.password) {
    base.username = decodeURIComponent(u.username);
    base.password = decodeURIComponent(u.password);
  }
  return base;
}

/**
 * The cluster's nodes, taken in turn. amqplib's recovery connects to one fixed target: `target`
 * reads every field from the current node, so moving on is `next()`.
 */
class Nodes {
  readonly #targets: Target[];
  #i = 0;
  readonly target: Options.Connect;

  constructor(targets: Target[]) {
    this.#targets = targets;
    const field = (key: keyof Target) => ({ get: () => this.#at()[key], enumerable: true });
    const keys = ['protocol', 'hostname', 'port', 'vhost', 'heartbeat', 'frameMax', 'channelMax'] as const;
    this.target = Object.defineProperties(
      {},
      Object.fromEntries([...keys, 'username', 'password'].map((k) => [k, field(k as keyof Target)])),
    );
  }

  #at(): Target {
    return this.#targets[this.#i] as Target;
  }

  /** The URL's user (or amqplib's default), for `user_id`. */
  get username(): string {
    return this.#at().username || 'guest';
  }

  current(): string {
    const t = this.#at();
    return `${t.hostname}:${t.port ?? (t.protocol === 'amqps' ? 5671 : 5672)}`;
  }

  next(): void {
    this.#i = (this.#i + 1) % this.#targets.length;
  }
}

/**
 * `setup`, made safe for recovery: a connection error during it fails it, and so does `ms`
 * passing, after which the socket is destroyed (a broker that does not answer a declaration would
 * not answer amqplib's close either, and recovery waits for that close before the next attempt).
 */
function bounded(setup: (model: ChannelModel) => Promise<void>, ms: number) {
  return async (model: ChannelModel): Promise<void> => {
    // amqplib listens to the model only once setup is done; until then a socket error (a node
    // dying during setup) is re-emitted with no listener and thrown before amqplib closes the
    // connection, so setup's channel calls would wait forever. A listener lets it close them.
    model.on('error', () => {});
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new PsfError('BROKER_UNAVAILABLE', `broker setup not done within ${ms} ms`);
        // With an error: amqplib learns of a socket's end from 'error' or 'end', not 'close'.
        const conn = (model as unknown as { connection?: { stream?: { destroy(e: Error): void } } })
          .connection;
        conn?.stream?.destroy(err);
        reject(err);
      }, ms);
    });
    try {
      await Promise.race([setup(model), expired]);
    } finally {
      clearTimeout(timer);
    }
  };
}
