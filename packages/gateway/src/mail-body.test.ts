import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MailBody } from './mail-body.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'psf-spool-test-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const chunked = (data: Buffer, size: number) =>
  Readable.from(
    Array.from({ length: Math.ceil(data.length / size) }, (_, i) => data.subarray(i * size, (i + 1) * size)),
  );

describe('MailBody', () => {
  it('keeps a small mail in memory', async () => {
    const body = await MailBody.receive(chunked(Buffer.from('Subject: x\r\n\r\nhi\r\n'), 5), {
      memoryBytes: 100,
      dir,
    });
    expect(body.spooled).toBe(false);
    expect(body.head.toString()).toBe('Subject: x\r\n\r\nhi\r\n');
    expect(body.eightBit).toBe(false);
    expect(await readdir(dir)).toEqual([]);
  });

  it('spools a big mail to a private file, keeping its head in memory, and removes it on dispose', async () => {
    const data = Buffer.concat([
      Buffer.from('Subject: big\r\n\r\n'),
      Buffer.alloc(300_000, 'x'),
      Buffer.from([0xe9]),
    ]);
    const body = await MailBody.receive(chunked(data, 4096), { memoryBytes: 10_000, dir });
    expect(body.spooled).toBe(true);
    expect(body.size).toBe(data.length);
    expect(body.eightBit).toBe(true);
    expect(body.head.equals(data.subarray(0, 10_000))).toBe(true);
    const [file] = await readdir(dir);
    expect((await stat(join(dir, file!))).mode & 0o777).toBe(0o600);
    expect((await buffer(body.stream(17))).equals(data.subarray(17))).toBe(true);
    expect((await body.buffer()).equals(data)).toBe(true);
    await body.dispose();
    expect(await readdir(dir)).toEqual([]);
  });

  it('keeps only headBytes of a spooled mail in memory, and reads longer prefixes back from the spool', async () => {
    const data = Buffer.from('0123456789'.repeat(3000));
    const body = await MailBody.receive(chunked(data, 700), { memoryBytes: 5000, headBytes: 1000, dir });
    expect(body.head.length).toBe(1000);
    expect((await body.prefix(500)).equals(data.subarray(0, 500))).toBe(true);
    expect((await body.prefix(20_000)).equals(data.subarray(0, 20_000))).toBe(true);
    expect((await body.prefix(99_999)).equals(data)).toBe(true);
    await body.dispose();
  });

  it('removes the spool file when the mail cannot be received in full', async () => {
    async function* broken() {
      yield Buffer.alloc(50_000, 'x');
      throw new Error('client went away');
    }
    await expect(MailBody.receive(Readable.from(broken()), { memoryBytes: 1000, dir })).rejects.toMatchObject(
      {
        code: 'BAD_REQUEST',
      },
    );
    expect(await readdir(dir)).toEqual([]);
  });
});
