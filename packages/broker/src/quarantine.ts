import {
  decodeQuarantined,
  encodeQuarantined,
  isValidOwner,
  PsfError,
  type QuarantinedMail,
  quarantineQueue,
} from '@psf/protocol';
import type { ChannelModel, GetMessage } from 'amqplib';
import libmime from 'libmime';
import type { BrokerConnection } from './connection.js';
import { withQueueLock } from './queue-lock.js';
import { type QueueType, queueTypeArgs } from './topology.js';

export interface QuarantineOptions {
  connection: BrokerConnection;
  /** How long a quarantined mail is kept (per-message expiration). Default 30 days. */
  retentionMs?: number;
  /** As the gateways' topology (`TopologyOptions.queueType`): RabbitMQ refuses another type. Default classic. */
  queueType?: QueueType;
}

/** What a listing shows of a quarantined mail: everything but its bytes, and its subject. */
export type QuarantineEntry = Omit<QuarantinedMail, 'mail'> & { size: number; subject?: string };

/** The Subject header of a raw mail, unfolded and decoded (RFC 2047), at most 200 characters. */
export function subjectOf(raw: Buffer): string | undefined {
  const end = raw.indexOf('\r\n\r\n');
  const head = raw.subarray(0, end === -1 ? Math.min(raw.length, 65536) : end).toString('latin1');
  const folded = /^subject:[ \t]*(.*(?:\r\n[ \t].*)*)/im.exec(head)?.[1];
  if (folded === undefined) return undefined;
  // Raw 8-bit subjects are UTF-8 in practice (SMTPUTF8); encoded words decode themselves.
  const text = Buffer.from(folded.replace(/\r\n(?=[ \t])/g, ''), 'latin1').toString('utf8');
  try {
    return libmime.decodeWords(text).slice(0, 200);
  } catch {
    return text.slice(0, 200);
  }
}

/** What a look does with the mails it holds; `ack` removes one for good. */
type Look<T> = (
  messages: Array<{ mail: QuarantinedMail; message: GetMessage }>,
  ack: (message: GetMessage) => Promise<void>,
) => Promise<T>;

/**
 * Per-owner quarantines kept in RabbitMQ: one durable queue per owner (`psf.quarantine.<owner>`),
 * persistent messages expiring after the retention time. RabbitMQ rather than a local store, so
 * that every gateway and the token API see the same quarantine and nothing lives on one host.
 * A mail counts as quarantined only once the broker confirmed it.
 *
 * Listing and taking browse the queue: every message is fetched unacknowledged and handed back
 * (requeued) when the browse ends, except the one taken. Looks at one owner's quarantine take
 * turns, across processes (a lock queue: queue-lock.ts), since a look running beside another
 * would see the queue without the messages the other holds; a look waits at most 5 s for its turn.
 */
export class Quarantine {
  readonly #conn: BrokerConnection;
  readonly #retentionMs: number;
  readonly #queueArgs: { durable: true; arguments: Record<string, string> };
  readonly #declared = new Set<string>();

  constructor(options: QuarantineOptions) {
    this.#conn = options.connection;
    this.#retentionMs = options.retentionMs ?? 30 * 24 * 3600_000;
    this.#queueArgs = { durable: true, arguments: queueTypeArgs(options.queueType) };
  }

  #model() {
    const model = this.#conn.model;
    if (!model) throw new PsfError('BROKER_UNAVAILABLE', 'not connected to RabbitMQ');
    return model;
  }

  /** Stores a mail; resolves once RabbitMQ has confirmed it. */
  async store(mail: QuarantinedMail): Promise<void> {
    if (!isValidOwner(mail.owner))
      throw new PsfError('CONFIG', `invalid owner id ${JSON.stringify(mail.owner)}`);
    const ch = await this.#model().createConfirmChannel();
    try {
      const queue = quarantineQueue(mail.owner);
      if (!this.#declared.has(queue)) {
        await ch.assertQueue(queue, this.#queueArgs);
        this.#declared.add(queue);
      }
      const { content, properties } = encodeQuarantined(mail);
      await new Promise<void>((resolve, reject) => {
        ch.sendToQueue(
          queue,
          content,
          { ...properties, persistent: true, expiration: String(this.#retentionMs) },
          (err) =>
            err
              ? reject(new PsfError('PUBLISH_REFUSED', 'quarantine refused the mail', { cause: err }))
              : resolve(),
        );
      });
    } catch (err) {
      throw err instanceof PsfError
        ? err
        : new PsfError('BROKER_UNAVAILABLE', 'could not quarantine', { cause: err });
    } finally {
      await ch.close().catch(() => {});
    }
  }

  /** The owner's quarantined mails, oldest first. */
  async list(owner: string): Promise<QuarantineEntry[]> {
    return this.#browse(owner, async (messages) =>
      messages.map(({ mail }) => {
        const { mail: bytes, ...entry } = mail;
        const subject = subjectOf(bytes);
        return { ...entry, size: bytes.length, ...(subject === undefined ? {} : { subject }) };
      }),
    );
  }

  /** Quarantined mail `id`, left where it is (to learn from it); undefined when there is no such mail. */
  async read(owner: string, id: string): Promise<QuarantinedMail | undefined> {
    return this.#browse(owner, async (messages) => messages.find((m) => m.mail.id === id)?.mail);
  }

  /**
   * Runs `use` on quarantined mail `id` and removes it from the quarantine only if `use` resolves
   * (a failed release leaves it there). Resolves false when there is no such mail.
   */
  async take(owner: string, id: string, use: (mail: QuarantinedMail) => Promise<void>): Promise<boolean> {
    return this.#browse(owner, async (messages, ack) => {
      const found = messages.find((m) => m.mail.id === id);
      if (!found) return false;
      await use(found.mail);
      await ack(found.message);
      return true;
    });
  }

  /** Removes quarantined mail `id`; false when there is no such mail. */
  delete(owner: string, id: string): Promise<boolean> {
    return this.take(owner, id, async () => {});
  }

  async #browse<T>(owner: string, use: Look<T>): Promise<T> {
    if (!isValidOwner(owner)) throw new PsfError('CONFIG', `invalid owner id ${JSON.stringify(owner)}`);
    const queue = quarantineQueue(owner);
    const model = this.#model();
    return withQueueLock(model, queue, () => this.#look(model, queue, use));
  }

  async #look<T>(model: ChannelModel, queue: string, use: Look<T>): Promise<T> {
    const ch = await model.createChannel();
    ch.on('error', () => {});
    let held = 0;
    try {
      await ch.assertQueue(queue, this.#queueArgs);
      const messages: Array<{ mail: QuarantinedMail; message: GetMessage }> = [];
      // Bounded by the queue's length when we started: later arrivals are left for the next look.
      let left = (await ch.checkQueue(queue)).messageCount;
      while (left-- > 0) {
        const message = await ch.get(queue, { noAck: false });
        if (!message) break;
        held++;
        try {
          messages.push({ mail: decodeQuarantined(message), message });
        } catch {
          // Not readable by this version (a newer format?): left in place, requeued on close.
        }
      }
      return await use(messages, async (message) => {
        ch.ack(message);
        // The ack must reach the broker before the channel closes and requeues the rest.
        await ch.checkQueue(queue);
        held--;
      });
    } finally {
      await ch.close().catch(() => {});
      if (held > 0) await this.#requeued(queue, held);
    }
  }

  /**
   * Waits (at most a second) until the `held` messages a look handed back are ready again:
   * RabbitMQ may answer a channel close before it has requeued them, and `psf-quarantine release`
   * run right after `list` once found nothing (the Postfix test). Not a nack with requeue: on a
   * quorum queue that would count as a delivery attempt against a delivery limit.
   */
  async #requeued(queue: string, held: number): Promise<void> {
    const ch = await this.#model()
      .createChannel()
      .catch(() => undefined);
    if (!ch) return;
    ch.on('error', () => {});
    try {
      for (let i = 0; i < 20; i++) {
        if ((await ch.checkQueue(queue)).messageCount >= held) return;
        await new Promise((r) => setTimeout(r, 50));
      }
    } catch {
      // The broker is gone: it requeues them when it can.
    } finally {
      await ch.close().catch(() => {});
    }
  }
}
