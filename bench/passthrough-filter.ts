// The floor for a content filter in Postfix's 10025/10026 loop: smtp-server in, psf's Reinjector
// out, no classification and no broker. What the chain bench compares the gateway with.
import type { AddressInfo } from 'node:net';
import { greetAtOnce, Reinjector, type XForward } from '@psf/gateway';
import { SMTPServer } from 'smtp-server';

export interface Passthrough {
  port: number;
  /** SMTP sessions Postfix opened so far. */
  sessions(): number;
  close(): Promise<void>;
}

export async function startPassthrough(listenPort: number, reinjectPort: number): Promise<Passthrough> {
  const reinjector = new Reinjector({ host: '127.0.0.1', port: reinjectPort });
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    hideSTARTTLS: true,
    useXForward: true,
    disableReverseLookup: true,
    logger: false,
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const map = (session as unknown as { xForward?: Map<string, string | false> }).xForward;
        const x: XForward = {};
        for (const [k, v] of map ?? []) if (v !== false) x[k.toLowerCase() as keyof XForward] = String(v);
        const envelope = {
          mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          rcpt: session.envelope.rcptTo.map((r) => r.address),
        };
        reinjector.send(envelope, Buffer.concat(chunks), x).then(
          () => cb(null, 'Ok: passed through'),
          (err: Error) => cb(Object.assign(new Error(`4.3.0 ${err.message}`), { responseCode: 451 })),
        );
      });
    },
  });
  // As the gateway: no 100 ms early-talker pause before the greeting of Postfix's connections.
  greetAtOnce(server);
  let sessions = 0;
  server.server.on('connection', () => sessions++);
  await new Promise<void>((resolve) => server.listen(listenPort, '127.0.0.1', resolve));
  return {
    port: (server.server.address() as AddressInfo).port,
    sessions: () => sessions,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await reinjector.close();
    },
  };
}
