import { isValidOwner } from '@psf/protocol';

/** Maps a recipient address to the id of the mailbox owner whose classifier decides for it. */
export type OwnerMap = (address: string) => string;

/** The default: the lower-cased address is the owner (the routing key of their queue). */
export const addressIsOwner: OwnerMap = (address) => address.toLowerCase();

/** Recipients grouped by owner, in the order owners first appear. */
export function groupByOwner(rcpt: readonly string[], ownerOf: OwnerMap): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const address of rcpt) {
    let owner = ownerOf(address);
    // An id that cannot be a routing key goes to the default classifier via the alternate exchange.
    if (!isValidOwner(owner)) owner = '';
    const list = groups.get(owner);
    if (list) list.push(address);
    else groups.set(owner, [address]);
  }
  return groups;
}
