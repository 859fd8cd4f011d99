import { createHash } from 'node:crypto';
import { PsfError } from '@psf/protocol';
import type { ChannelModel } from 'amqplib';

/** The prefix of lock queues; each is exclusive, empty, and gone with its connection. */
export const LOCK_QUEUE_PREFIX = 'psf.lock.';

/** The lock queue for `name`: hashed, so that any queue name (up to 255 bytes) has one. */
export function lockQueue(name: string): string {
  return LOCK_QUEUE_PREFIX + createHash('sha256').update(name).digest('hex').slice(0, 40);
}

/** Per connection: the callers waiting for or holding each lock, chained in order. */
const turns = new WeakMap<ChannelModel, Map<string, Promise<void>>>();

/**
 * Runs `use` while holding the lock named `name`, across processes: an exclusive queue, which
 * RabbitMQ lets only one connection declare (another gets RESOURCE_LOCKED) and deletes when that
 * connection closes, so a crashed holder frees it. Callers on one connection take turns first:
 * RabbitMQ would let each of them declare it. Gives up after `waitMs` with PsfError TIMEOUT.
 */
export async function withQueueLock<T>(
  model: ChannelModel,
  name: string,
  use: () => Promise<T>,
  waitMs = 5000,
): Promise<T> {
  const queue = lockQueue(name);
  const until = Date.now() + waitMs;
  const local = turns.get(model) ?? new Map<string, Promise<void>>();
  turns.set(model, local);
  const previous = local.get(queue) ?? Promise.resolve();
  let release = () => {};
  const mine = new Promise<void>((resolve) => (release = resolve));
  const chain = previous.then(() => mine);
  local.set(queue, chain);
  try {
    await turn(previous, waitMs, queue);
    const ch = await acquire(model, queue, until);
    try {
      return await use();
    } finally {
      await ch.deleteQueue(queue).catch(() => {});
      await ch.close().catch(() => {});
    }
  } finally {
    release();
    if (local.get(queue) === chain) local.delete(queue);
  }
}

/** Waits for the caller before us on this connection, at most `ms`. */
async function turn(previous: Promise<void>, ms: number, queue: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PsfError('TIMEOUT', `${queue} is still held here`)), ms);
  });
  try {
    await Promise.race([previous, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function acquire(model: ChannelModel, queue: string, until: number) {
  for (let pause = 20; ; pause = Math.min(pause * 2, 200)) {
    const ch = await model.createChannel();
    ch.on('error', () => {});
    try {
      await ch.assertQueue(queue, { exclusive: true, durable: false, autoDelete: false });
      return ch;
    } catch (err) {
      // 405 RESOURCE_LOCKED: another connection holds it; the channel is closed by the broker.
      if ((err as { code?: number }).code !== 405) throw err;
    }
    if (Date.now() + pause > until)
      throw new PsfError('TIMEOUT', `${queue} is still held by another connection`);
    await new Promise((r) => setTimeout(r, pause));
  }
}
