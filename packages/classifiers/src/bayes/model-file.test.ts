import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BayesModel } from './model.js';
import { BayesModelError, decodeModel, encodeModel, loadModel, saveModel } from './model-file.js';
import { openBayes } from './store.js';
import { TOKENIZER_VERSION } from './tokenizer.js';

const cli = fileURLToPath(new URL('../../dist/bayes/cli.js', import.meta.url));

function sample(): BayesModel {
  const m = new BayesModel();
  m.learn(['free', 'money', 'subject:win', 'url:ünïcode.example'], 'spam', 3);
  m.learn(['meeting', 'money', 'from:addr:bob@example.org'], 'ham');
  return m;
}

async function problemOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BayesModelError);
  expect((err as BayesModelError).code).toBe('CONFIG');
  return (err as BayesModelError).problem;
}

describe('model file', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'psf-bayes-file-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trips counts, mail totals and non-ASCII tokens, leaving no temporary file', async () => {
    const file = join(dir, 'm.psfbayes');
    await saveModel(file, sample());
    const back = await loadModel(file);
    expect([...back.entries()].sort()).toEqual([...sample().entries()].sort());
    expect([back.spamMails, back.hamMails]).toEqual([3, 1]);
    expect(await readdir(dir)).toEqual(['m.psfbayes']);
    expect(decodeModel(encodeModel(new BayesModel()), 'empty').size).toBe(0);
  });

  it('names what is wrong: missing, not a model, other version, damaged or truncated', async () => {
    const file = join(dir, 'm.psfbayes');
    expect(await problemOf(loadModel(file))).toBe('missing');
    const good = encodeModel(sample());
    await writeFile(file, '{"not":"a model"}');
    expect(await problemOf(loadModel(file))).toBe('not-a-model');
    const v3 = Buffer.from(good);
    v3.writeUInt32LE(3, 8);
    await writeFile(file, v3);
    expect(await problemOf(loadModel(file))).toBe('version');
    const flipped = Buffer.from(good);
    flipped[40] = (flipped[40] ?? 0) ^ 0xff;
    await writeFile(file, flipped);
    expect(await problemOf(loadModel(file))).toBe('corrupt');
    await writeFile(file, good.subarray(0, good.length - 4));
    expect(await problemOf(loadModel(file))).toBe('corrupt');
  });

  it('refuses a model of another tokenizer version, telling to retrain', async () => {
    const file = join(dir, 'm.psfbayes');
    const other = encodeModel(sample());
    expect(other.readUInt32LE(32)).toBe(TOKENIZER_VERSION);
    other.writeUInt32LE(TOKENIZER_VERSION + 1, 32);
    other.writeUInt32LE(crc32(other.subarray(16)), 12);
    await writeFile(file, other);
    const err = await loadModel(file).catch((e: unknown) => e);
    expect(err).toMatchObject({ problem: 'tokenizer', code: 'CONFIG' });
    expect((err as Error).message).toMatch(
      new RegExp(
        `tokenizer version ${TOKENIZER_VERSION + 1}, .* version ${TOKENIZER_VERSION}: retrain it \\(psf-bayes train\\)`,
      ),
    );
  });

  it('takes a format-1 file (no tokenizer version) as made by tokenizer version 1', async () => {
    // Format 1: the same fields without the tokenizer version, tokens at offset 32.
    const v2 = encodeModel(sample());
    const v1 = Buffer.concat([v2.subarray(0, 32), v2.subarray(36)]);
    v1.writeUInt32LE(1, 8);
    v1.writeUInt32LE(crc32(v1.subarray(16)), 12);
    if (TOKENIZER_VERSION === 1) {
      const back = decodeModel(v1, 'v1');
      expect([...back.entries()].sort()).toEqual([...sample().entries()].sort());
    } else {
      expect(await problemOf(Promise.resolve().then(() => decodeModel(v1, 'v1')))).toBe('tokenizer');
    }
  });

  it('a corrupt global model fails openBayes with a typed error, and the CLI with exit 78', async () => {
    await writeFile(join(dir, 'global.psfbayes'), encodeModel(sample()).subarray(0, 30));
    expect(await problemOf(openBayes({ models: dir }))).toBe('corrupt');
    const run = spawnSync(process.execPath, [cli, 'check', '--model', join(dir, 'global.psfbayes')], {
      input: 'Subject: hi\r\n\r\nhello\r\n',
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.status).toBe(78);
    expect(run.stderr).toMatch(/Bayes model .*global\.psfbayes: truncated header/);
    expect(await readFile(join(dir, 'global.psfbayes'))).toHaveLength(30);
  });
});
