import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { isPsfError, type PsfError } from '@psf/protocol';
import { pino } from 'pino';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { describe, expect, it, vi } from 'vitest';
import { createReinjector, type ReinjectorOptions } from './reinjector.js';

const portOf = (server: Server) => (server.address() as AddressInfo).port;

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject).listen(0, '127.0.0.1', () => resolve(portOf(server)));
  });
}

/** A reinjector whose close() runs when the test's scope ends. */
function reinjector(port: number, opts: Partial<ReinjectorOptions> = {}) {
  const r = createReinjector({ host: '127.0.0.1', port, ...opts });
  return Object.assign(r, { [Symbol.asyncDispose]: () => r.close() });
}

/** The PsfError a promise rejects with. */
async function failure(promise: Promise<unknown>): Promise<PsfError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isPsfError(err)) throw new Error(`expected a PsfError, got ${String(err)}`);
  return err;
}

interface Received {
  mailFrom: string;
  rcpt: string[];
  data: Buffer;
  bodyType: string | undefined;
  smtpUtf8: boolean | undefined;
  xForward: Record<string, unknown>;
}

interface SmtpOptions extends SMTPServerOptions {
  /** Refuses the mail at end of DATA with this code. */
  dataReply?: { code: number; message: string };
  /** Milliseconds before answering at end of DATA. */
  delayMs?: number;
}

/** smtp-server as the reinjection smtpd, counting connections. */
async function startSmtp({ dataReply, delayMs = 0, ...options }: SmtpOptions = {}) {
  const mails: Received[] = [];
  const conns = { open: 0, max: 0, total: 0 };
  const server = new SMTPServer({
    useXForward: true,
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    closeTimeout: 100,
    disableReverseLookup: true,
    onConnect(_session, callback) {
      conns.total++;
      conns.max = Math.max(conns.max, ++conns.open);
      callback();
    },
    onClose() {
      conns.open--;
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        setTimeout(() => {
          if (dataReply)
            return callback(Object.assign(new Error(dataReply.message), { responseCode: dataReply.code }));
          const { envelope } = session;
          mails.push({
            mailFrom: envelope.mailFrom ? envelope.mailFrom.address : '(none)',
            rcpt: envelope.rcptTo.map((r) => r.address),
            data: Buffer.concat(chunks),
            bodyType: envelope.bodyType,
            smtpUtf8: envelope.smtpUtf8,
            xForward: Object.fromEntries(session.xForward),
          });
          callback();
        }, delayMs);
      });
    },
    ...options,
  });
  // smtp-server writes pipelined replies one by one: without this, Nagle holds all but the first.
  server.server.on('connection', (socket: Socket) => socket.setNoDelay(true));
  const port = await listen(server.server);
  return {
    port,
    mails,
    conns,
    [Symbol.asyncDispose]: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

interface RawConnection {
  socket: Socket;
  /** What arrived, one entry per 'data' event (TCP segments on loopback), latin1. */
  chunks: string[];
  commands: string[];
}

/**
 * A scripted SMTP server for what smtp-server cannot do: `reply` may answer a command itself,
 * 'close' drops the connection, 'silent' never answers.
 */
async function startRaw(
  opts: { ehlo?: string[]; reply?: (command: string, conn: RawConnection) => string | undefined } = {},
) {
  const ehlo = opts.ehlo ?? [
    'PIPELINING',
    '8BITMIME',
    'SMTPUTF8',
    'XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE',
  ];
  const ehloReply = ['raw', ...ehlo].map((l, i, a) => `250${i < a.length - 1 ? '-' : ' '}${l}\r\n`).join('');
  const connections: RawConnection[] = [];
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    const conn: RawConnection = { socket, chunks: [], commands: [] };
    connections.push(conn);
    let pending = '';
    let inData = false;
    const answer = (command: string) => {
      const custom = opts.reply?.(command, conn);
      if (custom === 'close') return socket.destroy();
      if (custom === 'silent') return;
      const verb = command.slice(0, 4).toUpperCase();
      if (custom) return socket.write(`${custom}\r\n`);
      if (verb === 'QUIT') return socket.end('221 bye\r\n');
      inData = verb === 'DATA';
      socket.write(verb === 'EHLO' ? ehloReply : inData ? '354 go ahead\r\n' : '250 ok\r\n');
    };
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      conn.chunks.push(chunk.toString('latin1'));
      pending += chunk.toString('latin1');
      for (;;) {
        if (inData) {
          const end = pending.indexOf('\r\n.\r\n');
          if (end === -1) return;
          pending = pending.slice(end + 5);
          inData = false;
          answer('.');
        } else {
          const nl = pending.indexOf('\r\n');
          if (nl === -1) return;
          const command = pending.slice(0, nl);
          pending = pending.slice(nl + 2);
          conn.commands.push(command);
          answer(command);
        }
      }
    });
    if (opts.reply?.('(connect)', conn) !== 'silent') socket.write('220 raw ESMTP\r\n');
  });
  const port = await listen(server);
  return {
    port,
    connections,
    [Symbol.asyncDispose]: () => {
      for (const { socket } of connections) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const xforward = {
  name: 'mail.example.net',
  addr: '192.0.2.7',
  port: '34196',
  proto: 'ESMTP',
  helo: 'client.example.net',
  ident: 'BBCEA2102B8',
  source: 'REMOTE',
};

describe('Reinjector with smtp-server', () => {
  it('delivers the mail byte-exact with its XFORWARD attributes', async () => {
    await using smtp = await startSmtp();
    await using r = reinjector(smtp.port, { logger: pino({ level: 'silent' }) });
    const message = Buffer.from('Subject: caf\xe9\r\n\r\nline one\r\n.dot line\r\n', 'latin1');
    const { reply } = await r.send(
      { mailFrom: 'a@example.org', rcpt: ['b@example.net', 'c@example.net'] },
      message,
      xforward,
    );
    expect(reply).toMatch(/^250 /);
    expect(smtp.mails).toHaveLength(1);
    const [mail] = smtp.mails;
    expect(mail?.data.equals(message)).toBe(true);
    expect(mail).toMatchObject({
      mailFrom: 'a@example.org',
      rcpt: ['b@example.net', 'c@example.net'],
      bodyType: '8bitmime',
    });
    expect(mail?.xForward).toMatchObject({
      NAME: 'mail.example.net',
      ADDR: '192.0.2.7',
      PORT: 34196,
      PROTO: 'ESMTP',
      HELO: 'client.example.net',
      IDENT: 'BBCEA2102B8',
      SOURCE: 'REMOTE',
    });
  });

  it('sends the null sender, 7-bit mail without BODY, and reuses the connection', async () => {
    await using smtp = await startSmtp();
    await using r = reinjector(smtp.port);
    for (let i = 0; i < 3; i++)
      await r.send({ mailFrom: '', rcpt: ['b@example.net'] }, Buffer.from(`Subject: ${i}\r\n\r\nx\r\n`));
    expect(smtp.mails.map((m) => [m.mailFrom, m.bodyType])).toEqual(Array(3).fill(['', '7bit']));
    expect(smtp.conns.total).toBe(1);
  });

  it('normalises bare LF and CR; the receiver undoes the dot-stuffing; smuggled dots end nothing', async () => {
    await using smtp = await startSmtp();
    await using r = reinjector(smtp.port);
    const message = 'Subject: x\n\n.leading\r..two\nhi\n.\r\nMAIL FROM:<evil@example.org>\r\nend';
    await r.send({ mailFrom: 'a@example.org', rcpt: ['b@example.net'] }, Buffer.from(message));
    expect(smtp.mails.map((m) => m.data.toString())).toEqual([
      'Subject: x\r\n\r\n.leading\r\n..two\r\nhi\r\n.\r\nMAIL FROM:<evil@example.org>\r\nend\r\n',
    ]);
  });

  it('works without PIPELINING', async () => {
    await using smtp = await startSmtp({
      hidePIPELINING: true,
      onRcptTo: (address, _session, callback) =>
        callback(
          address.address.startsWith('nobody')
            ? Object.assign(new Error('no'), { responseCode: 550 })
            : undefined,
        ),
    });
    await using r = reinjector(smtp.port);
    const err = await failure(
      r.send({ mailFrom: 'a@example.org', rcpt: ['nobody@example.net'] }, Buffer.from('x\r\n')),
    );
    expect(err.code).toBe('REINJECT_REJECTED');
    await r.send({ mailFrom: 'a@example.org', rcpt: ['b@example.net'] }, Buffer.from('x\r\n'), xforward);
    expect(smtp.mails).toMatchObject([{ rcpt: ['b@example.net'], xForward: { NAME: 'mail.example.net' } }]);
    expect(smtp.conns.total).toBe(1);
  });

  it('turns a 451 at end of DATA into REINJECT_TEMPFAIL with the reply', async () => {
    await using smtp = await startSmtp({ dataReply: { code: 451, message: 'try later' } });
    await using r = reinjector(smtp.port);
    const err = await failure(
      r.send({ mailFrom: 'a@example.org', rcpt: ['b@example.net'] }, Buffer.from('x\r\n')),
    );
    expect(err.code).toBe('REINJECT_TEMPFAIL');
    expect(err.temporary).toBe(true);
    expect(err.smtpReply).toMatch(/^451 .*try later/);
  });

  it('turns a 550 at end of DATA into REINJECT_REJECTED', async () => {
    await using smtp = await startSmtp({ dataReply: { code: 550, message: 'no thanks' } });
    await using r = reinjector(smtp.port);
    const err = await failure(
      r.send({ mailFrom: 'a@example.org', rcpt: ['b@example.net'] }, Buffer.from('x\r\n')),
    );
    expect(err.code).toBe('REINJECT_REJECTED');
    expect(err.smtpReply).toMatch(/^550 .*no thanks/);
  });

  describe('a refused recipient fails the copy', () => {
    const refuse: SmtpOptions['onRcptTo'] = (address, _session, callback) => {
      const code = { nobody: 550, later: 450 }[address.address.split('@')[0] ?? ''];
      callback(
        code ? Object.assign(new Error(`refused ${address.address}`), { responseCode: code }) : undefined,
      );
    };

    it('and leaves the connection usable (RSET) when no recipient was accepted', async () => {
      await using smtp = await startSmtp({ onRcptTo: refuse });
      await using r = reinjector(smtp.port);
      const rejected = await failure(
        r.send({ mailFrom: 'a@example.org', rcpt: ['nobody@example.net'] }, Buffer.from('x\r\n')),
      );
      expect(rejected.code).toBe('REINJECT_REJECTED');
      expect(rejected.smtpReply).toMatch(/^550 .*refused nobody@example.net/);
      const later = await failure(
        r.send({ mailFrom: 'a@example.org', rcpt: ['later@example.net'] }, Buffer.from('x\r\n')),
      );
      expect(later.code).toBe('REINJECT_TEMPFAIL');
      await r.send({ mailFrom: 'a@example.org', rcpt: ['b@example.net'] }, Buffer.from('x\r\n'));
      expect(smtp.mails).toHaveLength(1);
      expect(smtp.conns.total).toBe(1);
    });

    it('and delivers nothing when the other recipients were accepted (the server said 354)', async () => {
      await using smtp = await startSmtp({ onRcptTo: refuse });
      await using r = reinjector(smtp.port);
      const rcpt = ['b@example.net', 'nobody@example.net', 'c@example.net'];
      const err = await failure(r.send({ mailFrom: 'a@example.org', rcpt }, Buffer.from('x\r\n')));
      expect(err.code).toBe('REINJECT_REJECTED');
      await r.send({ mailFrom: 'a@example.org', rcpt: ['b@example.net'] }, Buffer.from('y\r\n'));
      expect(smtp.mails.map((m) => m.data.toString())).toEqual(['y\r\n']);
    });
  });

  it('sends SMTPUTF8 for non-ASCII addresses, and refuses them if the server cannot take them', async () => {
    {
      await using smtp = await startSmtp();
      await using r = reinjector(smtp.port);
      await r.send({ mailFrom: 'jörg@example.org', rcpt: ['zoë@example.net'] }, Buffer.from('x\r\n'));
      expect(smtp.mails).toMatchObject([
        { mailFrom: 'jörg@example.org', rcpt: ['zoë@example.net'], smtpUtf8: true },
      ]);
    }
    await using smtp = await startSmtp({ hideSMTPUTF8: true });
    await using r = reinjector(smtp.port);
    const err = await failure(
      r.send({ mailFrom: 'a@example.org', rcpt: ['zoë@example.net'] }, Buffer.from('x\r\n')),
    );
    expect(err.code).toBe('REINJECT_REJECTED');
    await r.send({ mailFrom: 'a@example.org', rcpt: ['b@example.net'] }, Buffer.from('x\r\n'));
    expect(smtp.conns.total).toBe(1);
  });

  it('refuses addresses with CR, LF or angle brackets before connecting', async () => {
    await using smtp = await startSmtp();
    await using r = reinjector(smtp.port);
    for (const bad of ['a@x\r\nRCPT TO:<c@y>', 'a>@x', '<a@x', 'a@x\n']) {
      const err = await failure(r.send({ mailFrom: 'a@example.org', rcpt: [bad] }, Buffer.from('x\r\n')));
      expect(err.code).toBe('REINJECT_REJECTED');
      expect((await failure(r.send({ mailFrom: bad, rcpt: ['b@example.net'] }, Buffer.from('x')))).code).toBe(
        'REINJECT_REJECTED',
      );
    }
    expect(smtp.conns.total).toBe(0);
  });

  it('drops a connection the server timed out (421) while idle and sends on a new one', async () => {
    await using smtp = await startSmtp({ socketTimeout: 150 });
    await using r = reinjector(smtp.port);
    await r.send({ mailFrom: 'a@example.org', rcpt: ['b@example.net'] }, Buffer.from('1\r\n'));
    await vi.waitFor(() => expect(smtp.conns.open).toBe(0), { timeout: 2000, interval: 20 });
    await r.send({ mailFrom: 'a@example.org', rcpt: ['b@example.net'] }, Buffer.from('2\r\n'));
    expect(smtp.mails).toHaveLength(2);
    expect(smtp.conns.total).toBe(2);
  });

  it('closes idle connections after idleTimeoutMs', async () => {
    await using smtp = await startSmtp();
    await using r = reinjector(smtp.port, { idleTimeoutMs: 100 });
    await r.send({ mailFrom: 'a@example.org', rcpt: ['b@example.net'] }, Buffer.from('1\r\n'));
    expect(smtp.conns.open).toBe(1);
    await vi.waitFor(() => expect(smtp.conns.open).toBe(0), { timeout: 2000, interval: 20 });
  });

  it('keeps to poolSize connections, however many senders wait', async () => {
    await using smtp = await startSmtp({ delayMs: 20 });
    await using r = reinjector(smtp.port, { poolSize: 2 });
    const sends = Array.from({ length: 10 }, (_, i) =>
      r.send({ mailFrom: 'a@example.org', rcpt: [`u${i}@example.net`] }, Buffer.from(`mail ${i}\r\n`)),
    );
    await Promise.all(sends);
    expect(smtp.mails.map((m) => m.rcpt[0]).sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => `u${i}@example.net`).sort(),
    );
    expect(smtp.conns.max).toBe(2);
    expect(smtp.conns.total).toBe(2);
  });

  it('close() finishes sends under way, QUITs, then refuses new sends', async () => {
    await using smtp = await startSmtp({ delayMs: 100 });
    const r = createReinjector({ host: '127.0.0.1', port: smtp.port });
    const underWay = r.send({ mailFrom: 'a@example.org', rcpt: ['b@example.net'] }, Buffer.from('x\r\n'));
    await vi.waitFor(() => expect(smtp.conns.open).toBe(1), { timeout: 2000, interval: 5 });
    await r.close();
    await expect(underWay).resolves.toMatchObject({ reply: expect.stringMatching(/^250 /) });
    const err = await failure(
      r.send({ mailFrom: 'a@example.org', rcpt: ['b@example.net'] }, Buffer.from('x\r\n')),
    );
    expect(err.code).toBe('SHUTTING_DOWN');
    await vi.waitFor(() => expect(smtp.conns.open).toBe(0), { timeout: 2000, interval: 20 });
    expect(smtp.mails).toHaveLength(1);
  });
});

describe('Reinjector on the wire', () => {
  it('pipelines XFORWARD, MAIL, every RCPT and DATA in one segment; no bare LF or CR in the data', async () => {
    await using raw = await startRaw();
    await using r = reinjector(raw.port);
    await r.send(
      { mailFrom: 'a@example.org', rcpt: ['b@example.net', 'c@example.net'] },
      Buffer.from('Subject: x\n\nbare\rcr\n.dot\nend', 'latin1'),
      { addr: '192.0.2.7', helo: 'client example' },
    );
    const [conn] = raw.connections;
    expect(conn?.chunks.slice(0, 4)).toEqual([
      'EHLO localhost\r\n',
      'XFORWARD ADDR=192.0.2.7 HELO=client+20example\r\nMAIL FROM:<a@example.org>\r\n' +
        'RCPT TO:<b@example.net>\r\nRCPT TO:<c@example.net>\r\nDATA\r\n',
      'Subject: x\r\n\r\nbare\r\ncr\r\n..dot\r\nend\r\n.\r\n',
    ]);
  });

  it('sends only the XFORWARD attributes the server names, in lines below 500 bytes', async () => {
    await using raw = await startRaw({ ehlo: ['PIPELINING', 'XFORWARD NAME HELO'] });
    await using r = reinjector(raw.port);
    const name = `${'n'.repeat(63)}.${'m'.repeat(63)}.${'o'.repeat(63)}.example`;
    // As smtp-server decodes xtext: one character per byte, here the UTF-8 bytes of 'é'.
    const helo = `${'h'.repeat(300)} ${Buffer.from('é').toString('latin1')}`;
    await r.send({ mailFrom: 'a@example.org', rcpt: ['b@example.net'] }, Buffer.from('x\r\n'), {
      ...xforward,
      name,
      helo,
    });
    const lines = raw.connections[0]?.commands.filter((c) => c.startsWith('XFORWARD')) ?? [];
    expect(lines).toEqual([`XFORWARD NAME=${name}`, `XFORWARD HELO=${'h'.repeat(300)}+20+C3+A9`]);
  });

  it('adds BODY=8BITMIME and SMTPUTF8 only when needed and offered', async () => {
    await using raw = await startRaw({ ehlo: ['PIPELINING', '8BITMIME', 'SMTPUTF8'] });
    await using r = reinjector(raw.port);
    await r.send(
      { mailFrom: 'a@example.org', rcpt: ['b@example.net'] },
      Buffer.from('caf\xe9\r\n', 'latin1'),
    );
    await r.send({ mailFrom: 'a@example.org', rcpt: ['zoë@example.net'] }, Buffer.from('plain\r\n'));
    const mails = raw.connections[0]?.commands.filter((c) => /^(MAIL|RCPT)/.test(c));
    expect(mails).toEqual([
      'MAIL FROM:<a@example.org> BODY=8BITMIME',
      'RCPT TO:<b@example.net>',
      'MAIL FROM:<a@example.org> SMTPUTF8',
      // latin1 view of the UTF-8 bytes
      `RCPT TO:<${Buffer.from('zoë@example.net').toString('latin1')}>`,
    ]);
  });

  it('delivers without XFORWARD when the server refuses it (Postfix: 501 for a bad NAME)', async () => {
    await using raw = await startRaw({
      reply: (command) => (command.startsWith('XFORWARD') ? '501 5.5.4 Bad NAME syntax' : undefined),
    });
    await using r = reinjector(raw.port);
    const { reply } = await r.send(
      { mailFrom: 'a@example.org', rcpt: ['b@example.net'] },
      Buffer.from('x\r\n'),
      xforward,
    );
    expect(reply).toBe('250 ok');
  });

  it('serves waiting senders first come, first served', async () => {
    await using raw = await startRaw();
    await using r = reinjector(raw.port, { poolSize: 1 });
    await Promise.all(
      [0, 1, 2, 3, 4].map((i) =>
        r.send({ mailFrom: 'a@example.org', rcpt: [`u${i}@example.net`] }, Buffer.from('x\r\n')),
      ),
    );
    expect(raw.connections[0]?.commands.filter((c) => c.startsWith('RCPT'))).toEqual(
      [0, 1, 2, 3, 4].map((i) => `RCPT TO:<u${i}@example.net>`),
    );
  });

  it('retries once on a new connection when a reused one turns out closed before the body', async () => {
    let mails = 0;
    await using raw = await startRaw({
      // The server went away while the connection sat idle: the next transaction finds it closed.
      reply: (command, conn) => {
        if (command.startsWith('MAIL') && conn.commands.filter((c) => c.startsWith('MAIL')).length > 1)
          return 'close';
        if (command === '.') mails++;
        return undefined;
      },
    });
    await using r = reinjector(raw.port);
    await r.send({ mailFrom: 'a@example.org', rcpt: ['b@example.net'] }, Buffer.from('1\r\n'));
    await r.send({ mailFrom: 'a@example.org', rcpt: ['b@example.net'] }, Buffer.from('2\r\n'));
    expect(mails).toBe(2);
    expect(raw.connections).toHaveLength(2);
  });

  it('never retries once the body was sent', async () => {
    await using raw = await startRaw({ reply: (command) => (command === '.' ? 'close' : undefined) });
    await using r = reinjector(raw.port);
    const err = await failure(
      r.send({ mailFrom: 'a@example.org', rcpt: ['b@example.net'] }, Buffer.from('1\r\n')),
    );
    expect(err.code).toBe('REINJECT_TEMPFAIL');
    expect(raw.connections).toHaveLength(1);
    // a reused connection too
    await using raw2 = await startRaw({
      reply: (command, conn) => (command === '.' && conn.commands.length > 6 ? 'close' : undefined),
    });
    await using r2 = reinjector(raw2.port);
    await r2.send({ mailFrom: 'a@example.org', rcpt: ['b@example.net'] }, Buffer.from('1\r\n'));
    expect(
      (await failure(r2.send({ mailFrom: 'a@example.org', rcpt: ['b@example.net'] }, Buffer.from('2\r\n'))))
        .code,
    ).toBe('REINJECT_TEMPFAIL');
    expect(raw2.connections).toHaveLength(1);
  });

  it('fails with REINJECT_TEMPFAIL after commandTimeoutMs when the server never answers', async () => {
    await using raw = await startRaw({ reply: () => 'silent' });
    await using r = reinjector(raw.port, { commandTimeoutMs: 150 });
    const started = Date.now();
    const err = await failure(
      r.send({ mailFrom: 'a@example.org', rcpt: ['b@example.net'] }, Buffer.from('x\r\n')),
    );
    expect(err.code).toBe('REINJECT_TEMPFAIL');
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('fails with REINJECT_TEMPFAIL on a 421 in the middle of a transaction, and when nobody listens', async () => {
    await using raw = await startRaw({
      reply: (command) => (command.startsWith('RCPT') ? '421 4.3.2 shutting down' : undefined),
    });
    await using r = reinjector(raw.port);
    const err = await failure(
      r.send({ mailFrom: 'a@example.org', rcpt: ['b@example.net'] }, Buffer.from('x\r\n')),
    );
    expect(err).toMatchObject({ code: 'REINJECT_TEMPFAIL', smtpReply: '421 4.3.2 shutting down' });

    const closed = createServer();
    const port = await listen(closed);
    await new Promise((resolve) => closed.close(resolve));
    await using nobody = reinjector(port);
    const refused = await failure(
      nobody.send({ mailFrom: 'a@example.org', rcpt: ['b@example.net'] }, Buffer.from('x\r\n')),
    );
    expect(refused.code).toBe('REINJECT_TEMPFAIL');
    expect(refused.message).toMatch(/ECONNREFUSED/);
  });

  it('refuses bad options at construction', () => {
    expect(() => createReinjector({ host: '127.0.0.1', port: 10026, poolSize: 0 })).toThrow(/poolSize/);
    expect(() => createReinjector({ host: '127.0.0.1', port: 0 })).toThrow(/port/);
    expect(() => createReinjector({ host: '127.0.0.1', port: 10026, heloName: 'a b' })).toThrow(/heloName/);
    expect(() => createReinjector({ host: '127.0.0.1', port: 10026, commandTimeoutMs: 0 })).toThrow(
      /timeouts/,
    );
  });
});
