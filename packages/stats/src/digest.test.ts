import type { DeadEvent } from '@psf/protocol';
import { describe, expect, it } from 'vitest';
import { buildDigests } from './digest.js';

const dead = (o: Partial<DeadEvent>): DeadEvent => ({
  v: 1,
  kind: 'dead',
  at: Date.UTC(2026, 0, 1),
  owner: 'dora',
  reason: 'expired',
  from: 'bob@example.net',
  rcpt: ['dora@example.org'],
  ...o,
});

describe('buildDigests', () => {
  it("groups an owner's dead letters into one digest to their own addresses, explaining each reason", () => {
    const [d, ...rest] = buildDigests([
      dead({ id: 'a.0' }),
      dead({ id: 'b.0', reason: 'maxlen', rcpt: ['d.x@example.org', 'dora@example.org'] }),
      dead({ owner: '', rcpt: ['someone@example.org'] }), // the default classifier's: the admin's business
      dead({ owner: 'eve', rcpt: undefined }), // nobody to tell
    ]);
    expect(rest).toEqual([]);
    expect(d?.owner).toBe('dora');
    expect(d?.to).toEqual(['dora@example.org', 'd.x@example.org']);
    expect(d?.subject).toBe('psf: 2 mails not checked by your classifier');
    expect(d?.text).toMatch(
      /^ {2}2026-01-01T00:00:00\.000Z {2}from <bob@example\.net> {2}expired {2}id a\.0$/m,
    );
    expect(d?.text).toMatch(/^ {2}maxlen: your queue was full$/m);
  });
});
