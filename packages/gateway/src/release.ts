import type { Quarantine } from '@psf/broker';
import { MailHeader } from '@psf/protocol';
import { rewriteHeaders } from './header-block.js';
import type { Reinjector } from './reinjector.js';

/**
 * Delivers quarantined mail `id` of `owner` to that owner's original recipients (only theirs),
 * through the reinjection server with the original client passed on, and removes it from the
 * quarantine once the server accepted it, with the sender's DSN request (NOTIFY, RET...) as it
 * came. Resolves false when there is no such mail. The owner
 * chose to have it: it is marked released, without spam headers their filters would act on.
 */
export async function releaseQuarantined(
  quarantine: Quarantine,
  reinjector: Reinjector,
  owner: string,
  id: string,
): Promise<boolean> {
  return quarantine.take(owner, id, async (q) => {
    const score =
      q.verdict.score === undefined ? [] : ([[MailHeader.score, q.verdict.score.toFixed(1)]] as const);
    const headers = [[MailHeader.status, `released; action=${q.verdict.action}`] as const, ...score];
    const envelope = { mailFrom: q.mailFrom, rcpt: q.rcpt, ...(q.dsn ? { dsn: q.dsn } : {}) };
    await reinjector.send(envelope, rewriteHeaders(q.mail, headers), {
      ...(q.clientAddr ? { addr: q.clientAddr } : {}),
      ...(q.helo ? { helo: q.helo } : {}),
      ...(q.queueId ? { ident: q.queueId } : {}),
    });
  });
}
