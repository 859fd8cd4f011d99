import { type BrokerConnection, EventFollower, type Logger } from '@psf/broker';
import { type AggregateOptions, type OwnerActivity, StatsAggregate } from './aggregate.js';

/**
 * Follows psf.events from `since` and keeps an aggregate current: what the token API's
 * self-service page shows. After a restart it reads the window again, so owners' totals survive
 * gateway and token API restarts for as long as the stream keeps the events.
 */
export class ActivityFeed {
  readonly aggregate: StatsAggregate;
  readonly #follower: EventFollower;

  constructor(
    options: AggregateOptions & { connection: BrokerConnection; since?: number | 'first'; logger?: Logger },
  ) {
    this.aggregate = new StatsAggregate(options);
    this.#follower = new EventFollower({
      connection: options.connection,
      since: options.since ?? 'first',
      onEvent: (e) => this.aggregate.add(e),
      ...(options.logger ? { logger: options.logger } : {}),
    });
  }

  owner(owner: string): OwnerActivity | undefined {
    return this.aggregate.owner(owner);
  }

  owners(): OwnerActivity[] {
    return this.aggregate.owners();
  }

  close(): Promise<void> {
    return this.#follower.close();
  }
}
