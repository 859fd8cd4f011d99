import { describe, expect, it } from 'vitest';
import { decodeEvents, encodeEvents, type MailEvent } from './events.js';

const mail: MailEvent = {
  v: 1,
  kind: 'mail',
  at: 1_700_000_000_000,
  id: 'abc',
  owner: 'alice',
  from: 'x@spam.test',
  rcpt: ['alice@example.org'],
  status: 'spam',
  score: 9.5,
  classifyMs: 3,
  size: 4096,
};

describe('events', () => {
  it('round-trips a batch of events', () => {
    const dead = { v: 1, kind: 'dead', at: 1, owner: 'bob', reason: 'expired' } as const;
    expect(decodeEvents(encodeEvents([mail, dead]))).toEqual([mail, dead]);
  });

  it('refuses other types, non-JSON and bad shapes with BAD_REQUEST', () => {
    const enc = encodeEvents([mail]);
    const bad = [
      { ...enc, properties: { ...enc.properties, type: 'psf.scan.v1' } },
      { ...enc, content: Buffer.from('{') },
      { ...enc, content: Buffer.from(JSON.stringify([{ ...mail, kind: 'other' }])) },
      { ...enc, content: Buffer.from(JSON.stringify([{ ...mail, at: 'now' }])) },
    ];
    for (const msg of bad)
      expect(() => decodeEvents(msg)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    // A single event, not in a batch, is refused too.
    expect(() => decodeEvents({ ...enc, content: Buffer.from(JSON.stringify(mail)) })).toThrow(/bad event/);
  });
});
