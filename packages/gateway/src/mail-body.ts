import { isAscii } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { PsfError } from '@psf/protocol';

export interface SpoolOptions {
  /** Mails up to this size stay in memory; bigger ones go to a file in `dir`. Default 1 MiB. */
  memoryBytes?: number;
  /** Where big mails are spooled (mode 0600 files, removed after the mail). Default the OS temp dir. */
  dir?: string;
}

/** The spool settings a gateway or pipe uses: memory enough for what classifiers are sent. */
export function spoolOptions(options: { spool?: SpoolOptions; maxScanBytes?: number }): SpoolOptions {
  const memoryBytes = Math.max(
    options.spool?.memoryBytes ?? 1024 * 1024,
    options.maxScanBytes ?? 1024 * 1024,
  );
  return { ...options.spool, memoryBytes };
}

/**
 * A received mail: all of it in memory when small, else its first `memoryBytes` in memory (for
 * the classifiers and the header rewrite) and the whole of it in a spool file. So a hundred
 * sessions with a 50 MB mail each hold a few MB, not 5 GB.
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
    const limit = options.memoryBytes ?? 1024 * 1024;
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
        }
        size += chunk.length;
        if (out && !out.write(chunk)) await once(out, 'drain');
        // In memory: all of a small mail, the head of a big one.
        if (held < limit) {
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
    const all = Buffer.concat(chunks);
    return new MailBody(size, file ? all.subarray(0, limit) : all, eightBit, file);
  }

  get spooled(): boolean {
    return this.#file !== undefined;
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
