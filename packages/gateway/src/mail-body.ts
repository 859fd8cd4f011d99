import { isAscii } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { PsfError } from '@psf/protocol';

export interface SpoolOptions {
  /** Mails up to this size stay in memory; bigger ones go to a file in `dir`. Default 256 KiB. */
  memoryBytes?: number;
  /** Of a spooled mail, the bytes kept in memory for the header rewrite. Default 64 KiB. */
  headBytes?: number;
  /** Where big mails are spooled (mode 0600 files, removed after the mail). Default the OS temp dir. */
  dir?: string;
}

/**
 * A received mail: all of it in memory when small, else the whole of it in a spool file and its
 * first `headBytes` in memory (for the header rewrite and the logs). So a hundred sessions with a
 * 50 MB mail each hold a few MB, not 5 GB. What classifiers get is read back with prefix().
 */
export class MailBody {
  readonly size: number;
  /** The first bytes of the mail: all of it unless `spooled`. */
  readonly head: Buffer;
  /** Whether any byte is 8-bit (for BODY=8BITMIME on reinjection). */
  readonly eightBit: boolean;
  readonly #file: string | undefined;

  private constructor(size: number, head: Buffer, eightBit: boolean, file?: string) {
    this.size = size;
    this.head = head;
    this.eightBit = eightBit;
    this.#file = file;
  }

  static fromBuffer(raw: Buffer): MailBody {
    return new MailBody(raw.length, raw, !isAscii(raw));
  }

  /** Reads `input` to its end, spooling to disk past `memoryBytes`. */
  static async receive(input: Readable, options: SpoolOptions = {}): Promise<MailBody> {
    const limit = options.memoryBytes ?? 256 * 1024;
    const headBytes = Math.min(limit, options.headBytes ?? 64 * 1024);
    const chunks: Buffer[] = [];
    let held = 0; // bytes in chunks
    let size = 0;
    let eightBit = false;
    let file: string | undefined;
    let out: WriteStream | undefined;
    try {
      for await (const chunk of input as AsyncIterable<Buffer>) {
        eightBit ||= !isAscii(chunk);
        if (!out && size + chunk.length > limit) {
          file = join(options.dir ?? tmpdir(), `psf-${randomBytes(9).toString('base64url')}.eml`);
          out = createWriteStream(file, { mode: 0o600, flags: 'wx' });
          for (const c of chunks) out.write(c);
          // From now on only the head stays in memory (a copy: the chunks go with the writes).
          const head = Buffer.from(Buffer.concat(chunks).subarray(0, headBytes));
          chunks.splice(0, chunks.length, head);
          held = head.length;
        }
        size += chunk.length;
        if (out && !out.write(chunk)) await once(out, 'drain');
        // In memory: all of a small mail, the head of a big one.
        if (held < (out ? headBytes : limit)) {
          chunks.push(chunk);
          held += chunk.length;
        }
      }
      if (out) {
        out.end();
        await once(out, 'finish');
      }
    } catch (err) {
      input.resume(); // let the SMTP session read the rest and answer
      out?.destroy();
      if (file) await rm(file, { force: true });
      throw err instanceof PsfError
        ? err
        : new PsfError('BAD_REQUEST', 'could not receive the mail', { cause: err });
    }
    // A copy, so the rest of the last chunk is not kept alive with it.
    const head = file ? Buffer.from(Buffer.concat(chunks).subarray(0, headBytes)) : Buffer.concat(chunks);
    return new MailBody(size, head, eightBit, file);
  }

  get spooled(): boolean {
    return this.#file !== undefined;
  }

  /** The first `n` bytes (all of a smaller mail), read back from the spool if need be. */
  async prefix(n: number): Promise<Buffer> {
    if (!this.#file || n <= this.head.length) return this.head.subarray(0, n);
    const file = await open(this.#file, 'r');
    try {
      const buf = Buffer.allocUnsafe(Math.min(n, this.size));
      const { bytesRead } = await file.read(buf, 0, buf.length, 0);
      return buf.subarray(0, bytesRead);
    } finally {
      await file.close();
    }
  }

  /** The bytes from `start` to the end. */
  stream(start = 0): Readable {
    if (!this.#file) return Readable.from([this.head.subarray(start)]);
    return createReadStream(this.#file, { start, highWaterMark: 64 * 1024 });
  }

  /** The whole mail in memory, for what needs one buffer (a quarantine message). */
  async buffer(): Promise<Buffer> {
    return this.#file ? readFile(this.#file) : this.head;
  }

  /** Removes the spool file; the body is unusable afterwards. */
  async dispose(): Promise<void> {
    if (this.#file) await rm(this.#file, { force: true });
  }
}
