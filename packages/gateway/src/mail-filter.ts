import { isAscii } from 'node:buffer';
import { Readable } from 'node:stream';
import { type BrokerConnection, OwnerDirectory, Quarantine, type RpcClient } from '@psf/broker';
import {
  type Dsn,
  isPsfError,
  PsfError,
  type QuarantinedMail,
  type ScanRequest,
  type Verdict,
} from '@psf/protocol';
import type { GatewayOptions } from './gateway.js';
import { dropOwnedFields, headerEnd, rewriteHead } from './header-block.js';
import type { MailBody } from './mail-body.js';
import { addressIsOwner, groupByOwner, type OwnerMap } from './owners.js';
import { dispose, disposeFailure, escalate, type PolicyOptions, policyFor, type Settled } from './policy.js';
import type { MessageSource, Reinjector, XForward } from './reinjector.js';

type Deliver = Extract<Settled, { kind: 'deliver' }>;

/** XFORWARD's "not available" is passed on to Postfix as is, but classifiers get nothing. */
const known = (value: string | undefined) => (value === '[UNAVAILABLE]' ? undefined : value);

/** The DSN request as it concerns `rcpt` (a quarantined share of the mail). */
function dsnFor(dsn: Dsn, rcpt: readonly string[]): Dsn {
  const mine = Object.entries(dsn.rcpt ?? {}).filter(([address]) => rcpt.includes(address));
  return {
    ...(dsn.ret ? { ret: dsn.ret } : {}),
    ...(dsn.envid ? { envid: dsn.envid } : {}),
    rcpt: Object.fromEntries(mine),
  };
}

/** The mail with its header block rewritten (see rewriteHead): in memory, or streamed from the spool. */
function withHeaders(
  body: MailBody,
  add: ReadonlyArray<readonly [string, string]>,
  subjectTag: string | undefined,
): Buffer | MessageSource {
  const { header, consumed, dropping } = rewriteHead(body.head, !body.spooled, add, subjectTag);
  if (!body.spooled) return Buffer.concat([header, body.head.subarray(consumed)]);
  // A header block longer than the head goes on in the spool: strip psf's fields there too.
  const open = headerEnd(body.head) === -1;
  return {
    eightBit: body.eightBit || !isAscii(header),
    open: () =>
      Readable.from(
        (async function* () {
          yield header;
          const rest = body.stream(consumed);
          yield* open ? dropOwnedFields(rest, dropping) : rest;
        })(),
      ),
  };
}

/** A mail as the gateway received it from Postfix. */
export interface InboundMail {
  /** The gateway's id of this mail (correlation id prefix, log id, SMTP reply suffix). */
  id: string;
  mailFrom: string;
  rcpt: string[];
  /** The mail as received (in memory, or spooled when big). */
  body: MailBody;
  /** The real client, as Postfix forwarded it; passed on when reinjecting. */
  xforward: XForward;
  /** DSN parameters as Postfix sent them; passed on when reinjecting. */
  dsn?: Dsn;
}

export interface OwnerResult {
  owner: string;
  /** The owner's recipients of this mail. */
  rcpt: string[];
  status: string;
  /** The classifier's score, when it answered with one. */
  score?: number;
  ms: number;
}

export interface MailOutcome {
  /** Copies accepted by the reinjection server. */
  copies: number;
  /** Recipients dropped by policy (discard, or reject while others accept). */
  discarded: string[];
  /** Recipients whose mail went to their owner's quarantine. */
  quarantined: string[];
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
  /** Aborted when the client that handed over the mail is gone: then nothing is reinjected. */
  signal?: AbortSignal;
}

export interface MailFilterOptions extends Omit<PolicyOptions, 'quarantine'> {
  rpc: RpcClient;
  reinjector: Reinjector;
  ownerOf: OwnerMap;
  /**
   * Tells which owners run a personal classifier; all other recipients then share one request to
   * the default classifier. Without it each owner gets a request (the alternate exchange still
   * brings the unclaimed ones to psf.default).
   */
  directory?: { hasPersonalQueue(owner: string): Promise<boolean> };
  /** Where `quarantine` verdicts go; without it they are delivered tagged. */
  quarantineStore?: { store(mail: QuarantinedMail): Promise<void> };
  /** Time a classifier has for a verdict. */
  timeoutMs: number;
  /** Only this many leading bytes are sent to classifiers (flagged as truncated). */
  maxScanBytes: number;
}

/**
 * The pipeline of one mail: one request per owner with a personal classifier and one for all the
 * others, a disposition per owner from the verdict and their policy (or the timeout policy), one
 * reinjected copy per group of owners with the same headers, quarantine where the verdict says
 * so. With one reply per mail it resolves only when everything is settled and otherwise throws
 * (a temporary PsfError: 451, Postfix keeps the mail; POLICY_REJECT: 550); per recipient, it
 * reports in `failed` what could not be settled.
 */
export class MailFilter {
  readonly #o: MailFilterOptions;
  readonly #policy: PolicyOptions;

  constructor(options: MailFilterOptions) {
    this.#o = options;
    this.#policy = { ...options, quarantine: options.quarantineStore !== undefined };
  }

  async process(mail: InboundMail, options: ProcessOptions = {}): Promise<MailOutcome> {
    const failed = new Map<string, unknown>();
    const { owners, settled } = await this.#classify(mail, failed);
    if (failed.size && !options.perRecipient) throw failed.values().next().value;
    // A refusal: with a reply per recipient (LMTP), a 550 for the rejecting owners' recipients.
    // With one reply per mail, a 550 when every owner refuses; when only some do, their
    // recipients are dropped: the others' copies must go through, and one reply cannot say both.
    const rejecting = settled.filter((s) => s.disposition.kind === 'reject');
    const refusal = (list: typeof rejecting) => {
      const reasons = list.flatMap((s) => (s.disposition.kind === 'reject' ? s.disposition.reasons : []));
      const why = reasons.length ? `: ${reasons.join(',')}` : '';
      return new PsfError('POLICY_REJECT', `rejected by the recipient's classifier${why}`);
    };
    if (options.perRecipient) {
      for (const r of rejecting) for (const rcpt of r.rcpt) failed.set(rcpt, refusal([r]));
    } else if (rejecting.length && rejecting.length === settled.length && !failed.size) {
      throw refusal(rejecting);
    }

    // Owners whose mail gets the same treatment share one copy.
    const copies = new Map<string, { disposition: Deliver; rcpt: string[] }>();
    const discarded: string[] = [];
    const quarantined: Array<{ owner: string; rcpt: string[]; verdict: Verdict }> = [];
    for (const { owner, disposition, rcpt } of settled) {
      if (disposition.kind === 'quarantine') quarantined.push({ owner, rcpt, verdict: disposition.verdict });
      if (disposition.kind !== 'deliver') {
        if (disposition.kind !== 'quarantine') discarded.push(...rcpt);
        continue;
      }
      const key = JSON.stringify([disposition.headers, disposition.subjectTag]);
      const copy = copies.get(key);
      if (copy) copy.rcpt.push(...rcpt);
      else copies.set(key, { disposition, rcpt: [...rcpt] });
    }

    // Settled for these recipients only once done; a failure is theirs alone (LMTP).
    const settle = async (rcpt: string[], work: () => Promise<unknown>) => {
      try {
        await work();
      } catch (err) {
        for (const r of rcpt) failed.set(r, err);
        throw err;
      }
    };
    // Wait for every copy before answering, so the reply never races a copy still in flight.
    const sent = await Promise.allSettled([
      ...[...copies.values()].map(({ disposition, rcpt }) =>
        settle(rcpt, () =>
          this.#o.reinjector.send(
            { mailFrom: mail.mailFrom, rcpt, ...(mail.dsn ? { dsn: mail.dsn } : {}) },
            withHeaders(mail.body, disposition.headers, disposition.subjectTag),
            mail.xforward,
            options.signal,
          ),
        ),
      ),
      ...quarantined.map(({ owner, rcpt, verdict }) =>
        settle(rcpt, () => this.#store({ id: mail.id, owner, mailFrom: mail.mailFrom, rcpt, verdict }, mail)),
      ),
    ]);
    if (failed.size && !options.perRecipient) throw failed.values().next().value;
    const accepted = sent.slice(0, copies.size).filter((r) => r.status === 'fulfilled').length;
    const held = quarantined.flatMap((q) => q.rcpt).filter((r) => !failed.has(r));
    return { copies: accepted, discarded, quarantined: held, owners, failed };
  }

  async #store(
    entry: Pick<QuarantinedMail, 'id' | 'owner' | 'mailFrom' | 'rcpt' | 'verdict'>,
    mail: InboundMail,
  ) {
    const quarantine = this.#o.quarantineStore;
    if (!quarantine) throw new PsfError('CONFIG', 'quarantine verdict without a quarantine store');
    const x = mail.xforward;
    return quarantine.store({
      ...entry,
      quarantinedAt: Date.now(),
      clientAddr: known(x.addr),
      helo: known(x.helo),
      queueId: known(x.ident),
      ...(mail.dsn ? { dsn: dsnFor(mail.dsn, entry.rcpt) } : {}),
      mail: await mail.body.buffer(),
    });
  }

  /**
   * Asks the classifiers; what they were sent (up to maxScanBytes, read back from the spool for a
   * big mail) is let go when this returns, before the copies are reinjected.
   */
  async #classify(mail: InboundMail, failed: Map<string, unknown>) {
    const { timeoutMs, maxScanBytes } = this.#o;
    const requests = await this.#requests(mail.rcpt);
    const scanned = await mail.body.prefix(maxScanBytes);
    const deadline = Date.now() + timeoutMs;
    const x = mail.xforward;
    const owners: OwnerResult[] = [];
    const settled: Array<{ owner: string; disposition: Settled; rcpt: string[] }> = [];
    await Promise.all(
      [...requests].map(async ([owner, rcpt], i) => {
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
          size: mail.body.size,
          truncated: mail.body.size > maxScanBytes,
          deadline,
          mail: scanned,
        };
        const decided = await this.#decide(owner, request, rcpt).catch((err: unknown) => {
          for (const r of rcpt) failed.set(r, err);
          const status = `tempfail:${isPsfError(err) ? err.code.toLowerCase() : 'internal'}`;
          return [{ owner, rcpt, status, score: undefined }];
        });
        for (const d of decided) {
          if ('disposition' in d) settled.push(d);
          const status = 'disposition' in d ? d.disposition.status : d.status;
          const score = d.score === undefined ? {} : { score: d.score };
          owners.push({ owner: d.owner, rcpt: d.rcpt, status, ...score, ms: Date.now() - started });
        }
      }),
    );
    return { owners, settled };
  }

  /** Recipients by routing key: personal owners' ids, and '' (psf.default) for everyone else. */
  async #requests(rcpt: string[]): Promise<Map<string, string[]>> {
    const byOwner = groupByOwner(rcpt, this.#o.ownerOf);
    const directory = this.#o.directory;
    if (!directory) return byOwner;
    const owners = [...byOwner.keys()];
    const personal = await Promise.all(owners.map((o) => (o ? directory.hasPersonalQueue(o) : false)));
    const requests = new Map<string, string[]>();
    for (const [i, owner] of owners.entries()) {
      const key = personal[i] ? owner : '';
      const list = requests.get(key) ?? [];
      list.push(...(byOwner.get(owner) ?? []));
      requests.set(key, list);
    }
    return requests;
  }

  /**
   * What happens to each owner's recipients of one request (the default classifier's verdict
   * covers many owners, each with their own policy). Throws when there is no verdict and the
   * timeout policy says to retry later.
   */
  async #decide(
    key: string,
    request: ScanRequest,
    rcpt: string[],
  ): Promise<Array<{ owner: string; rcpt: string[]; disposition: Settled; score: number | undefined }>> {
    let verdict: Verdict;
    try {
      verdict = await this.#o.rpc.call(key, request);
    } catch (err) {
      if (!isPsfError(err)) throw err;
      const disposition = disposeFailure(err.code, this.#policy);
      if (disposition.kind === 'tempfail') throw err;
      return [{ owner: key, rcpt, disposition, score: undefined }];
    }
    return [...groupByOwner(rcpt, this.#o.ownerOf)].map(([owner, list]) => {
      const policy = policyFor(this.#o.policy, owner);
      const disposition = dispose(escalate(verdict, policy), this.#policy, policy);
      return { owner, rcpt: list, disposition, score: verdict.score };
    });
  }
}

/** What classifiers are sent of a mail by default: spamc's 500 KB, give or take. */
export const DEFAULT_MAX_SCAN_BYTES = 512 * 1024;

/** What a gateway or pipe process sets of the pipeline (GatewayOptions' names and defaults). */
export type PipelineOptions = Pick<
  GatewayOptions,
  'ownerOf' | 'timeoutMs' | 'maxScanBytes' | 'onTimeout' | 'policy' | 'quarantine'
> & { refuse?: boolean };

/** The pipeline as psf-gateway and psf-pipe run it: owner directory and quarantine on the broker. */
export function createMailFilter(
  connection: BrokerConnection,
  rpc: RpcClient,
  reinjector: Reinjector,
  options: PipelineOptions,
): MailFilter {
  return new MailFilter({
    rpc,
    reinjector,
    ownerOf: options.ownerOf ?? addressIsOwner,
    directory: new OwnerDirectory({ connection }),
    ...(options.quarantine === false
      ? {}
      : { quarantineStore: new Quarantine({ connection, ...options.quarantine }) }),
    timeoutMs: options.timeoutMs ?? 10_000,
    maxScanBytes: options.maxScanBytes ?? DEFAULT_MAX_SCAN_BYTES,
    onTimeout: options.onTimeout ?? 'accept',
    refuse: options.refuse ?? false,
    ...(options.policy ? { policy: options.policy } : {}),
  });
}
