import { describe, expect, it } from 'vitest';
import { isPsfError } from './errors.js';
import { decodeEvent, encodeEvent, type MailEvent } from './events.js';

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
  it('round-trips a mail event', () => {
    expect(decodeEvent(encodeEvent(mail))).toEqual(mail);
  });

  it('refuses other types, non-JSON and bad shapes with BAD_REQUEST', () => {
    const enc = encodeEvent(mail);
    const bad = [
      { ...enc, properties: { ...enc.properties, type: 'psf.scan.v1' } },
      { ...enc, content: Buffer.from('{') },
      { ...enc, content: Buffer.from(JSON.stringify({ ...mail, kind: 'other' })) },
      { ...enc, content: Buffer.from(JSON.stringify({ ...mail, at: 'now' })) },
    ];
    for (const msg of bad)
      expect(() => decodeEvent(msg)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    try {
      decodeEvent(bad[1] ?? enc);
    } catch (err) {
      expect(isPsfError(err, 'BAD_REQUEST')).toBe(true);
    }
  });
});
