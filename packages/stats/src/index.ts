/**
 * @psf/stats: psf's statistics from the psf.events stream that every gateway appends to: an
 * aggregate (per-owner counts, latest verdicts, top spam senders, latency quantiles, dead
 * letters), `psf stats` to print it, and digests that tell owners about their dead letters.
 *
 * @example
 * ```ts
 * import { BrokerConnection, readEvents } from '@psf/broker';
 * import { StatsAggregate, formatSummary } from '@psf/stats';
 * const agg = new StatsAggregate();
 * await readEvents(connection.model!, { since: Date.now() - 86_400_000, onEvent: (e) => agg.add(e) });
 * process.stdout.write(formatSummary(agg.summary()));
 * ```
 */
export { ActivityFeed } from './activity-feed.js';
export type { AggregateOptions, OwnerActivity, RecentVerdict, Summary } from './aggregate.js';
export { StatsAggregate, statusKind } from './aggregate.js';
export type { Digest } from './digest.js';
export { buildDigests, sendDigests } from './digest.js';
export { LatencySketch } from './latency-sketch.js';
export { formatSummary } from './report.js';
