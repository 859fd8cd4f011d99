import type { Learner, LearnOutcome, Mail, Verdict } from '@psf/client-sdk';
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
  /** Takes owners' corrections, on members that learn. */
  learn?: Learner;
  /**
   * Its failure fails the composite (CLASSIFIER_FAILED, so the gateway's timeout policy applies)
   * instead of being skipped: a virus scanner, whose outage must not let mail through unscanned.
   */
  required?: boolean;
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
 * leans towards delivering. Only when every member fails, or a `required` one, does the
 * composite fail (PsfError CLASSIFIER_FAILED: the gateway's timeout policy applies).
 */
export function createComposite(
  options: CompositeOptions,
): ((mail: Mail) => Promise<Verdict>) & { learn?: Learner } {
  if (options.members.length === 0) throw new PsfError('CONFIG', 'a composite needs at least one member');
  const classify = classifyAll(options);
  const learn = learnAll(options.members);
  return learn ? Object.assign(classify, { learn }) : classify;
}

function classifyAll(options: CompositeOptions): (mail: Mail) => Promise<Verdict> {
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
    const requiredFailures: string[] = [];
    results.forEach((r, i) => {
      const member = options.members[i] as CompositeMember;
      if (r.status === 'rejected') {
        const failure = `${member.name}: ${(r.reason as Error)?.message ?? String(r.reason)}`;
        reasons.push(`${member.name}:FAILED`);
        failures.push(failure);
        if (member.required) requiredFailures.push(failure);
        return;
      }
      answered++;
      const own = r.value.score ?? (r.value.action === 'accept' ? 0 : tagAt);
      score += (member.weight ?? 1) * own;
      for (const reason of r.value.reasons ?? []) reasons.push(`${member.name}:${reason}`.slice(0, 200));
    });
    if (answered === 0)
      throw new PsfError('CLASSIFIER_FAILED', `every member failed: ${failures.join('; ')}`);
    if (requiredFailures.length > 0)
      throw new PsfError('CLASSIFIER_FAILED', `a required member failed: ${requiredFailures.join('; ')}`);
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

/**
 * Hands a correction to every member that learns, at once. The outcome names each one: what it
 * learnt, or its error; only when all of them fail does learning fail. Undefined when no member
 * learns (the composite then does not learn either).
 */
function learnAll(members: CompositeMember[]): Learner | undefined {
  const learners = members.filter((m): m is CompositeMember & { learn: Learner } => m.learn !== undefined);
  if (learners.length === 0) return undefined;
  return async (mail, label, owner) => {
    const results = await Promise.allSettled(
      learners.map((m) => Promise.resolve().then(() => m.learn(mail, label, owner))),
    );
    const outcome: Required<Pick<LearnOutcome, 'members'>> = { members: {} };
    results.forEach((r, i) => {
      const { name } = learners[i] as CompositeMember;
      outcome.members[name] =
        r.status === 'fulfilled'
          ? { times: r.value.times, before: r.value.before, after: r.value.after }
          : { error: ((r.reason as Error)?.message ?? String(r.reason)).slice(0, 500) };
    });
    if (results.every((r) => r.status === 'rejected')) {
      throw new PsfError(
        'CLASSIFIER_FAILED',
        Object.entries(outcome.members)
          .map(([name, o]) => `${name}: ${o.error}`)
          .join('; '),
      );
    }
    return outcome;
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
