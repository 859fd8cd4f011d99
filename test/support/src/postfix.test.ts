import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { expect, it, vi } from 'vitest';
import { sendMail, startPostfix, startSink } from './index.js';

const from = 'alice@example.test';
const to = ['bob@example.test'];

it('plain: relays a mail from the public port to the sink', async () => {
  await using sink = await startSink();
  await using pf = await startPostfix({ mode: 'plain', sinkPort: sink.port });
  const reply = await sendMail(pf.publicPort, {
    from,
    to,
    subject: 'hi',
    text: 'body',
    headers: { 'X-Psf': '1' },
  });
  expect(reply).toMatch(/^250 /);
  const [mail] = await sink.waitFor(1, 10_000);
  expect(mail).toMatchObject({ mailFrom: from, rcpt: to });
  expect(mail?.raw.toString()).toMatch(/^X-Psf: 1\r$/m);
});

it('after-queue-smtp: defers while the filter is down, delivers after flush once it is up', async () => {
  await using sink = await startSink();
  await using pf = await startPostfix({ mode: 'after-queue-smtp', sinkPort: sink.port });
  await sendMail(pf.publicPort, { from, to, subject: 'filtered', text: 'body' });
  await pf.waitForLog(/status=deferred .*Connection refused/, 10_000);
  // qmgr moves the mail to the deferred queue just after the delivery agent logs the deferral.
  const queue = async () =>
    (await pf.queue()).map((m) => [m.queue_name, m.sender, m.recipients[0]?.delay_reason]);
  await vi.waitFor(
    async () =>
      expect(await queue()).toEqual([['deferred', from, expect.stringMatching(/Connection refused/)]]),
    5_000,
  );

  // A pass-through filter: each mail goes back in through the reinjection port unchanged.
  const reinject = nodemailer.createTransport({ host: '127.0.0.1', port: pf.reinjectPort, ignoreTLS: true });
  const filter = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    closeTimeout: 500,
    onData(stream, { envelope }, done) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const env = {
          from: envelope.mailFrom ? envelope.mailFrom.address : '',
          to: envelope.rcptTo.map((r) => r.address),
        };
        reinject.sendMail({ envelope: env, raw: Buffer.concat(chunks) }).then(
          () => done(),
          (err: Error) => done(Object.assign(err, { responseCode: 451 })),
        );
      });
    },
  });
  await new Promise<void>((resolve) => filter.listen(pf.filterPort, '127.0.0.1', resolve));
  try {
    await pf.flush();
    const [mail] = await sink.waitFor(1, 10_000);
    expect(mail).toMatchObject({ mailFrom: from, rcpt: to });
    expect(mail?.raw.toString()).toMatch(/^Subject: filtered\r$/m);
    // The sink has the mail before Postfix hears its 250: the queue empties just after.
    await vi.waitFor(async () => expect(await pf.queue()).toEqual([]), 5_000);
  } finally {
    reinject.close();
    await new Promise<void>((resolve) => filter.close(() => resolve()));
  }
});
