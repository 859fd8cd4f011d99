import type { OwnerDirectory } from '@psf/broker';
import { sendLearn } from '@psf/client-sdk';
import { DEFAULT_QUEUE, type LearnLabel, type LearnResult, userQueue } from '@psf/protocol';

/**
 * Hands an owner's correction to the classifier that judges their mail. Rejects with the
 * PsfError of `sendLearn` (@psf/client-sdk) when that classifier did not learn it.
 */
export interface LearnSender {
  learn(owner: string, label: LearnLabel, mail: Buffer): Promise<LearnResult>;
}

export interface BrokerLearnSenderOptions {
  /** The token API's AMQP URL (or a cluster's): its user must be in the classifiers' `learnPublishers`. */
  url: string | readonly string[];
  /** Tells whether an owner has a personal queue (on the token API's broker connection). */
  owners: OwnerDirectory;
  /** How long a page waits for the classifier's answer. Default 10 000 ms. */
  timeoutMs?: number;
}

/**
 * Learn requests over the broker, to the owner's personal queue when there is one, else to
 * psf.default, always naming the owner, so the central classifier learns into that owner's model
 * and never into the model every owner shares.
 */
export class BrokerLearnSender implements LearnSender {
  readonly #opts: BrokerLearnSenderOptions;

  constructor(options: BrokerLearnSenderOptions) {
    this.#opts = options;
  }

  async learn(owner: string, label: LearnLabel, mail: Buffer): Promise<LearnResult> {
    const personal = await this.#opts.owners.hasPersonalQueue(owner);
    return sendLearn({
      url: this.#opts.url,
      queue: personal ? userQueue(owner) : DEFAULT_QUEUE,
      owner,
      label,
      mail,
      timeoutMs: this.#opts.timeoutMs ?? 10_000,
    });
  }
}
