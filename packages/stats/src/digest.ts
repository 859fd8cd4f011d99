import type { DeadEvent } from '@psf/protocol';
import nodemailer from 'nodemailer';

/** A digest for one owner: their requests that died unanswered, and who to tell. */
export interface Digest {
  owner: string;
  /** The owner's own addresses, taken from the recipients of their dead requests. */
  to: string[];
  subject: string;
  text: string;
}

const REASONS: Record<string, string> = {
  expired: 'your classifier did not answer in time (offline or too slow)',
  maxlen: 'your queue was full',
  rejected: 'your classifier refused the request',
};

/**
 * Groups dead letters by owner into digests. Only metadata goes out (time, sender, reason, id):
 * psf never holds the mail itself, and the gateway already applied its timeout policy to it, so
 * the digest says what that means. The default classifier's dead letters ('' owner) are the
 * admin's business (`psf stats`), not a mailbox owner's.
 */
export function buildDigests(
  events: DeadEvent[],
  policy = 'the gateway applied its timeout policy',
): Digest[] {
  const byOwner = new Map<string, DeadEvent[]>();
  for (const e of events) {
    if (!e.owner) continue;
    byOwner.set(e.owner, [...(byOwner.get(e.owner) ?? []), e]);
  }
  return [...byOwner].flatMap(([owner, list]) => {
    const to = [...new Set(list.flatMap((e) => e.rcpt ?? []))];
    if (to.length === 0) return [];
    const lines = list.map(
      (e) =>
        `  ${new Date(e.at).toISOString()}  from <${e.from ?? ''}>  ${e.reason}${e.id ? `  id ${e.id}` : ''}`,
    );
    const why = [...new Set(list.map((e) => e.reason))].map((r) => `  ${r}: ${REASONS[r] ?? r}`);
    return [
      {
        owner,
        to,
        subject: `psf: ${list.length} mail${list.length === 1 ? '' : 's'} not checked by your classifier`,
        text: [
          `Hello ${owner},`,
          '',
          `${list.length} scan request${list.length === 1 ? '' : 's'} for your mail went unanswered; ${policy}`,
          '(delivered unchecked, or kept by the mail server and retried).',
          '',
          'Why:',
          ...why,
          '',
          'Requests:',
          ...lines,
          '',
          'Check that your classifier is running and keeps up.',
          '',
        ].join('\n'),
      },
    ];
  });
}

/** Sends digests over SMTP (the local MTA); resolves the number sent. */
export async function sendDigests(
  digests: Digest[],
  smtp: { host: string; port: number; from: string },
): Promise<number> {
  const transport = nodemailer.createTransport({ host: smtp.host, port: smtp.port, ignoreTLS: true });
  try {
    for (const d of digests)
      await transport.sendMail({ from: smtp.from, to: d.to, subject: d.subject, text: d.text });
    return digests.length;
  } finally {
    transport.close();
  }
}
