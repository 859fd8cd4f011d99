import { once } from 'node:events';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { SMTPServer } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { greetAtOnce } from './prompt-greeting.js';

const servers: SMTPServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise<void>((resolve) => s.close(() => resolve()));
});

async function listen(maxClients?: number): Promise<number> {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    disableReverseLookup: true,
    logger: false,
    // As the gateway's: answered at once (smtp-server's default waits a setImmediate).
    onConnect: (_session, cb) => cb(),
    ...(maxClients ? { maxClients } : {}),
  });
  servers.push(server);
  expect(greetAtOnce(server)).toBe(true);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.server.address() as { port: number }).port;
}

/** Connects and says EHLO at once, without waiting for the greeting; returns the reply codes seen. */
async function talkFirst(port: number, lingerMs: number): Promise<string[]> {
  const client = connect(port, '127.0.0.1');
  await once(client, 'connect');
  client.write('EHLO client.example\r\n');
  let text = '';
  client.setEncoding('utf8').on('data', (chunk: string) => {
    text += chunk;
  });
  client.on('error', () => {});
  while (!/^(250|421) /m.test(text)) await Promise.race([once(client, 'data'), once(client, 'close')]);
  await sleep(lingerMs); // past smtp-server's own 100 ms timer: no second greeting
  client.destroy();
  return text.match(/^\d{3}(?= )/gm) ?? [];
}

describe('greetAtOnce', () => {
  it('greets a new session at once: a client that speaks first is answered, not told it talks too soon', async () => {
    // smtp-server alone holds the greeting 100 ms and answers a command sent before it with 421
    // "You talk too soon" (not asserted: a worker stalled for 100 ms would see the greeting first).
    // Greeted at once, the client is served, and greeted only once.
    expect(await talkFirst(await listen(), 150)).toEqual(['220', '250']);
  });

  it('keeps the 421 of a full server, without a greeting after it', async () => {
    const port = await listen(1);
    const first = connect(port, '127.0.0.1');
    await once(first, 'data');
    try {
      const codes = await talkFirst(port, 150);
      expect(codes[0]).toBe('421');
      expect(codes).not.toContain('220');
    } finally {
      first.destroy();
    }
  });
});
