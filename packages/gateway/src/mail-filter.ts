import type { RpcClient } from '@psf/broker';
import { isPsfError, type ScanRequest } from '@psf/protocol';
import { rewriteHeaders } from './header-block.js';
import { groupByOwner, type OwnerMap } from './owners.js';
import { dispose, disposeFailure, type PolicyOptions, type Settled } from './policy.js';
import type { Reinjector, XForward } from './reinjector.js';

/** XFORWARD's "not available" is passed on to Postfix as is, but classifiers get nothing. */
const known = (value: string | undefined) => (value === '[UNAVAILABLE]' ? undefined : value);

/** A mail as the gateway received it from Postfix. */
export interface InboundMail {
  /** The gateway's id of this mail (correlation id prefix, log id, SMTP reply suffix). */
  id: string;
  mailFrom: string;
  rcpt: string[];
  raw: Buffer;
  /** The real client, as Postfix forwarded it; passed on when reinjecting. */
  xforward: XForward;
}

export interface OwnerResult {
  owner: string;
  rcpt: number;
  status: string;
  ms: number;
}

export interface MailOutcome {
  /** Copies accepted by the reinjection server. */
  copies: number;
  /** Recipients dropped by policy. */
  discarded: string[];
  owners: OwnerResult[];
  /** Why a recipient's mail could not be settled (451); recipients not in the map are settled. */
  failed: Map<string, unknown>;
}

export interface ProcessOptions {
  /**
   * Settle what can be settled and report the rest per recipient (LMTP). Otherwise (SMTP, one
   * reply per mail) any failure fails the whole mail, before anything is reinjected if it can.
   */
  perRecipient?: boolean;
}

export interface MailFilterOptions extends PolicyOptions {
  rpc: RpcClient;
  reinjector: Reinjector;
  ownerOf: OwnerMap;
  /** Time a classifier has for a verdict. */
  timeoutMs: number;
  /** Only this many leading bytes are sent to classifiers (flagged as truncated). */
  maxScanBytes: number;
}

/**
 * The pipeline of one mail: one request per mailbox owner, a disposition per owner from the
 * verdict (or the timeout policy), one reinjected copy per group of owners with the same
 * disposition. Resolves only when every copy is accepted; otherwise throws a temporary PsfError
 * (the caller answers 451 and Postfix keeps the mail).
 */
export class MailFilter {
  readonly #o: MailFilterOptions;

  constructor(options: MailFilterOptions) {
    this.#o = options;
  }

  async process(mail: InboundMail, options: ProcessOptions = {}): Promise<MailOutcome> {
    const { ownerOf, timeoutMs, maxScanBytes } = this.#o;
    const truncated = mail.raw.length > maxScanBytes;
    const scanned = truncated ? mail.raw.subarray(0, maxScanBytes) : mail.raw;
    const deadline = Date.now() + timeoutMs;
    const x = mail.xforward;
    const failed = new Map<string, unknown>();
    const owners: OwnerResult[] = [];
    const settled: Array<{ disposition: Settled; rcpt: string[] }> = [];

    await Promise.all(
      [...groupByOwner(mail.rcpt, ownerOf)].map(async ([owner, rcpt], i) => {
        const started = Date.now();
        const request: ScanRequest = {
          id: `${mail.id}.${i}`,
          envelope: {
            mailFrom: mail.mailFrom,
            rcpt,
            clientAddr: known(x.addr),
            clientName: known(x.name),
            helo: known(x.helo),
            queueId: known(x.ident),
          },
          size: mail.raw.length,
          truncated,
          deadline,
          mail: scanned,
        };
        let status: string;
        try {
          const disposition = await this.#decide(owner, request);
          settled.push({ disposition, rcpt });
          status = disposition.status;
        } catch (err) {
          for (const r of rcpt) failed.set(r, err);
          status = `tempfail:${isPsfError(err) ? err.code.toLowerCase() : 'internal'}`;
        }
        owners.push({ owner, rcpt: rcpt.length, status, ms: Date.now() - started });
      }),
    );
    if (failed.size && !options.perRecipient) throw failed.values().next().value;

    // Owners whose mail gets the same treatment share one copy.
    const copies = new Map<string, { headers: Array<readonly [string, string]>; rcpt: string[] }>();
    const discarded: string[] = [];
    for (const { disposition, rcpt } of settled) {
      if (disposition.kind === 'discard') {
        discarded.push(...rcpt);
        continue;
      }
      const key = JSON.stringify(disposition.headers);
      const copy = copies.get(key);
      if (copy) copy.rcpt.push(...rcpt);
      else copies.set(key, { headers: disposition.headers, rcpt: [...rcpt] });
    }

    // Wait for every copy before answering, so the reply never races a copy still in flight.
    const sent = await Promise.allSettled(
      [...copies.values()].map(async ({ headers, rcpt }) => {
        try {
          await this.#o.reinjector.send(
            { mailFrom: mail.mailFrom, rcpt },
            rewriteHeaders(mail.raw, headers),
            mail.xforward,
          );
        } catch (err) {
          for (const r of rcpt) failed.set(r, err);
          throw err;
        }
      }),
    );
    if (failed.size && !options.perRecipient) throw failed.values().next().value;
    const accepted = sent.filter((r) => r.status === 'fulfilled').length;
    return { copies: accepted, discarded, owners, failed };
  }

  /** The owner's disposition; throws when there is none and the policy says to retry later. */
  async #decide(owner: string, request: ScanRequest): Promise<Settled> {
    try {
      return dispose(await this.#o.rpc.call(owner, request));
    } catch (err) {
      if (!isPsfError(err)) throw err;
      const fallback = disposeFailure(err.code, this.#o);
      if (fallback.kind === 'tempfail') throw err;
      return fallback;
    }
  }
}
