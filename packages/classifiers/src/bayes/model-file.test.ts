import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BayesModel } from './model.js';
import { BayesModelError, decodeModel, encodeModel, loadModel, saveModel } from './model-file.js';
import { openBayes } from './store.js';

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
    const v2 = Buffer.from(good);
    v2.writeUInt32LE(2, 8);
    await writeFile(file, v2);
    expect(await problemOf(loadModel(file))).toBe('version');
    const flipped = Buffer.from(good);
    flipped[40] = (flipped[40] ?? 0) ^ 0xff;
    await writeFile(file, flipped);
    expect(await problemOf(loadModel(file))).toBe('corrupt');
    await writeFile(file, good.subarray(0, good.length - 4));
    expect(await problemOf(loadModel(file))).toBe('corrupt');
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
