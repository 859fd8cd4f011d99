import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Mail, Verdict } from '@psf/client-sdk';
import { PsfError } from '@psf/protocol';

/** SpamAssassin's welcomelist_from and blocklist_from scores: they outweigh any rule set. */
export const ALLOWED_SCORE = -100;
export const BLOCKED_SCORE = 100;

/** Directory of the owners' lists inside `lists`: `owners/<owner>.senders`. */
export const OWNER_LISTS_DIR = 'owners';

export interface SenderListsOptions {
  /** Senders whose mail is always let through: `alice@example.org`, `*@example.org`, `*@*.example.org`. */
  allow?: string[];
  /** Senders whose mail is always spam. Same patterns; a sender on both lists is blocked. */
  block?: string[];
  /**
   * A directory of owners' own lists, `owners/<owner>.senders` (the owner's address, lower case,
   * URI-encoded): lines `allow <pattern>` or `block <pattern>`, `#` comments. Read again when changed.
   */
  lists?: string;
  /** Whose list applies: this owner, or each mail's first recipient (default). */
  owner?: string;
  /** What a blocked sender's mail gets. Default `tag`. */
  blockAction?: 'tag' | 'quarantine' | 'reject';
}

interface Lists {
  allow: RegExp[];
  block: RegExp[];
}

/**
 * A sender pattern as a case-insensitive, anchored match: `*` any run of characters, `?` one.
 * As SpamAssassin's welcomelist_from: `*@example.org` is the domain, `*@*.example.org` its subdomains.
 */
export function senderPattern(pattern: string): RegExp {
  const p = pattern.trim().toLowerCase();
  if (!/^[^@\s]+@[^@\s]+$/.test(p))
    throw new PsfError(
      'CONFIG',
      `a sender pattern is local@domain (with * and ?), not ${JSON.stringify(pattern)}`,
    );
  const re = p
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`);
}

/** An owner's list file; a line it cannot read is an error naming the file and line. */
export function parseSenderList(text: string, file: string): Lists {
  const lists: Lists = { allow: [], block: [] };
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) return;
    const [verb, pattern, ...rest] = line.split(/\s+/);
    if ((verb !== 'allow' && verb !== 'block') || !pattern || rest.length > 0)
      throw new PsfError('CONFIG', `${file}:${i + 1}: expected "allow <pattern>" or "block <pattern>"`);
    try {
      lists[verb].push(senderPattern(pattern));
    } catch (err) {
      throw new PsfError('CONFIG', `${file}:${i + 1}: ${(err as Error).message}`);
    }
  });
  return lists;
}

/**
 * Sender allow and block lists, the admin's (`allow`, `block`) and each owner's (`lists`), as
 * SpamAssassin's welcomelist_from and blocklist_from and amavisd's sender maps: a mail whose
 * envelope sender or From address matches a block pattern is spam (score 100), else one that
 * matches an allow pattern is let through (score -100), else the lists have no opinion (0). Alone
 * it decides only the listed senders; in a composite its score outweighs the others'. A sender
 * address is easily forged: allow narrow patterns, and only senders that are worth the risk.
 */
export function createSenderListsClassifier(options: SenderListsOptions): (mail: Mail) => Promise<Verdict> {
  const global: Lists = {
    allow: (options.allow ?? []).map(senderPattern),
    block: (options.block ?? []).map(senderPattern),
  };
  const blockAction = options.blockAction ?? 'tag';
  const owners = new Map<string, { mtimeMs: number; lists: Lists }>();

  async function ownerLists(owner: string | undefined): Promise<Lists | undefined> {
    if (!options.lists || !owner) return undefined;
    const name = encodeURIComponent(owner.toLowerCase());
    const file = join(options.lists, OWNER_LISTS_DIR, `${name}.senders`);
    const seen = await stat(file).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw new PsfError('CLASSIFIER_FAILED', `cannot read ${file}: ${err.message}`);
    });
    if (!seen) {
      owners.delete(owner);
      return undefined;
    }
    const cached = owners.get(owner);
    if (cached?.mtimeMs === seen.mtimeMs) return cached.lists;
    let lists: Lists;
    try {
      lists = parseSenderList(await readFile(file, 'utf8'), file);
    } catch (err) {
      // The owner's mail goes on through the gateway's timeout policy (or the composite's other members).
      throw new PsfError('CLASSIFIER_FAILED', (err as Error).message);
    }
    owners.set(owner, { mtimeMs: seen.mtimeMs, lists });
    return lists;
  }

  return async (mail) => {
    const own = await ownerLists(options.owner ?? mail.envelope.rcpt[0]);
    const senders = await sendersOf(mail);
    const hits = (kind: keyof Lists) => {
      const patterns = own ? [...global[kind], ...own[kind]] : global[kind];
      return senders.some((s) => patterns.some((re) => re.test(s)));
    };
    if (hits('block'))
      return { v: 1, action: blockAction, score: BLOCKED_SCORE, spam: true, reasons: ['SENDER_BLOCKED'] };
    if (hits('allow'))
      return { v: 1, action: 'accept', score: ALLOWED_SCORE, spam: false, reasons: ['SENDER_ALLOWED'] };
    return { v: 1, action: 'accept', score: 0, spam: false, reasons: [] };
  };
}

/** The envelope sender (unless null) and the From addresses, lower case. */
async function sendersOf(mail: Mail): Promise<string[]> {
  const from = (await mail.parsed()).from?.value ?? [];
  const addresses = [mail.envelope.mailFrom, ...from.map((a) => a.address ?? '')];
  return addresses.filter((a) => a.includes('@')).map((a) => a.toLowerCase());
}
