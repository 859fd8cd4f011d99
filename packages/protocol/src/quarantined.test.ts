import { describe, expect, it } from 'vitest';
import { isPsfError } from './errors.js';
import { QuarantineHeader } from './names.js';
import { decodeQuarantined, encodeQuarantined, type QuarantinedMail } from './quarantined.js';

const mail: QuarantinedMail = {
  id: 'q-1',
  owner: 'alice@example.org',
  mailFrom: 'a@example.net',
  rcpt: ['alice@example.org'],
  verdict: { v: 1, action: 'quarantine', score: 12 },
  quarantinedAt: 1_800_000_000_000,
  mail: Buffer.from('Subject: x\r\n\r\nx\r\n'),
};

describe('quarantined mail on the wire', () => {
  it('keeps the DSN parameters of any recipient address, __proto__ too (found by the fuzz test)', () => {
    const dsn = {
      ret: 'HDRS',
      rcpt: Object.fromEntries([
        ['__proto__', { notify: ['NEVER'] }],
        ['alice@example.org', { notify: ['FAILURE'], orcpt: 'rfc822;Alice@example.org' }],
      ]),
    };
    const back = decodeQuarantined(encodeQuarantined({ ...mail, dsn }));
    expect(Object.keys(back.dsn?.rcpt ?? {})).toEqual(['__proto__', 'alice@example.org']);
    expect(back.dsn).toEqual(dsn);
  });

  it('refuses DSN parameters whose recipients are not an object of addresses', () => {
    const wire = encodeQuarantined(mail);
    const headers = wire.properties.headers as Record<string, unknown>;
    for (const bad of ['{"rcpt":[["a@b",{}]]}', '{"rcpt":"a@b"}', '{"rcpt":{"a@b":{"notify":"x"}}}']) {
      headers[QuarantineHeader.dsn] = bad;
      let err: unknown;
      try {
        decodeQuarantined(wire);
      } catch (e) {
        err = e;
      }
      expect(isPsfError(err, 'BAD_REQUEST')).toBe(true);
    }
  });
});
