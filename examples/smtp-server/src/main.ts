#!/usr/bin/env node
// A tiny SMTP server that prints what it receives: point a gateway's reinjection or a Postfix
// relayhost at it to see what psf delivers, without a real mail setup.
//   PSF_LISTEN (default 127.0.0.1:2525)
import { SMTPServer } from 'smtp-server';

const [host = '127.0.0.1', port = '2525'] = (process.env.PSF_LISTEN ?? '127.0.0.1:2525').split(':');
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  useXForward: true,
  hideDSN: false,
  logger: false,
  onData(stream, session, done) {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const end = raw.indexOf('\r\n\r\n');
      const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
      console.log(
        `--- mail from <${from}> to ${session.envelope.rcptTo.map((r) => `<${r.address}>`).join(' ')}, ${raw.length} bytes`,
      );
      console.log(end === -1 ? raw : raw.slice(0, end));
      done();
    });
  },
});
server.listen(Number(port), host, () => console.log(`listening on ${host}:${port}`));
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => server.close(() => process.exit(0)));
