import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { describe, expect, it } from 'vitest';
import { coalesceReplies } from './reply-coalescing.js';

type Writable = { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void };

/** An SMTP server on port 0; returns how many socket writes its replies to a pipelined group took. */
async function repliesToPipelinedGroup(coalesce: boolean): Promise<{ writes: number; replies: string }> {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    // As the gateway's: answered at once (smtp-server's defaults wait a setImmediate each).
    onMailFrom: (_address, _session, cb) => cb(),
    onRcptTo: (_address, _session, cb) => cb(),
  });
  if (coalesce) coalesceReplies(server.server);
  let writes = 0;
  server.server.on('connection', (socket: Socket) => {
    const s = socket as unknown as Writable;
    for (const key of ['_write', '_writev'] as const) {
      const inner = s[key];
      s[key] = function (this: Writable, ...args: unknown[]) {
        writes++;
        return inner.apply(this, args);
      };
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as { port: number };
  const client = connect(port, '127.0.0.1');
  let text = '';
  client.setEncoding('utf8').on('data', (chunk: string) => {
    text += chunk;
  });
  try {
    while (!text.includes('\r\n')) await once(client, 'data');
    const afterBanner = writes;
    client.write('EHLO client\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n');
    while (!text.includes('354')) await once(client, 'data');
    return { writes: writes - afterBanner, replies: text };
  } finally {
    client.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe('coalesceReplies', () => {
  it('answers a pipelined EHLO, MAIL, RCPT, DATA in one write instead of four', async () => {
    const plain = await repliesToPipelinedGroup(false);
    const coalesced = await repliesToPipelinedGroup(true);
    expect(plain.writes).toBe(4);
    expect(coalesced.writes).toBe(1);
    // The same replies, in order.
    for (const r of [plain, coalesced])
      expect(r.replies.match(/^\d{3}(?= )/gm)).toEqual(['220', '250', '250', '250', '354']);
  });
});
