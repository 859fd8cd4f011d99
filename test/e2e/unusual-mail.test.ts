import { createServer, type Socket } from 'node:net';
import { openSmtp } from '@psf/testkit';
import { describe, expect, it } from 'vitest';
import { header, startChain, throughPostfix } from './chain.js';

/** What follows the header block (the first empty line). */
const bodyOf = (raw: Buffer) => raw.subarray(raw.indexOf('\r\n\r\n') + 4);

describe('unusual mail through a real Postfix (after-queue content_filter)', () => {
  it('delivers an 8-bit UTF-8 body (BODY=8BITMIME) byte for byte', async () => {
    await using t = await throughPostfix();
    const body = Buffer.from(
      'Grüße aus Köln: naïve café, Ελληνικά, русский, 日本語, 🙂\r\n' +
        '\r\n' +
        '.a line that starts with a dot\r\n' +
        '.\r\n' + // a lone dot: dot-stuffed and unstuffed on each of the four SMTP hops
        'From here on, no mbox quoting: SMTP all the way\r\n' +
        'trailing white space \t \r\n' +
        `${'ü'.repeat(400)}\r\n` + // 800 bytes: below smtp_line_length_limit (998), so not folded
        'Ende.\r\n',
      'utf8',
    );
    const head =
      'From: <sender@example.net>\r\nTo: <alice@example.org>\r\nSubject: 8bit\r\n' +
      'Message-ID: <8bit-1@example.net>\r\nMIME-Version: 1.0\r\n' +
      'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n';
    await using s = await openSmtp(t.pf.publicPort, 'client.test');
    const reply = await s.send({
      from: 'sender@example.net',
      to: ['alice@example.org'],
      params: 'BODY=8BITMIME',
      raw: Buffer.concat([Buffer.from(head), body]),
    });
    expect(reply.code).toBe(250);
    const [m] = await t.sink.waitFor(1, 15_000);
    expect(header(m!.raw, 'X-PSF-Status')).toBe('clean; action=accept'); // it went through psf
    // Every hop announces 8BITMIME, so Postfix never downgrades to quoted-printable.
    expect(header(m!.raw, 'Content-Transfer-Encoding')).toBe('8bit');
    expect(bodyOf(m!.raw).equals(body)).toBe(true);
  });

  it('delivers an SMTPUTF8 envelope with its UTF-8 Subject unchanged', async () => {
    await using t = await throughPostfix();
    // smtputf8_enable defaults to yes from compatibility_level 1 on (the kit sets 3.6): the
    // public smtpd must say so, or the MAIL below would be refused.
    await using s = await openSmtp(t.pf.publicPort, 'client.test');
    const ehlo = await s.command('EHLO client.test'); // again, to read the extensions
    expect(ehlo.code).toBe(250);
    expect(ehlo.text).toMatch(/^SMTPUTF8$/m);
    const subject = 'Grüße an Zoë ✓';
    const raw = Buffer.from(
      `From: Jürgen <jürgen@exämple.org>\r\nTo: <zoë@example.org>\r\nSubject: ${subject}\r\n` +
        'Message-ID: <utf8-1@example.net>\r\nMIME-Version: 1.0\r\n' +
        'Content-Type: text/plain; charset=utf-8\r\n\r\nHallo Zoë!\r\n',
      'utf8',
    );
    const reply = await s.send({
      from: 'jürgen@exämple.org',
      to: ['zoë@example.org'],
      params: 'SMTPUTF8',
      raw,
    });
    expect(reply.code).toBe(250);
    const [m] = await t.sink.waitFor(1, 15_000);
    // Were it refused on the way, its bounce (null sender, to jürgen) would be here instead.
    expect([m!.mailFrom, m!.rcpt]).toEqual(['jürgen@exämple.org', ['zoë@example.org']]);
    // header() reads latin1: back to the UTF-8 bytes it was.
    expect(Buffer.from(header(m!.raw, 'Subject')!, 'latin1').toString('utf8')).toBe(subject);
    expect(header(m!.raw, 'X-PSF-Status')).toBe('clean; action=accept');
  });
});

/**
 * A reinjection server that records the exact bytes of each DATA section: from after the 354 up
 * to the terminating `.\r\n` (the CRLF before that dot ends the last line and is kept). It accepts
 * everything; a bare LF before the dot does not end the data here, so it would show in the record.
 */
async function startRawTarget() {
  const commands: string[] = [];
  const messages: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buf = Buffer.alloc(0);
    let inData = false;
    socket.write('220 raw.test ESMTP\r\n');
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        if (inData) {
          const end = buf.indexOf('\r\n.\r\n');
          if (end === -1) return;
          messages.push(buf.subarray(0, end + 2));
          buf = buf.subarray(end + 5);
          inData = false;
          socket.write('250 2.0.0 Ok: queued\r\n');
          continue;
        }
        const nl = buf.indexOf('\r\n');
        if (nl === -1) return;
        const line = buf.subarray(0, nl).toString('latin1');
        buf = buf.subarray(nl + 2);
        commands.push(line);
        const verb = line.slice(0, 4).toUpperCase();
        // No PIPELINING offered: the client sends one command at a time.
        if (verb === 'EHLO') socket.write('250-raw.test\r\n250 8BITMIME\r\n');
        else if (verb === 'DATA') {
          inData = true;
          socket.write('354 go ahead\r\n');
        } else if (verb === 'QUIT') socket.end('221 bye\r\n');
        else socket.write('250 Ok\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    commands,
    messages,
    async [Symbol.asyncDispose]() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('unusual line endings, straight to the gateway', () => {
  it('reinjects bare CR and LF as CRLF and delivers a smuggling attempt as one mail', async () => {
    await using target = await startRawTarget();
    await using chain = await startChain({ reinjectPort: target.port });
    // What smtp-server (the gateway's SMTP library, smtp-stream.js) does with the data: only the
    // exact `\r\n.\r\n` ends it, so `\n.\r\n` and `\r.\r` are content; a dot is unstuffed only
    // after an LF (CRLF or bare). Bare CR and LF reach the gateway as they are, and it turns each
    // into CRLF and dot-stuffs the lines that then start with a dot (toSmtpData), so the smuggled
    // commands stay text in the one mail instead of becoming a second transaction at Postfix.
    const smuggled = (n: number) =>
      `MAIL FROM:<evil${n}@attacker.test>\r\nRCPT TO:<victim${n}@example.org>\r\nDATA\r\n` +
      `Subject: smuggled ${n}\r\n\r\nsecond mail ${n}\r\n`;
    const body =
      'a bare LF\nand a bare CR\rthen CRLF\r\n' +
      `smuggling with LF dot CRLF\n.\r\n${smuggled(1)}` +
      `smuggling with CR dot CR\r.\r${smuggled(2)}` +
      'last line\r\n';
    const head = 'From: <s@example.net>\r\nTo: <alice@example.org>\r\nSubject: line ends\r\n\r\n';
    await using s = await openSmtp(chain.gateway.address.port);
    const reply = await s.send({
      from: 's@example.net',
      to: ['alice@example.org'],
      raw: `${head}${body}.\r\n`,
      verbatim: true,
    });
    expect(reply.code).toBe(250);
    // The reply stream is in step: no answers to smuggled commands are waiting in it.
    expect((await s.command('NOOP')).code).toBe(250);

    expect(target.messages).toHaveLength(1);
    expect(target.commands.filter((c) => /^(MAIL|DATA)/i.test(c))).toEqual([
      'MAIL FROM:<s@example.net>',
      'DATA',
    ]);
    const wire = target.messages[0]!.toString('latin1');
    expect(wire).not.toMatch(/\r(?!\n)|(?<!\r)\n/); // no bare CR, no bare LF
    const expected = body.replace(/\r\n|\r|\n/g, '\r\n').replace(/^\./gm, '..');
    expect(bodyOf(target.messages[0]!).toString('latin1')).toBe(expected);
    expect(expected).toContain('\r\n..\r\nMAIL FROM:<evil1@attacker.test>\r\n');
    expect(expected).toContain('\r\n..\r\nMAIL FROM:<evil2@attacker.test>\r\n');
    expect(header(target.messages[0]!, 'X-PSF-Status')).toBe('clean; action=accept');
  });
});
