import type { DeadEvent, MailEvent, PsfEvent } from '@psf/protocol';
import { LatencySketch } from './latency-sketch.js';

/** Statuses that mean the owner's classifier called the mail spam. */
const SPAM_STATUSES = new Set(['spam', 'quarantined', 'discarded', 'rejected']);

/** A status as counted: `unchecked:timeout` counts as `unchecked`, `tempfail:...` as `tempfail`. */
export function statusKind(status: string): string {
  const colon = status.indexOf(':');
  return colon === -1 ? status : status.slice(0, colon);
}

/** One of an owner's latest verdicts (the self-service page's list). */
export interface RecentVerdict {
  /** Epoch ms. */
  at: number;
  id: string;
  from: string;
  messageId?: string;
  status: string;
  score?: number;
}

/** An owner's counts and latest verdicts. */
export interface OwnerActivity {
  owner: string;
  /** Recipients by status kind: clean, spam, quarantined, discarded, rejected, unchecked, tempfail, dead. */
  counts: Record<string, number>;
  /** Newest first. */
  recent: RecentVerdict[];
}

export interface AggregateOptions {
  /** Verdicts kept per owner for `recent`. Default 20. */
  recentPerOwner?: number;
  /** Distinct spam senders tracked before the rarest are forgotten. Default 50 000. */
  maxSenders?: number;
}

export interface Summary {
  /** Epoch ms of the first and last event read. */
  from: number | undefined;
  to: number | undefined;
  mails: number;
  recipients: Record<string, number>;
  owners: Array<{ owner: string; counts: Record<string, number> }>;
  topSpamSenders: Array<{ sender: string; recipients: number }>;
  deadLetters: Array<{ owner: string; reason: string; count: number }>;
  classifyMs: { p50: number | undefined; p99: number | undefined; count: number };
}

/**
 * Folds psf.events into what people ask about: per-owner counts, the latest verdicts, the senders
 * of spam, classification latency quantiles and dead letters. Memory is bounded (latest verdicts
 * per owner, a cap on senders, a latency sketch), so it can follow the stream for months.
 */
export class StatsAggregate {
  readonly #recentPerOwner: number;
  readonly #maxSenders: number;
  readonly #owners = new Map<string, OwnerActivity>();
  readonly #senders = new Map<string, number>();
  readonly #dead = new Map<string, number>();
  readonly #mailIds = new Set<string>();
  readonly #latency = new LatencySketch();
  #mails = 0;
  #first: number | undefined;
  #last: number | undefined;

  constructor(options: AggregateOptions = {}) {
    this.#recentPerOwner = options.recentPerOwner ?? 20;
    this.#maxSenders = options.maxSenders ?? 50_000;
  }

  add(event: PsfEvent): void {
    if (event.kind === 'mark') return;
    this.#first ??= event.at;
    this.#last = event.at;
    if (event.kind === 'mail') this.#addMail(event);
    else this.#addDead(event);
  }

  #activity(owner: string): OwnerActivity {
    let a = this.#owners.get(owner);
    if (!a) {
      a = { owner, counts: {}, recent: [] };
      this.#owners.set(owner, a);
    }
    return a;
  }

  #addMail(e: MailEvent) {
    // A mail with several owners is several events with one id: count it once. Only recent ids
    // matter (one mail's events are published together), so the set is cleared as it grows.
    if (!this.#mailIds.has(e.id)) {
      if (this.#mailIds.size >= 10_000) this.#mailIds.clear();
      this.#mailIds.add(e.id);
      this.#mails++;
    }
    const a = this.#activity(e.owner);
    const kind = statusKind(e.status);
    a.counts[kind] = (a.counts[kind] ?? 0) + e.rcpt.length;
    a.recent.unshift({
      at: e.at,
      id: e.id,
      from: e.from,
      ...(e.messageId ? { messageId: e.messageId } : {}),
      status: e.status,
      ...(e.score === undefined ? {} : { score: e.score }),
    });
    if (a.recent.length > this.#recentPerOwner) a.recent.pop();
    if (e.classifyMs !== undefined && kind !== 'tempfail' && kind !== 'unchecked')
      this.#latency.add(e.classifyMs);
    if (SPAM_STATUSES.has(kind)) this.#countSender(e.from || '<>', e.rcpt.length);
  }

  #countSender(sender: string, n: number) {
    this.#senders.set(sender, (this.#senders.get(sender) ?? 0) + n);
    if (this.#senders.size <= this.#maxSenders) return;
    // Forget the senders seen least (one-offs first): the top of the list is what is asked for.
    const floor = Math.min(...this.#senders.values());
    for (const [s, count] of this.#senders) if (count === floor) this.#senders.delete(s);
  }

  #addDead(e: DeadEvent) {
    const a = this.#activity(e.owner);
    a.counts.dead = (a.counts.dead ?? 0) + 1;
    const key = `${e.owner}\n${e.reason}`;
    this.#dead.set(key, (this.#dead.get(key) ?? 0) + 1);
  }

  owner(owner: string): OwnerActivity | undefined {
    return this.#owners.get(owner);
  }

  owners(): OwnerActivity[] {
    return [...this.#owners.values()].sort((a, b) => a.owner.localeCompare(b.owner));
  }

  summary(top = 10): Summary {
    const recipients: Record<string, number> = {};
    for (const a of this.#owners.values())
      for (const [k, n] of Object.entries(a.counts)) recipients[k] = (recipients[k] ?? 0) + n;
    return {
      from: this.#first,
      to: this.#last,
      mails: this.#mails,
      recipients,
      owners: this.owners().map(({ owner, counts }) => ({ owner, counts })),
      topSpamSenders: [...this.#senders]
        .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
        .slice(0, top)
        .map(([sender, n]) => ({ sender, recipients: n })),
      deadLetters: [...this.#dead].map(([key, count]) => {
        const [owner = '', reason = ''] = key.split('\n');
        return { owner, reason, count };
      }),
      classifyMs: {
        p50: this.#latency.quantile(0.5),
        p99: this.#latency.quantile(0.99),
        count: this.#latency.count,
      },
    };
  }
}
