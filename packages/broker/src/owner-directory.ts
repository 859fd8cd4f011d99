import { PsfError, userQueue } from '@psf/protocol';
import type { BrokerConnection } from './connection.js';

export interface OwnerDirectoryOptions {
  connection: BrokerConnection;
  /** How long an answer is believed. Default 30 000 ms: a new personal queue is used within that. */
  ttlMs?: number;
}

/**
 * Which owners run a personal classifier (have a `psf.user.<owner>` queue), so the gateway can
 * ask each of them once and the default classifier once for everybody else. Answers are cached;
 * a stale one costs nothing worse than the alternate exchange's routing.
 */
export class OwnerDirectory {
  readonly #conn: BrokerConnection;
  readonly #ttlMs: number;
  readonly #cache = new Map<string, { personal: Promise<boolean>; expires: number }>();

  constructor(options: OwnerDirectoryOptions) {
    this.#conn = options.connection;
    this.#ttlMs = options.ttlMs ?? 30_000;
  }

  hasPersonalQueue(owner: string): Promise<boolean> {
    const now = Date.now();
    const hit = this.#cache.get(owner);
    if (hit && hit.expires > now) return hit.personal;
    const personal = this.#probe(owner);
    this.#cache.set(owner, { personal, expires: now + this.#ttlMs });
    // A failed probe (no connection) must not be remembered.
    personal.catch(() => this.#cache.delete(owner));
    return personal;
  }

  // A passive declare of a missing queue closes its channel (404), so each probe gets its own.
  async #probe(owner: string): Promise<boolean> {
    const model = this.#conn.model;
    if (!model) throw new PsfError('BROKER_UNAVAILABLE', 'not connected to RabbitMQ');
    const ch = await model.createChannel();
    ch.on('error', () => {}); // the 404 below, reported again as the rejected checkQueue
    try {
      await ch.checkQueue(userQueue(owner));
      await ch.close();
      return true;
    } catch (err) {
      if ((err as { code?: number }).code === 404) return false;
      throw new PsfError('BROKER_UNAVAILABLE', 'could not look up the owner queue', { cause: err });
    }
  }
}
