import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startSink, startSmtpSink } from '@psf/testkit';
import { describe, expect, it } from 'vitest';
import { runLoad } from './load.js';
import { folderMails, generatedMails } from './mail-source.js';

const base = { host: '127.0.0.1', from: 'load@example.net', to: ['rcpt@example.org'] };

describe('psf-send-loop', () => {
  it('sends every mail over parallel sessions and counts refusals by code', async () => {
    let n = 0;
    await using sink = await startSink({
      reply: () => (++n % 10 === 0 ? { code: 451, message: '4.3.0 try later' } : undefined),
    });
    const report = await runLoad({
      ...base,
      port: sink.port,
      count: 200,
      sessions: 8,
      mails: generatedMails(4096),
    });
    expect(report).toMatchObject({
      sent: 200,
      done: 200,
      accepted: 180,
      refused: 20,
      errors: 0,
      refusedBy: { 451: 20 },
    });
    expect(sink.mails).toHaveLength(180);
    expect(new Set(sink.mails.map((m) => m.raw.toString().match(/^Message-ID: (.*)$/m)?.[1])).size).toBe(180);
    expect(sink.mails[0]?.raw.length).toBeGreaterThanOrEqual(4000);
    expect(report.latencyMs.p50).toBeGreaterThan(0);
    expect(report.latencyMs.p99).toBeGreaterThanOrEqual(report.latencyMs.p50);
  });

  it('keeps to a target rate', async () => {
    await using sink = await startSink();
    const report = await runLoad({
      ...base,
      port: sink.port,
      count: 40,
      sessions: 4,
      rate: 40,
      mails: generatedMails(512),
    });
    expect(report.accepted).toBe(40);
    // 40 mails at 40/s: the last one is scheduled at 0.975 s, so no faster than that.
    expect(report.seconds).toBeGreaterThanOrEqual(0.97);
  });

  it('counts a server that is not there as errors, bounded', async () => {
    const report = await runLoad({
      ...base,
      port: await freePort(),
      count: 5,
      sessions: 2,
      mails: generatedMails(100),
    });
    expect(report).toMatchObject({ done: 5, accepted: 0, errors: 5 });
    expect(report.errorSamples[0]).toMatch(/ECONNREFUSED/);
  });

  it('reads a folder of real mails, dropping the mbox From line and making lines CRLF', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'psf-load-'));
    try {
      await writeFile(
        join(dir, '0001.txt'),
        'From someone@x Mon Jan  1 00:00:00 2001\nSubject: one\n\nbody\n',
      );
      await writeFile(join(dir, '0002.eml'), 'Subject: two\r\n\r\nbody\r\n');
      await writeFile(join(dir, 'notes.md'), 'ignored');
      const source = await folderMails(dir);
      expect(source.next(0).toString()).toBe('Subject: one\r\n\r\nbody\r\n');
      expect(source.next(3).toString()).toBe('Subject: two\r\n\r\nbody\r\n');
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  // Postfix's smtp-sink is the reference server: it counts what it received.
  it("agrees with Postfix's smtp-sink on the number of mails delivered", async () => {
    const sink = await startSmtpSink();
    try {
      const report = await runLoad({
        ...base,
        port: sink.port,
        count: 300,
        sessions: 10,
        mails: generatedMails(4096),
      });
      expect(report).toMatchObject({ accepted: 300, errors: 0 });
      await sink.waitFor(300, 5000);
      expect(sink.count()).toBe(300);
    } finally {
      await sink.stop();
    }
  });
});
