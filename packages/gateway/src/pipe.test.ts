import { PassThrough, Readable } from 'node:stream';
import { createVhost, freePort, type SinkOptions, startSink, type Vhost } from '@psf/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PipeOptions, runPipe } from './pipe.js';

// runPipe without Postfix: the mail from a Buffer, the sink as reinjection server. No classifier
// listens, so every mail goes out marked unchecked after `timeoutMs` (onTimeout=accept): the
// exit codes are about the broker and the reinjection. Verdicts through Postfix: test/e2e/pipe.test.ts.
const MAIL = 'From: a@example.net\nTo: b@example.org\nSubject: hi\n\nhello\n';

let vhost: Vhost;
beforeAll(async () => {
  vhost = await createVhost();
});
afterAll(() => vhost?.close());

async function pipe(sink: SinkOptions, options: Partial<PipeOptions> = {}) {
  await using s = await startSink(sink);
  const errorOutput = new PassThrough();
  const code = await runPipe({
    amqpUrl: vhost.url,
    reinject: { port: s.port },
    // Also how long the pipe waits for its broker connection: generous for a loaded machine.
    timeoutMs: 1000,
    input: Readable.from([Buffer.from(MAIL)]),
    mailFrom: 'a@example.net',
    rcpt: ['b@example.org'],
    errorOutput,
    ...options,
  });
  errorOutput.end();
  // Counted with the sink still open (its close would end our connections), once its side of
  // the reinjection connection, which got our QUIT, had a moment to close.
  await new Promise((r) => setTimeout(r, 100));
  const sockets = process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
  return { code, stderr: String(errorOutput.read() ?? ''), mails: s.mails, sockets };
}

describe('runPipe', () => {
  it('exits 0 once the mail is reinjected, silently, with CRLF lines and the null sender kept', async () => {
    const r = await pipe({}, { mailFrom: '' });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.mails).toHaveLength(1);
    expect(r.mails[0]!.mailFrom).toBe('');
    expect(r.mails[0]!.rcpt).toEqual(['b@example.org']);
    expect(r.mails[0]!.raw.toString()).toMatch(
      /^X-PSF-Status: unchecked; reason=timeout\r\n.*\r\n\r\nhello\r\n$/s,
    );
  });

  it('exits 75 when the reinjection server answers 4xx', async () => {
    const r = await pipe({ reply: () => ({ code: 451, message: '4.3.0 try later' }) });
    expect(r.code).toBe(75);
    expect(r.stderr).toMatch(/^psf-pipe: [\w-]{12}: reinjection message refused: 451 4\.3\.0 try later\n$/);
  });

  it('exits 69 when the reinjection server answers 5xx', async () => {
    const r = await pipe({ reply: () => ({ code: 554, message: '5.7.1 not here' }) });
    expect(r.code).toBe(69);
    expect(r.stderr).toMatch(/^psf-pipe: [\w-]{12}: reinjection message refused: 554 5\.7\.1 not here\n$/);
  });

  it('exits 75 after a short wait when RabbitMQ is unreachable, with nothing reinjected', async () => {
    const started = Date.now();
    const r = await pipe(
      {},
      { amqpUrl: `amqp://guest:guest@127.0.0.1:${await freePort()}/x`, timeoutMs: 500 },
    );
    expect(r.code).toBe(75);
    expect(r.stderr).toMatch(/^psf-pipe: [\w-]{12}: no RabbitMQ connection within 500 ms\n$/);
    expect(r.mails).toHaveLength(0);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('exits 78 on bad options, with the 4.3.5 that makes Postfix defer rather than bounce', async () => {
    const r = await pipe({}, { reinject: { port: 0 } });
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/^4\.3\.5 psf-pipe: [\w-]{12}: reinjection port must be 1-65535, got 0\n$/);
  });

  it('leaves no socket or timer behind, so the process exits once it returns', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    expect((await pipe({})).sockets).toBe(0);
    const noBroker = `amqp://guest:guest@127.0.0.1:${await freePort()}/x`;
    expect((await pipe({}, { amqpUrl: noBroker })).sockets).toBe(0);
    expect(timers()).toBeLessThanOrEqual(before);
  });
});
