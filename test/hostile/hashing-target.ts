import { createHash, type Hash } from 'node:crypto';
import { createServer, type Socket } from 'node:net';

export interface HashedMail {
  /** Bytes from the first `start` marker to the end of the data (its final CRLF included). */
  bytes: number;
  sha256: string;
  /** What came before the marker: the gateway's header fields. */
  prefix: string;
}

/**
 * A reinjection target for huge mails: it hashes each DATA section as it streams in instead of
 * keeping it, so a 50 MB mail costs the test process no memory. Hashing starts at `start` (the
 * mail's first line), which leaves out the fields the gateway prepends. No PIPELINING offered.
 */
export async function startHashingTarget(start: string) {
  const mails: HashedMail[] = [];
  const sockets = new Set<Socket>();
  const marker = Buffer.from(start, 'latin1');
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let commands = Buffer.alloc(0);
    let inData = false;
    let tail = Buffer.alloc(0); // last bytes of data, held until we know they are not the terminator
    let prefix = Buffer.alloc(0);
    let hash: Hash | undefined;
    let bytes = 0;
    const feed = (b: Buffer) => {
      if (hash) {
        hash.update(b);
        bytes += b.length;
        return;
      }
      prefix = Buffer.concat([prefix, b]);
      const at = prefix.indexOf(marker);
      if (at === -1) return;
      hash = createHash('sha256');
      feed(prefix.subarray(at));
      prefix = prefix.subarray(0, at);
    };
    socket.write('220 hash.test ESMTP\r\n');
    socket.on('data', (chunk: Buffer) => {
      let rest = chunk;
      while (rest.length) {
        if (inData) {
          const window = Buffer.concat([tail, rest]);
          const end = window.indexOf('\r\n.\r\n');
          if (end === -1) {
            feed(window.subarray(0, Math.max(0, window.length - 4)));
            tail = window.subarray(Math.max(0, window.length - 4));
            return;
          }
          feed(window.subarray(0, end + 2));
          mails.push({ bytes, sha256: hash?.digest('hex') ?? '', prefix: prefix.toString('latin1') });
          [inData, hash, bytes, prefix] = [false, undefined, 0, Buffer.alloc(0)];
          rest = window.subarray(end + 5);
          socket.write('250 2.0.0 Ok: hashed\r\n');
          continue;
        }
        commands = Buffer.concat([commands, rest]);
        rest = Buffer.alloc(0);
        for (let nl = commands.indexOf('\r\n'); nl !== -1 && !inData; nl = commands.indexOf('\r\n')) {
          const verb = commands.subarray(0, 4).toString('latin1').toUpperCase();
          commands = commands.subarray(nl + 2);
          if (verb === 'EHLO') socket.write('250-hash.test\r\n250 8BITMIME\r\n');
          else if (verb === 'QUIT') socket.end('221 bye\r\n');
          else if (verb === 'DATA') {
            inData = true;
            tail = Buffer.from('\r\n'); // so data that is only `.\r\n` ends too
            socket.write('354 go ahead\r\n');
          } else socket.write('250 Ok\r\n');
        }
        if (inData) [rest, commands] = [commands, Buffer.alloc(0)];
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    mails,
    async [Symbol.asyncDispose]() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
