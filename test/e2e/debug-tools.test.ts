import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { assertTopology, assertUserQueue } from '@psf/broker';
import { createVhost } from '@psf/testkit';
import amqp from 'amqplib';
import { describe, expect, it, vi } from 'vitest';

// The seed's sendmq and recvmq: psf-broker send and psf-client recv (built dist/, as npm test builds).
const bin = (pkg: string, file: string) =>
  fileURLToPath(new URL(`../../packages/${pkg}/dist/${file}`, import.meta.url));

describe('tools for people debugging mail', () => {
  it("psf-broker send asks an owner's classifier; psf-client recv shows the request and answers", async () => {
    await using vhost = await createVhost();
    const admin = await amqp.connect(vhost.url);
    const ch = await admin.createChannel();
    await assertTopology(ch);
    const queue = await assertUserQueue(ch, 'dora@example.org');
    const env = { ...process.env, PSF_AMQP_URL: vhost.url };
    const recv = spawn(
      process.execPath,
      [bin('client-sdk', 'recv-cli.js'), 'recv', queue, '--verdict', 'tag', '--score', '7', '--count', '1'],
      { env },
    );
    let printed = '';
    recv.stdout.on('data', (b: Buffer) => {
      printed += b.toString();
    });
    try {
      await vi.waitFor(async () => expect((await ch.checkQueue(queue)).consumerCount).toBe(1), {
        timeout: 10_000,
      });
      const verdict = await new Promise<string>((resolve, reject) => {
        const send = execFile(
          process.execPath,
          [bin('broker', 'cli.js'), 'send', 'dora@example.org', '-f', 'eve@example.net'],
          { env, timeout: 20_000 },
          (err, stdout, stderr) => (err ? reject(new Error(`${err.message}: ${stderr}`)) : resolve(stdout)),
        );
        send.stdin?.end('Subject: debug me\x1b[2J\r\nFrom: eve@example.net\r\n\r\nhello\r\n');
      });
      expect(JSON.parse(verdict)).toEqual({ v: 1, action: 'tag', score: 7 });
      await new Promise((r) => (recv.exitCode === null ? recv.once('exit', r) : r(null)));
      expect(recv.exitCode).toBe(0);
      expect(printed).toMatch(/"mailFrom":"eve@example.net","rcpt":\["dora@example.org"\]/);
      // The sender's terminal escape is shown as ?, not sent to the terminal.
      expect(printed).toMatch(/^ {2}Subject: debug me\?\[2J$/m);
      expect(printed).not.toContain('\x1b');
    } finally {
      recv.kill();
      await admin.close();
    }
  });

  it('psf-broker send exits 75 with the reason when no verdict comes in time', async () => {
    await using vhost = await createVhost();
    const admin = await amqp.connect(vhost.url);
    await assertTopology(await admin.createChannel());
    await admin.close();
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const send = execFile(
        process.execPath,
        [bin('broker', 'cli.js'), 'send', 'nobody@example.org', '--timeout', '500'],
        { env: { ...process.env, PSF_AMQP_URL: vhost.url }, timeout: 20_000 },
        (err, _stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stderr }),
      );
      send.stdin?.end('Subject: x\r\n\r\nx\r\n');
    });
    expect(result.code).toBe(75);
    expect(result.stderr).toMatch(/no verdict/);
  });
});
