import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The mails a load run sends, in turn: `next(i)` is the i-th mail (sources cycle). */
export interface MailSource {
  next(i: number): Buffer;
  /** Average size in bytes, for the report. */
  averageSize: number;
}

/**
 * Generated mails of about `size` bytes: headers with a unique Message-ID each, then a body of
 * 76-column base64-alphabet lines (like smtp-source's `-l`, but a well-formed mail).
 */
export function generatedMails(size: number, from = 'load@example.net'): MailSource {
  const line = `${randomBytes(57).toString('base64')}\r\n`;
  const body = Buffer.from(line.repeat(Math.max(1, Math.ceil(size / line.length))));
  const run = randomBytes(6).toString('hex');
  return {
    averageSize: size,
    next(i) {
      const head =
        `From: <${from}>\r\nTo: <load@example.org>\r\nSubject: psf load ${i}\r\n` +
        `Message-ID: <${run}.${i}@load.psf>\r\nDate: ${new Date().toUTCString()}\r\n\r\n`;
      return Buffer.concat([Buffer.from(head), body.subarray(0, Math.max(0, size - head.length))]);
    },
  };
}

/** mbox's "From " separator line, which raw corpora carry and SMTP must not. */
const MBOX_FROM = /^From [^\r\n]*\r?\n/;

/**
 * Every `.eml` or `.txt` file of a folder (sorted, read once into memory), with line ends made
 * CRLF and a leading mbox "From " line removed: the SpamAssassin corpus, say.
 */
export async function folderMails(dir: string, limit = 10_000): Promise<MailSource> {
  const names = (await readdir(dir))
    .filter((f) => /\.(eml|txt)$/.test(f))
    .sort()
    .slice(0, limit);
  if (names.length === 0) throw new Error(`no .eml or .txt files in ${dir}`);
  const mails = await Promise.all(
    names.map(async (f) => {
      const text = (await readFile(join(dir, f), 'latin1')).replace(MBOX_FROM, '');
      return Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'latin1');
    }),
  );
  return {
    averageSize: Math.round(mails.reduce((n, m) => n + m.length, 0) / mails.length),
    next: (i) => mails[i % mails.length] as Buffer,
  };
}
