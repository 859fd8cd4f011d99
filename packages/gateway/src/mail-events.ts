import type { MailEvent } from '@psf/protocol';
import type { OwnerResult } from './mail-filter.js';

/** What the events of one mail share: the mail as it came, without content. */
export interface MailFacts {
  id: string;
  queueId?: string | undefined;
  messageId?: string | undefined;
  from: string;
  size: number;
}

/** One psf.events entry per owner's share of a mail (what `psf stats` and digests read). */
export function mailEvents(mail: MailFacts, owners: readonly OwnerResult[], at = Date.now()): MailEvent[] {
  return owners.map((o) => ({
    v: 1,
    kind: 'mail',
    at,
    id: mail.id,
    ...(mail.queueId ? { queueId: mail.queueId } : {}),
    ...(mail.messageId ? { messageId: mail.messageId } : {}),
    owner: o.owner,
    from: mail.from,
    rcpt: o.rcpt,
    status: o.status,
    ...(o.score === undefined ? {} : { score: o.score }),
    classifyMs: o.ms,
    size: mail.size,
  }));
}
