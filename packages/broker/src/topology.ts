import {
  DEAD_LETTER_EXCHANGE,
  DEAD_QUEUE,
  DEFAULT_QUEUE,
  EVENTS_STREAM,
  isValidOwner,
  PsfError,
  SCAN_EXCHANGE,
  UNROUTED_EXCHANGE,
  userQueue,
} from '@psf/protocol';
import type { Channel, ChannelModel } from 'amqplib';

/**
 * `classic`: one node holds a queue (the default, and what a single broker wants). `quorum`:
 * replicated over a cluster's nodes (Raft), so a queue survives a node's loss; a full queue then
 * refuses requests without dead-lettering them (quorum queues have no `reject-publish-dlx`).
 */
export type QueueType = 'classic' | 'quorum';

export interface TopologyOptions {
  /** The type of psf.default, psf.user.*, psf.dead (and, in Quarantine, psf.quarantine.*). Default classic. */
  queueType?: QueueType;
  /**
   * Longest a request may wait in a classifier queue (the queue's `x-message-ttl`). Per-message
   * expiration only fires at a queue's head, so this bounds how long a stale request can block
   * fresh ones when gateways use different deadlines. Default 60 000.
   */
  requestTtlMs?: number;
  /**
   * Requests a classifier queue holds before refusing more (classic: `reject-publish-dlx`, which
   * also dead-letters them; quorum: `reject-publish`). Default 10 000.
   */
  maxQueueLength?: number;
  /** Requests kept in psf.dead for the stats consumer. Default 100 000. */
  maxDeadLetters?: number;
  /** How long psf.events keeps events (RabbitMQ's x-max-age: '30D', '12h'...). Default '30D'. */
  eventsMaxAge?: string;
  /** Bytes psf.events may hold before its oldest segments go. Default 2 GB. */
  eventsMaxBytes?: number;
}

/** `x-queue-type` for a quorum queue; a classic one is declared without it, as before. */
export function queueTypeArgs(queueType: QueueType = 'classic'): Record<string, string> {
  return queueType === 'quorum' ? { 'x-queue-type': 'quorum' } : {};
}

function classifierQueueArgs(options: TopologyOptions) {
  const quorum = options.queueType === 'quorum';
  return {
    ...queueTypeArgs(options.queueType),
    'x-dead-letter-exchange': DEAD_LETTER_EXCHANGE,
    // Quorum queues expire messages (queue and per-message TTL) from RabbitMQ 3.10 on.
    'x-message-ttl': options.requestTtlMs ?? 60_000,
    'x-max-length': options.maxQueueLength ?? 10_000,
    // Both nack the publish (the gateway answers 451); only classic queues also dead-letter it.
    'x-overflow': quorum ? 'reject-publish' : 'reject-publish-dlx',
  };
}

/**
 * Declares the shared topology: psf.scan (direct, alternate exchange psf.unrouted) -> psf.default
 * for owners without a classifier; psf.dlx -> psf.dead for expired and refused requests; the
 * psf.events stream that the statistics are read from.
 * Idempotent as long as the options match what was declared before (RabbitMQ refuses
 * changed queue arguments with PRECONDITION_FAILED).
 */
export async function assertTopology(ch: Channel, options: TopologyOptions = {}): Promise<void> {
  await ch.assertExchange(DEAD_LETTER_EXCHANGE, 'fanout', { durable: true });
  await ch.assertQueue(DEAD_QUEUE, {
    durable: true,
    arguments: { ...queueTypeArgs(options.queueType), 'x-max-length': options.maxDeadLetters ?? 100_000 },
  });
  await ch.bindQueue(DEAD_QUEUE, DEAD_LETTER_EXCHANGE, '');
  await ch.assertExchange(UNROUTED_EXCHANGE, 'fanout', { durable: true });
  await ch.assertQueue(DEFAULT_QUEUE, { durable: true, arguments: classifierQueueArgs(options) });
  await ch.bindQueue(DEFAULT_QUEUE, UNROUTED_EXCHANGE, '');
  await ch.assertExchange(SCAN_EXCHANGE, 'direct', { durable: true, alternateExchange: UNROUTED_EXCHANGE });
  // On a cluster RabbitMQ replicates a stream to every node by default. No x-initial-cluster-size:
  // RabbitMQ compares it on redeclaration, so setting it would refuse the stream declared before.
  await ch.assertQueue(EVENTS_STREAM, {
    durable: true,
    arguments: {
      'x-queue-type': 'stream',
      'x-max-age': options.eventsMaxAge ?? '30D',
      'x-max-length-bytes': options.eventsMaxBytes ?? 2e9,
    },
  });
}

/** A connection `setup` that declares the shared topology on every (re)connection. */
export function topologySetup(options: TopologyOptions = {}): (model: ChannelModel) => Promise<void> {
  return async (model) => {
    const ch = await model.createChannel();
    await assertTopology(ch, options);
    await ch.close();
  };
}

/** Declares an owner's personal queue `psf.user.<owner>`, bound to psf.scan by the owner id. */
export async function assertUserQueue(
  ch: Channel,
  owner: string,
  options: TopologyOptions = {},
): Promise<string> {
  if (!isValidOwner(owner)) throw new PsfError('CONFIG', `invalid owner id ${JSON.stringify(owner)}`);
  const queue = userQueue(owner);
  await ch.assertQueue(queue, { durable: true, arguments: classifierQueueArgs(options) });
  await ch.bindQueue(queue, SCAN_EXCHANGE, owner);
  return queue;
}

/** Removes an owner's personal queue; their mail falls back to psf.default. */
export async function deleteUserQueue(ch: Channel, owner: string): Promise<void> {
  await ch.deleteQueue(userQueue(owner));
}
