import type { MailEvent } from '@psf/protocol';
import { describe, expect, it } from 'vitest';
import { StatsAggregate, statusKind } from './aggregate.js';
import { LatencySketch } from './latency-sketch.js';
import { formatSummary } from './report.js';
import { parseSince } from './since.js';

let n = 0;
const mail = (o: Partial<MailEvent>): MailEvent => ({
  v: 1,
  kind: 'mail',
  at: 1_700_000_000_000 + n,
  id: `m${n++}`,
  owner: 'alice',
  from: 'bob@example.net',
  rcpt: ['alice@example.org'],
  status: 'clean',
  classifyMs: 2,
  size: 1000,
  ...o,
});

describe('StatsAggregate', () => {
  it('counts recipients per owner and status kind, and mails once across owners', () => {
    const agg = new StatsAggregate();
    agg.add(mail({ id: 'x', owner: 'alice', status: 'spam', rcpt: ['a1@x.test', 'a2@x.test'] }));
    agg.add(mail({ id: 'x', owner: 'bob', status: 'clean' }));
    agg.add(mail({ owner: 'bob', status: 'unchecked:timeout' }));
    agg.add({ v: 1, kind: 'dead', at: 1, owner: 'bob', reason: 'expired' });
    agg.add({ v: 1, kind: 'mark', at: 2, nonce: 'n' });
    const s = agg.summary();
    expect(s.mails).toBe(2);
    expect(s.owners).toEqual([
      { owner: 'alice', counts: { spam: 2 } },
      { owner: 'bob', counts: { clean: 1, unchecked: 1, dead: 1 } },
    ]);
    expect(s.recipients).toEqual({ spam: 2, clean: 1, unchecked: 1, dead: 1 });
    expect(s.deadLetters).toEqual([{ owner: 'bob', reason: 'expired', count: 1 }]);
    expect(statusKind('tempfail:timeout')).toBe('tempfail');
  });

  it('keeps only the latest verdicts per owner, newest first', () => {
    const agg = new StatsAggregate({ recentPerOwner: 3 });
    for (let i = 0; i < 10; i++) agg.add(mail({ id: `r${i}`, score: i }));
    expect(agg.owner('alice')?.recent.map((r) => r.id)).toEqual(['r9', 'r8', 'r7']);
    expect(agg.owner('nobody')).toBeUndefined();
  });

  it('ranks senders of spam by recipients and forgets the rarest past its cap', () => {
    const agg = new StatsAggregate({ maxSenders: 3 });
    for (let i = 0; i < 5; i++) agg.add(mail({ status: 'spam', from: 'big@spam.test' }));
    agg.add(mail({ status: 'quarantined', from: 'mid@spam.test', rcpt: ['a@x.test', 'b@x.test'] }));
    agg.add(mail({ status: 'clean', from: 'friend@example.org' }));
    for (const s of ['one@x.test', 'two@x.test', 'three@x.test'])
      agg.add(mail({ status: 'rejected', from: s }));
    const top = agg.summary(5).topSpamSenders;
    expect(top.slice(0, 2)).toEqual([
      { sender: 'big@spam.test', recipients: 5 },
      { sender: 'mid@spam.test', recipients: 2 },
    ]);
    expect(top.length).toBeLessThanOrEqual(3);
    expect(top.map((t) => t.sender)).not.toContain('friend@example.org');
  });

  it('reports classification p50 and p99 within the sketch precision, without failed ones', () => {
    const agg = new StatsAggregate();
    for (let i = 1; i <= 1000; i++) agg.add(mail({ classifyMs: i }));
    agg.add(mail({ status: 'tempfail:timeout', classifyMs: 1e6 }));
    const { p50, p99, count } = agg.summary().classifyMs;
    expect(count).toBe(1000);
    expect(p50).toBeGreaterThanOrEqual(500);
    expect(p50).toBeLessThanOrEqual(500 * 1.05);
    expect(p99).toBeGreaterThanOrEqual(990);
    expect(p99).toBeLessThanOrEqual(990 * 1.05);
  });

  it('prints a readable summary', () => {
    const agg = new StatsAggregate();
    agg.add(mail({ status: 'spam', from: 'big@spam.test' }));
    agg.add(mail({ status: 'spam', from: 'esc\x1b[2J@spam.test' }));
    agg.add(mail({ owner: '', status: 'clean' }));
    const text = formatSummary(agg.summary());
    // A sender's control characters (a terminal escape here) are not printed.
    expect(text).toMatch(/^ {2}esc\?\[2J@spam\.test +1$/m);
    expect(text).not.toContain('\x1b');
    expect(text).toMatch(/^mails 3; classification p50 2\.\d ms/m);
    expect(text).toMatch(/^ {2}"alice" +0 +2$/m);
    expect(text).toMatch(/^ {2}total +1 +2$/m);
    expect(text).toMatch(/^ {2}big@spam\.test +1$/m);
  });
});

describe('LatencySketch', () => {
  it('is empty until fed', () => {
    expect(new LatencySketch().quantile(0.5)).toBeUndefined();
  });
});

describe('parseSince', () => {
  it('reads relative spans and ISO dates, and names a bad value', () => {
    expect(parseSince('2h', 10_000_000)).toBe(10_000_000 - 7_200_000);
    expect(parseSince('2026-01-01T00:00:00Z')).toBe(Date.UTC(2026, 0, 1));
    expect(() => parseSince('yesterday')).toThrow(/--since/);
  });
});
