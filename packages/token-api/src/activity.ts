import type { OwnerActivity } from '@psf/stats';

export type { OwnerActivity, RecentVerdict } from '@psf/stats';

/**
 * Where the pages read an owner's counts and latest verdicts: psf-token-api uses @psf/stats'
 * ActivityFeed (it follows psf.events); tests and embedders may pass their own.
 */
export interface ActivitySource {
  owner(owner: string): OwnerActivity | undefined;
  /** Every owner's totals, for the admin view. */
  owners(): OwnerActivity[];
}
