import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';
import { PsfError } from '@psf/protocol';
import { BayesModel } from './model.js';
import { TOKENIZER_VERSION } from './tokenizer.js';

/**
 * File format, little-endian:
 *   0  "PSFBAYES"  magic
 *   8  u32         format version (MODEL_FORMAT_VERSION)
 *  12  u32         CRC-32 of every byte from offset 16 to the end
 *  16  u32         spam mails trained
 *  20  u32         ham mails trained
 *  24  u32         token count N
 *  28  u32         token text length T in bytes
 *  32  u32         tokenizer version the counts were made with (TOKENIZER_VERSION)
 *  36  T bytes     the tokens, UTF-8, separated by "\n" (decoded and split in one pass)
 *      0-3 bytes   zero padding to a multiple of 4
 *      N x 2 u32   spam and ham count of each token, in token order
 * Format 1 had no tokenizer version (tokens at 32): it is read as tokenizer version 1, which made it.
 */
const MAGIC = Buffer.from('PSFBAYES', 'latin1');
export const MODEL_FORMAT_VERSION = 2;
const HEADER_BYTES = 36;
const V1_HEADER_BYTES = 32;

/** Why a model file cannot be used. */
export type ModelFileProblem = 'missing' | 'unreadable' | 'not-a-model' | 'version' | 'tokenizer' | 'corrupt';

/**
 * A model file that cannot be used, with the file and the problem. Its PsfError code is `CONFIG`:
 * retrying will not help, the file must be retrained or restored.
 */
export class BayesModelError extends PsfError {
  readonly problem: ModelFileProblem;
  readonly file: string;

  constructor(problem: ModelFileProblem, file: string, detail: string, cause?: unknown) {
    super('CONFIG', `Bayes model ${file}: ${detail}`, { cause });
    this.problem = problem;
    this.file = file;
  }
}

export function encodeModel(model: BayesModel): Buffer {
  const tokens: string[] = [];
  const counts: number[] = [];
  for (const [token, spam, ham] of model.entries()) {
    if (spam === 0 && ham === 0) continue;
    tokens.push(token);
    counts.push(spam, ham);
  }
  const text = Buffer.from(tokens.join('\n'), 'utf8');
  const countsAt = HEADER_BYTES + align4(text.length);
  const buf = Buffer.alloc(countsAt + counts.length * 4);
  MAGIC.copy(buf, 0);
  buf.writeUInt32LE(MODEL_FORMAT_VERSION, 8);
  buf.writeUInt32LE(model.spamMails, 16);
  buf.writeUInt32LE(model.hamMails, 20);
  buf.writeUInt32LE(tokens.length, 24);
  buf.writeUInt32LE(text.length, 28);
  buf.writeUInt32LE(TOKENIZER_VERSION, 32);
  text.copy(buf, HEADER_BYTES);
  for (let i = 0; i < counts.length; i++) buf.writeUInt32LE(counts[i] ?? 0, countsAt + 4 * i);
  buf.writeUInt32LE(crc32(buf.subarray(16)), 12);
  return buf;
}

/** Reads a model; throws BayesModelError naming what is wrong with `buf`. `file` is for messages. */
export function decodeModel(buf: Buffer, file: string): BayesModel {
  if (!buf.subarray(0, 8).equals(MAGIC)) {
    throw new BayesModelError('not-a-model', file, 'not a psf Bayes model (bad magic)');
  }
  if (buf.length < V1_HEADER_BYTES) throw new BayesModelError('corrupt', file, 'truncated header');
  const version = buf.readUInt32LE(8);
  if (version !== MODEL_FORMAT_VERSION && version !== 1) {
    throw new BayesModelError(
      'version',
      file,
      `format version ${version}, this psf reads versions 1 and ${MODEL_FORMAT_VERSION}: retrain the model`,
    );
  }
  const headerBytes = version === 1 ? V1_HEADER_BYTES : HEADER_BYTES;
  if (buf.length < headerBytes) throw new BayesModelError('corrupt', file, 'truncated header');
  if (crc32(buf.subarray(16)) !== buf.readUInt32LE(12)) {
    throw new BayesModelError('corrupt', file, 'checksum mismatch (truncated or damaged file)');
  }
  const tokenizer = version === 1 ? 1 : buf.readUInt32LE(32);
  if (tokenizer !== TOKENIZER_VERSION) {
    throw new BayesModelError(
      'tokenizer',
      file,
      `trained with tokenizer version ${tokenizer}, this psf tokenizes with version ${TOKENIZER_VERSION}: ` +
        'retrain it (psf-bayes train)',
    );
  }
  const n = buf.readUInt32LE(24);
  const textBytes = buf.readUInt32LE(28);
  const countsAt = headerBytes + align4(textBytes);
  if (countsAt + n * 8 !== buf.length) {
    throw new BayesModelError('corrupt', file, 'sizes in the header do not match the file');
  }
  const tokens = n === 0 ? [] : buf.toString('utf8', headerBytes, headerBytes + textBytes).split('\n');
  if (tokens.length !== n) throw new BayesModelError('corrupt', file, 'token count does not match');
  const model = new BayesModel();
  model.spamMails = buf.readUInt32LE(16);
  model.hamMails = buf.readUInt32LE(20);
  for (let i = 0; i < n; i++) {
    model.set(tokens[i] ?? '', buf.readUInt32LE(countsAt + 8 * i), buf.readUInt32LE(countsAt + 8 * i + 4));
  }
  if (model.size !== n) throw new BayesModelError('corrupt', file, 'duplicate or empty tokens');
  return model;
}

export async function loadModel(file: string): Promise<BayesModel> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
    throw new BayesModelError(
      missing ? 'missing' : 'unreadable',
      file,
      missing ? 'no such file (train one first)' : 'cannot be read',
      cause,
    );
  }
  return decodeModel(buf, file);
}

/**
 * Writes a model atomically: a temporary file in the same directory, flushed, then renamed over
 * the old one, so a reader or a crash sees either the old model or the new one, never half of it.
 */
export async function saveModel(file: string, model: BayesModel): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(encodeModel(model));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}

function align4(n: number): number {
  return (n + 3) & ~3;
}
