import type { Quarantine, QuarantineEntry } from '@psf/broker';
import { type Reinjector, releaseQuarantined } from '@psf/gateway';

/** A quarantined mail as the page lists it; `subject` where the store provides one. */
export type QuarantineItem = QuarantineEntry & { subject?: string | undefined };

/**
 * One owner's quarantine as the self-service page uses it. Every call names the owner, who is the
 * logged-in user and never taken from the request: an id of someone else's mail is not found.
 */
export interface QuarantineAccess {
  /** Oldest first. */
  list(owner: string): Promise<QuarantineItem[]>;
  /** The raw bytes of mail `id`, left in the quarantine (to learn from); undefined when there is no such mail. */
  read(owner: string, id: string): Promise<Buffer | undefined>;
  /** Delivers the mail to the owner's own recipients and removes it; false when there is no such mail. */
  release(owner: string, id: string): Promise<boolean>;
  /** Removes the mail; false when there is no such mail. */
  delete(owner: string, id: string): Promise<boolean>;
}

export interface BrokerQuarantineAccessOptions {
  /** The quarantine queues in RabbitMQ (@psf/broker). */
  quarantine: Quarantine;
  /** Where released mail goes: Postfix's reinjection smtpd, as for the gateway. */
  reinjector: Reinjector;
}

/** The quarantine the gateways keep in RabbitMQ, released through the reinjection smtpd. */
export class BrokerQuarantineAccess implements QuarantineAccess {
  readonly #quarantine: Quarantine;
  readonly #reinjector: Reinjector;

  constructor(options: BrokerQuarantineAccessOptions) {
    this.#quarantine = options.quarantine;
    this.#reinjector = options.reinjector;
  }

  list(owner: string): Promise<QuarantineItem[]> {
    return this.#quarantine.list(owner);
  }

  async read(owner: string, id: string): Promise<Buffer | undefined> {
    return (await this.#quarantine.read(owner, id))?.mail;
  }

  release(owner: string, id: string): Promise<boolean> {
    return releaseQuarantined(this.#quarantine, this.#reinjector, owner, id);
  }

  delete(owner: string, id: string): Promise<boolean> {
    return this.#quarantine.delete(owner, id);
  }
}
