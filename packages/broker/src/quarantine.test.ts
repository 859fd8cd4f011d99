import type { QuarantinedMail } from '@psf/protocol';
import { createVhost, type Vhost } from '@psf/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerConnection } from './connection.js';
import { Quarantine, subjectOf } from './quarantine.js';

let vhost: Vhost;
let conn: BrokerConnection;
/** A second connection: another process (psf-quarantine beside the token API, say). */
let other: BrokerConnection;

const mail = (id: string, owner = 'alice@example.org'): QuarantinedMail => ({
  id,
  owner,
  mailFrom: 'spammer@example.net',
  rcpt: [owner],
  verdict: { v: 1, action: 'quarantine', score: 12, reasons: ['BAYES_99'] },
  quarantinedAt: 1_800_000_000_000,
  clientAddr: '192.0.2.9',
  mail: Buffer.from(`Subject: ${id}\r\n\r\nbody\r\n`),
});

beforeAll(async () => {
  vhost = await createVhost();
  conn = await BrokerConnection.open({ url: vhost.url });
  other = await BrokerConnection.open({ url: vhost.url });
  await Promise.all([conn.waitForConnect(10_000), other.waitForConnect(10_000)]);
});

afterAll(async () => {
  await conn?.close();
  await other?.close();
  await vhost?.close();
});

describe('Quarantine', () => {
  it('stores, lists per owner (oldest first, without the bytes), and keeps the order after a look', async () => {
    const q = new Quarantine({ connection: conn });
    await q.store(mail('m1'));
    await q.store(mail('m2'));
    await q.store(mail('b1', 'bob@example.org'));
    const list = await q.list('alice@example.org');
    expect(list.map((e) => e.id)).toEqual(['m1', 'm2']);
    expect(list[0]).toMatchObject({
      owner: 'alice@example.org',
      rcpt: ['alice@example.org'],
      clientAddr: '192.0.2.9',
      size: 21,
      subject: 'm1',
    });
    expect(list[0]?.verdict.reasons).toEqual(['BAYES_99']);
    expect((await q.list('alice@example.org')).map((e) => e.id)).toEqual(['m1', 'm2']);
    expect((await q.list('bob@example.org')).map((e) => e.id)).toEqual(['b1']);
  });

  it('take() removes a mail only when its use succeeds; read() leaves it; delete() removes it', async () => {
    const q = new Quarantine({ connection: conn });
    await q.store(mail('t1', 'carol@example.org'));
    await q.store(mail('t2', 'carol@example.org'));
    await expect(
      q.take('carol@example.org', 't1', async () => {
        throw new Error('reinjection refused');
      }),
    ).rejects.toThrow(/reinjection refused/);
    expect((await q.list('carol@example.org')).map((e) => e.id)).toEqual(['t1', 't2']);
    let got: QuarantinedMail | undefined;
    expect(
      await q.take('carol@example.org', 't1', async (m) => {
        got = m;
      }),
    ).toBe(true);
    expect(got?.mail.toString()).toBe('Subject: t1\r\n\r\nbody\r\n');
    expect(await q.take('carol@example.org', 'nope', async () => {})).toBe(false);
    expect((await q.read('carol@example.org', 't2'))?.mail.toString()).toBe('Subject: t2\r\n\r\nbody\r\n');
    expect(await q.read('carol@example.org', 'nope')).toBeUndefined();
    expect(await q.delete('carol@example.org', 't2')).toBe(true);
    expect(await q.list('carol@example.org')).toEqual([]);
  });

  it('a look hands every mail back before it ends: a look from another connection right after sees them', async () => {
    // As `psf-quarantine list` and then `release`, one process after the other. The race this
    // guards against (requeue after the close) is rare: the rounds give it chances to show.
    const first = new Quarantine({ connection: conn });
    const next = new Quarantine({ connection: other });
    await first.store(mail('d1', 'dora@example.org'));
    await first.store(mail('d2', 'dora@example.org'));
    for (let round = 0; round < 20; round++) {
      expect((await first.list('dora@example.org')).map((e) => e.id)).toEqual(['d1', 'd2']);
      expect((await next.read('dora@example.org', 'd2'))?.id).toBe('d2');
    }
    expect(await next.take('dora@example.org', 'd2', async () => {})).toBe(true);
    expect((await first.list('dora@example.org')).map((e) => e.id)).toEqual(['d1']);
  });

  it('looks at the same moment take turns: each sees every mail, from two processes or one', async () => {
    // Two admins (or the self-service page and psf-quarantine) listing and reading at once.
    const here = new Quarantine({ connection: conn });
    const there = new Quarantine({ connection: other });
    const ids = ['e1', 'e2', 'e3', 'e4', 'e5'];
    for (const id of ids) await here.store(mail(id, 'erin@example.org'));
    for (let round = 0; round < 5; round++) {
      const looks = await Promise.all([
        here.list('erin@example.org'),
        there.list('erin@example.org'),
        here.list('erin@example.org'),
        there.read('erin@example.org', 'e5'),
      ]);
      for (const list of looks.slice(0, 3))
        expect((list as Array<{ id: string }>).map((e) => e.id)).toEqual(ids);
      expect((looks[3] as { id: string } | undefined)?.id).toBe('e5');
    }
    // A mail taken while others look: each look sees it or not, and every other mail.
    const [taken, list] = await Promise.all([
      there.take('erin@example.org', 'e3', async () => {}),
      here.list('erin@example.org'),
    ]);
    expect(taken).toBe(true);
    expect(list.map((e) => e.id).filter((id) => id !== 'e3')).toEqual(['e1', 'e2', 'e4', 'e5']);
    expect((await here.list('erin@example.org')).map((e) => e.id)).toEqual(['e1', 'e2', 'e4', 'e5']);
  });

  it('forgets mail after the retention time', async () => {
    const q = new Quarantine({ connection: conn, retentionMs: 200 });
    await q.store(mail('old', 'dave@example.org'));
    await new Promise((r) => setTimeout(r, 400));
    expect(await q.list('dave@example.org')).toEqual([]);
  });
});

describe('subjectOf', () => {
  it('unfolds and decodes the Subject header, and reads only the header', () => {
    const raw = (head: string) => Buffer.from(`${head}\r\n\r\nSubject: in the body\r\n`);
    expect(subjectOf(raw('From: a@x\r\nSubject: =?UTF-8?B?R3LDvMOfZQ==?=\r\n und mehr'))).toBe(
      'Grüße und mehr',
    );
    expect(subjectOf(raw('SUBJECT: plain'))).toBe('plain');
    expect(subjectOf(Buffer.from('Subject: Gr\u00fc\u00dfe\r\n\r\n', 'utf8'))).toBe('Grüße');
    expect(subjectOf(raw('From: a@x'))).toBeUndefined();
    expect(subjectOf(raw(`Subject: ${'x'.repeat(500)}`))).toHaveLength(200);
  });
});
