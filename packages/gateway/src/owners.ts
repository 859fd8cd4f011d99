import { readFileSync } from 'node:fs';
import { isValidOwner, PsfError } from '@psf/protocol';

/** Maps a recipient address to the id of the mailbox owner whose classifier decides for it. */
export type OwnerMap = (address: string) => string;

/** The default: the lower-cased address is the owner (the routing key of their queue). */
export const addressIsOwner: OwnerMap = (address) => address.toLowerCase();

/**
 * An owner map from a file of `key owner` lines (`#` comments), keys being addresses or
 * `@domain` catch-alls, matched case-insensitively: the address first, then its domain, else the
 * lower-cased address is the owner. E.g. `info@example.org alice@example.org`.
 */
export function readOwnerMap(path: string): OwnerMap {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new PsfError('CONFIG', `cannot read owner map ${path}`, { cause });
  }
  const map = new Map<string, string>();
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const [key, owner, ...rest] = line.split(/\s+/);
    if (!key || !owner || rest.length || !isValidOwner(owner)) {
      throw new PsfError('CONFIG', `owner map ${path}, line ${i + 1}: expected "address-or-@domain owner"`);
    }
    map.set(key.toLowerCase(), owner);
  }
  return (address) => {
    const lower = address.toLowerCase();
    return map.get(lower) ?? map.get(lower.slice(lower.lastIndexOf('@'))) ?? lower;
  };
}

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
