import type { Mail, Verdict } from '@psf/client-sdk';
import { PsfError } from '@psf/protocol';
import { actionFor, DEFAULT_TAG_SCORE, round1, type Thresholds } from './thresholds.js';

/** One classifier of a composite. */
export interface CompositeMember {
  /** Prefixes its reasons (`spamassassin:GTUBE`) and names it when it fails. */
  name: string;
  classify: (mail: Mail) => Verdict | Promise<Verdict>;
  /** Its score counts this many times. Default 1. */
  weight?: number;
  /** Its own time limit; the mail's deadline bounds it too. Default: the deadline only. */
  timeoutMs?: number;
}

export interface CompositeOptions {
  members: CompositeMember[];
  /** Applied to the combined score. Default: tag at 5. */
  thresholds?: Thresholds;
  /** Time kept back before the mail's deadline for the answer to travel. Default 100 ms. */
  marginMs?: number;
}

/**
 * Runs every member on the same mail at once and combines them: score = Σ weight × member score
 * (a member without a score counts 0 when it accepts, the tag threshold when it does not), and
 * the action comes from the composite's thresholds on that sum. A member that fails or runs out
 * of time is skipped and named in the reasons (`name:FAILED`): it adds nothing, so an outage
 * leans towards delivering. Only when every member fails does the composite fail
 * (PsfError CLASSIFIER_FAILED: the gateway's timeout policy applies).
 */
export function createComposite(options: CompositeOptions): (mail: Mail) => Promise<Verdict> {
  if (options.members.length === 0) throw new PsfError('CONFIG', 'a composite needs at least one member');
  const thresholds = options.thresholds ?? {};
  const tagAt = thresholds.tag ?? DEFAULT_TAG_SCORE;
  const marginMs = options.marginMs ?? 100;
  return async (mail) => {
    const budget = Math.max(1, mail.deadline - Date.now() - marginMs);
    const results = await Promise.allSettled(
      options.members.map((m) => withTimeout(m, mail, Math.min(budget, m.timeoutMs ?? budget))),
    );
    let score = 0;
    let answered = 0;
    const reasons: string[] = [];
    const failures: string[] = [];
    results.forEach((r, i) => {
      const member = options.members[i] as CompositeMember;
      if (r.status === 'rejected') {
        reasons.push(`${member.name}:FAILED`);
        failures.push(`${member.name}: ${(r.reason as Error)?.message ?? String(r.reason)}`);
        return;
      }
      answered++;
      const own = r.value.score ?? (r.value.action === 'accept' ? 0 : tagAt);
      score += (member.weight ?? 1) * own;
      for (const reason of r.value.reasons ?? []) reasons.push(`${member.name}:${reason}`.slice(0, 200));
    });
    if (answered === 0)
      throw new PsfError('CLASSIFIER_FAILED', `every member failed: ${failures.join('; ')}`);
    score = round1(score);
    const action = actionFor(score, thresholds);
    // Failures first: they must survive the 50-reason limit.
    const ordered = [
      ...reasons.filter((r) => r.endsWith(':FAILED')),
      ...reasons.filter((r) => !r.endsWith(':FAILED')),
    ];
    return { v: 1, action, score, spam: action !== 'accept', reasons: ordered.slice(0, 50) };
  };
}

/** Longest delay setTimeout takes: a mail without a deadline (`check`) waits for its members' own. */
const MAX_TIMER_MS = 2_147_483_647;

function withTimeout(member: CompositeMember, mail: Mail, ms: number): Promise<Verdict> {
  if (ms > MAX_TIMER_MS) return Promise.resolve().then(() => member.classify(mail));
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new PsfError('CLASSIFIER_FAILED', `${member.name} gave no verdict within ${ms} ms`)),
      ms,
    );
  });
  return Promise.race([Promise.resolve().then(() => member.classify(mail)), late]).finally(() =>
    clearTimeout(timer),
  );
}
