// Our Bayes classifier vs bogofilter on the SpamAssassin public corpus, same split for both.
//   npx tsc -b && npx tsx bench/spam-corpus.ts [--tag-at T] [--tune [--folds 4] [--repeats 1]] [--whole [--folds 10]] [--online [--stream-salt S]]
// Default: train on the train part (70% of each folder), classify the test part (30%).
// --tune: cross-validation on the train part only (the test part is not read): a grid of
// thresholds and scoring settings. --whole: cross-validation over the whole corpus at the default
// settings, extra evidence only. --online: the test part as one owner's mail stream, each wrong
// verdict corrected by that owner, extra evidence only. See bench/spam-corpus-split.ts for the split.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BayesModel,
  BayesStore,
  DEFAULT_SCORING,
  DEFAULT_TAG_AT,
  GLOBAL_MODEL,
  loadModel,
  rawMail,
  type ScoringOptions,
  saveModel,
  spamicity,
  tokenize,
} from '@psf/classifiers';
import { fmt, machineCpuMs, median, numberOption, option } from './lib.js';
import { type CorpusMail, dealFolds, FOLDERS, FOLDS, loadCorpus } from './spam-corpus-split.js';

const tune = process.argv.includes('--tune');
const whole = process.argv.includes('--whole');
const online = process.argv.includes('--online');
const tagAt = Number(option('tag-at', String(DEFAULT_TAG_AT)));
const TICK_MS = 1000 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim() || 100);

/** CPU ms of this process's waited-for children (bogofilter runs), from /proc. */
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  return ((f[13] ?? 0) + (f[14] ?? 0)) * TICK_MS;
}
const ownCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

interface Outcome {
  mail: CorpusMail;
  spam: boolean;
  unsure?: boolean;
}

const pct = (a: number, b: number) => (b === 0 ? 'n/a' : `${fmt((100 * a) / b, 2)}%`);

function report(name: string, outcomes: Outcome[]): void {
  const count = (f: (o: Outcome) => boolean) => outcomes.filter(f).length;
  const tp = count((o) => o.mail.label === 'spam' && o.spam);
  const fn = count((o) => o.mail.label === 'spam' && !o.spam);
  const fp = count((o) => o.mail.label === 'ham' && o.spam);
  const tn = count((o) => o.mail.label === 'ham' && !o.spam);
  console.log(`\n### ${name}\n`);
  console.log('| actual \\ predicted | spam | ham |\n| --- | --- | --- |');
  console.log(`| spam | ${tp} | ${fn} |\n| ham | ${fp} | ${tn} |\n`);
  console.log('| class | precision | recall | false-positive rate |\n| --- | --- | --- | --- |');
  console.log(`| spam | ${pct(tp, tp + fp)} | ${pct(tp, tp + fn)} | ${pct(fp, fp + tn)} |`);
  console.log(`| ham | ${pct(tn, tn + fn)} | ${pct(tn, tn + fp)} | ${pct(fn, fn + tp)} |\n`);
  const unsure = outcomes.some((o) => o.unsure !== undefined);
  console.log(
    `| folder | mails | classified spam | rate${unsure ? ' | unsure' : ''} |\n| --- | --- | --- | ---${unsure ? ' | ---' : ''} |`,
  );
  for (const folder of FOLDERS) {
    const of = outcomes.filter((o) => o.mail.folder === folder);
    const s = of.filter((o) => o.spam).length;
    const u = of.filter((o) => o.unsure).length;
    console.log(`| ${folder} | ${of.length} | ${s} | ${pct(s, of.length)}${unsure ? ` | ${u}` : ''} |`);
  }
}

/** Spamicities of `mails`, each fold's by a model trained on the other folds, for every variant. */
function crossScores(
  mails: CorpusMail[],
  tokens: string[][],
  folds: number[],
  k: number,
  variants: ScoringOptions[],
): number[][] {
  const ps = variants.map(() => new Array<number>(mails.length).fill(0));
  for (let f = 0; f < k; f++) {
    const model = new BayesModel();
    mails.forEach((m, i) => {
      if (folds[i] !== f) model.learn(tokens[i] ?? [], m.label);
    });
    mails.forEach((_, i) => {
      if (folds[i] !== f) return;
      variants.forEach((v, j) => {
        (ps[j] as number[])[i] = spamicity(tokens[i] ?? [], [model], v).spamicity;
      });
    });
  }
  return ps;
}

const tokenizeAll = async (mails: CorpusMail[]) => {
  const out: string[][] = [];
  for (const m of mails) out.push(tokenize(await rawMail(m.raw).parsed()));
  return out;
};

/**
 * Cross-validation on the train part only: `folds` folds, dealt `repeats` times; each mail is
 * classified once per repeat by a model trained on the other folds. For each scoring variant: the
 * mails flagged at each threshold (summed over repeats), then, threshold-free, the highest hard-ham
 * spamicity of each repeat and the spams scoring above it (what a threshold with no hard ham catches).
 */
async function crossValidate(train: CorpusMail[], folds: number, repeats: number): Promise<void> {
  const tokens = await tokenizeAll(train);
  const variants: ScoringOptions[] = [];
  for (const maxTokens of [150, Number.POSITIVE_INFINITY])
    for (const strength of [0.45, 1])
      for (const minDev of [0, 0.05, 0.1, 0.3])
        variants.push({ ...DEFAULT_SCORING, strength, minDev, maxTokens });
  const cuts = [0.8, 0.9, 0.95, 0.98, 0.99, 0.999];
  const runs = Array.from({ length: repeats }, (_, r) =>
    crossScores(train, tokens, dealFolds(train, folds, r), folds, variants),
  );
  const n = (f: (m: CorpusMail) => boolean) => train.filter(f).length;
  const hard = (m: CorpusMail) => m.folder === 'hard-ham-1';
  const ham = (m: CorpusMail) => m.label === 'ham';
  const spam = (m: CorpusMail) => m.label === 'spam';
  console.log(
    `${folds}-fold cross-validation on the train part (${train.length} mails), ${repeats} repeat(s); ` +
      `counts summed over repeats (hard ham ${n(hard)}, ham ${n(ham)}, spam ${n(spam)} per repeat)\n`,
  );
  console.log('| maxTokens | strength | minDev | tagAt | hard ham flagged | all ham flagged | spam caught |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  const ranking: string[] = [];
  variants.forEach((v, j) => {
    const ps = runs.map((run) => run[j] as number[]);
    const flagged = (f: (m: CorpusMail) => boolean, cut: number) =>
      ps.reduce((sum, p) => sum + train.filter((m, i) => f(m) && (p[i] ?? 0) >= cut).length, 0);
    for (const cut of cuts) {
      console.log(
        `| ${v.maxTokens} | ${v.strength} | ${v.minDev} | ${cut} | ${flagged(hard, cut)} | ${flagged(ham, cut)} | ` +
          `${flagged(spam, cut)} (${pct(flagged(spam, cut), repeats * n(spam))}) |`,
      );
    }
    const tops = ps.map((p) => Math.max(...train.map((m, i) => (hard(m) ? (p[i] ?? 0) : 0))));
    const above = ps.map((p, r) => train.filter((m, i) => spam(m) && (p[i] ?? 0) > (tops[r] ?? 1)).length);
    ranking.push(
      `| ${v.maxTokens} | ${v.strength} | ${v.minDev} | ${tops.map((t) => fmt(t, 4)).join(' ')} | ` +
        `${above.join(' ')} | ${pct(
          above.reduce((a, b) => a + b, 0),
          repeats * n(spam),
        )} |`,
    );
  });
  console.log('\n| maxTokens | strength | minDev | highest hard ham (each repeat) | spam above it | mean |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const row of ranking) console.log(row);
}

/**
 * Extra evidence, not a tuning tool: k-fold cross-validation over the whole corpus (train and test
 * parts, all 250 hard ham) at the default settings, so every mail is judged by a model that never
 * saw it. The fixed split's figures stay the reference.
 */
async function crossValidateWhole(corpus: CorpusMail[], folds: number): Promise<void> {
  const tokens = await tokenizeAll(corpus);
  const [ps] = crossScores(corpus, tokens, dealFolds(corpus, folds), folds, [DEFAULT_SCORING]);
  console.log(
    `${folds}-fold cross-validation over the whole corpus (${corpus.length} mails), tagAt ${tagAt}`,
  );
  report(
    `psf Bayes, whole corpus, ${folds}-fold (tagAt ${tagAt})`,
    corpus.map((mail, i) => ({ mail, spam: (ps?.[i] ?? 0) >= tagAt })),
  );
}

/** The reference model: every train mail learnt once, in corpus order. */
async function trainModel(train: CorpusMail[]): Promise<BayesModel> {
  const model = new BayesModel();
  for (const m of train) model.learn(tokenize(await rawMail(m.raw).parsed()), m.label);
  return model;
}

const OWNER = 'owner@example.test';
/** Salt of the stream order; `--stream-salt` tries other orders. */
const STREAM_SALT = option('stream-salt', 'psf-online-v1:');

/**
 * Extra evidence, not the reference: the test part as one owner's mail stream, in the order of
 * SHA-256 of `psf-online-v1:<folder>/<file>` (a salt of its own, so folders mix and the order owes
 * nothing to the split). The reference model is the global one of a model directory; each mail is
 * classified as production does (owner = first recipient, their model overlaying the global one),
 * and each wrong verdict is corrected before the next mail as the owner would: a false positive
 * learnt as ham, a missed spam as spam (BayesStore.learn, into the owner's model file). A first
 * pass without corrections, same order, must give the reference verdicts mail by mail.
 */
async function onlineRun(train: CorpusMail[], test: CorpusMail[]): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'psf-spam-online-'));
  try {
    const globalFile = join(work, GLOBAL_MODEL);
    await saveModel(globalFile, await trainModel(train));
    const stream = test
      .map((mail) => ({
        mail,
        r: createHash('sha256').update(`${STREAM_SALT}${mail.folder}/${mail.file}`).digest('hex'),
      }))
      .sort((a, b) => (a.r < b.r ? -1 : 1))
      .map(({ mail }) => mail);
    const envelope = { mailFrom: '', rcpt: [OWNER] };
    const reference = await BayesStore.open({ models: { file: globalFile }, tagAt });
    const store = await BayesStore.open({ models: work, tagAt });

    const still: Outcome[] = [];
    for (const mail of stream) {
      const m = rawMail(mail.raw, envelope);
      const spam = (await store.classify(m)).spam === true;
      if (spam !== (await reference.score(await m.parsed())).spamicity >= tagAt) {
        throw new Error(`no-corrections pass differs from the reference on ${mail.folder}/${mail.file}`);
      }
      still.push({ mail, spam });
    }

    const outcomes: Outcome[] = [];
    const corrections: { at: number; mail: CorpusMail; times: number; after: number; ms: number }[] = [];
    const t0 = performance.now();
    for (const [at, mail] of stream.entries()) {
      const m = rawMail(mail.raw, envelope);
      const spam = (await store.classify(m)).spam === true;
      outcomes.push({ mail, spam });
      if (spam === (mail.label === 'spam')) continue;
      const t1 = performance.now();
      const { times, after } = await store.learn(m, mail.label, OWNER);
      corrections.push({ at, mail, times, after, ms: performance.now() - t1 });
    }
    const wall = performance.now() - t0;
    const ownerFile = store.ownerFile(OWNER) as string;
    const ownerModel = await loadModel(ownerFile);

    console.log(
      `stream: the test part (${stream.length} mails) ordered by SHA-256 of "${STREAM_SALT}<folder>/<file>"; ` +
        `owner ${OWNER}; tagAt ${tagAt}`,
    );
    console.log('no-corrections pass: every verdict equals the reference (single-file model, no owner)');
    report(`psf Bayes, no corrections, stream order (tagAt ${tagAt})`, still);
    report(`psf Bayes with the owner's corrections, online (tagAt ${tagAt})`, outcomes);

    const learnMs = corrections.map((c) => c.ms);
    const ham = corrections.filter((c) => c.mail.label === 'ham').length;
    console.log(
      `\ncorrections: ${corrections.length} (${ham} false positive(s) learnt as ham, ` +
        `${corrections.length - ham} missed spam(s) learnt as spam); counted ` +
        `${corrections.reduce((a, c) => a + c.times, 0)} times in all (learn repeats until right, at most 10); ` +
        `still on the wrong side after learning: ${corrections.filter((c) => c.after >= tagAt !== (c.mail.label === 'spam')).length}`,
    );
    console.log(
      `learn (re-read + learn + write the owner's file): median ${fmt(median(learnMs), 1)} ms, ` +
        `max ${fmt(Math.max(0, ...learnMs), 1)} ms, total ${fmt(learnMs.reduce((a, b) => a + b, 0) / 1000, 1)} s; ` +
        `whole online pass ${fmt(wall / 1000, 1)} s; owner model ${ownerModel.size} tokens, ` +
        `${fmt(statSync(ownerFile).size / 1e3, 0)} kB`,
    );
    for (const c of corrections.filter((c) => c.mail.label === 'ham')) {
      console.log(`false positive at mail ${c.at + 1}: ${c.mail.folder}/${c.mail.file}`);
    }

    const half = Math.ceil(stream.length / 2);
    console.log(
      '\n| mails of the stream | spam | missed (online) | missed (no corrections) | ham | hard ham | ' +
        'false positives (online) | false positives (no corrections) |',
    );
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const [from, to] of [
      [0, half],
      [half, stream.length],
    ] as const) {
      const part = (os: Outcome[]) => os.slice(from, to);
      const n = (os: Outcome[], f: (o: Outcome) => boolean) => part(os).filter(f).length;
      const missed = (o: Outcome) => o.mail.label === 'spam' && !o.spam;
      const fp = (o: Outcome) => o.mail.label === 'ham' && o.spam;
      console.log(
        `| ${from + 1}-${to} | ${n(outcomes, (o) => o.mail.label === 'spam')} | ${n(outcomes, missed)} | ` +
          `${n(still, missed)} | ${n(outcomes, (o) => o.mail.label === 'ham')} | ` +
          `${n(outcomes, (o) => o.mail.folder === 'hard-ham-1')} | ${n(outcomes, fp)} | ${n(still, fp)} |`,
      );
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const corpus = loadCorpus();
if (tune) {
  await crossValidate(
    corpus.filter((m) => m.part === 'train'),
    numberOption('folds', FOLDS),
    numberOption('repeats', 1),
  );
  process.exit(0);
}
if (whole) {
  await crossValidateWhole(corpus, numberOption('folds', 10));
  process.exit(0);
}
if (online) {
  await onlineRun(
    corpus.filter((m) => m.part === 'train'),
    corpus.filter((m) => m.part === 'test'),
  );
  process.exit(0);
}
const trainSet = corpus.filter((m) => m.part === 'train');
const evalSet = corpus.filter((m) => m.part === 'test');
console.log(
  `corpus ${corpus.length} mails; train ${trainSet.length}, test ${evalSet.length}; tagAt ${tagAt}`,
);
const work = mkdtempSync(join(tmpdir(), 'psf-spam-corpus-'));
try {
  // --- ours: train, save, load, classify ----------------------------------------------------------
  let t0 = performance.now();
  const model = await trainModel(trainSet);
  const trainMs = performance.now() - t0;
  const file = join(work, 'global.psfbayes');
  await saveModel(file, model);
  const loads: number[] = [];
  for (let i = 0; i < 7; i++) {
    t0 = performance.now();
    await loadModel(file);
    loads.push(performance.now() - t0);
  }
  console.log(
    `\nours: trained ${trainSet.length} mails in ${fmt(trainMs / 1000, 1)} s; ${model.size} tokens, ` +
      `file ${fmt(statSync(file).size / 1e6, 2)} MB, load median ${fmt(median(loads), 1)} ms (7 loads)`,
  );

  const store = await BayesStore.open({ models: { file }, tagAt });
  const scores: number[] = [];
  const busy0 = machineCpuMs();
  const cpu0 = ownCpuMs();
  t0 = performance.now();
  for (const m of evalSet) {
    const parsed = await rawMail(m.raw).parsed();
    scores.push((await store.score(parsed)).spamicity);
  }
  const wall = performance.now() - t0;
  const cpu = ownCpuMs() - cpu0;
  const others = machineCpuMs().busy - busy0.busy - cpu;
  console.log(
    `ours: classified ${evalSet.length} mails (parse + tokenize + score) in ${fmt(wall)} ms wall, ` +
      `${fmt(cpu)} ms CPU: ${fmt(evalSet.length / (cpu / 1000))} mails/s per core ` +
      `(machine busy with others: ${fmt(Math.max(0, others))} ms CPU)`,
  );
  const ours = evalSet.map((mail, i) => ({ mail, spam: (scores[i] ?? 0) >= tagAt }));
  report(`psf Bayes (tagAt ${tagAt})`, ours);

  // --- bogofilter: same train and evaluation mails, private database ------------------------------
  const db = join(work, 'bogofilter');
  mkdirSync(db);
  const write = (dir: string, set: CorpusMail[]) => {
    mkdirSync(join(work, dir));
    return set.map((m, i) => {
      const p = join(work, dir, `${i}.eml`);
      writeFileSync(p, m.raw);
      return p;
    });
  };
  const trainFiles = write('train', trainSet);
  const evalFiles = write('eval', evalSet);
  const bogo = (args: string[], files: string[]) => {
    const r = spawnSync('/usr/bin/bogofilter', ['-d', db, ...args, '-b'], {
      input: `${files.join('\n')}\n`,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    if (r.error) throw r.error;
    return r.stdout;
  };
  let c0 = childrenCpuMs();
  t0 = performance.now();
  bogo(
    ['-s'],
    trainFiles.filter((_, i) => trainSet[i]?.label === 'spam'),
  );
  bogo(
    ['-n'],
    trainFiles.filter((_, i) => trainSet[i]?.label === 'ham'),
  );
  console.log(
    `\nbogofilter: trained in ${fmt((performance.now() - t0) / 1000, 1)} s (${fmt(childrenCpuMs() - c0)} ms CPU)`,
  );
  c0 = childrenCpuMs();
  t0 = performance.now();
  const out = bogo(['-T'], evalFiles);
  const bWall = performance.now() - t0;
  const bCpu = childrenCpuMs() - c0;
  console.log(
    `bogofilter: classified ${evalSet.length} mails in ${fmt(bWall)} ms wall, ${fmt(bCpu)} ms CPU: ` +
      `${fmt(evalSet.length / (bCpu / 1000))} mails/s per core`,
  );
  const verdicts = new Map<string, string>();
  for (const line of out.trim().split('\n')) {
    const [path, verdict] = line.split(' ');
    if (path && verdict) verdicts.set(path, verdict);
  }
  const bogoOutcomes = (unsureIsSpam: boolean) =>
    evalSet.map((mail, i) => {
      const v = verdicts.get(evalFiles[i] ?? '');
      if (v === undefined) throw new Error(`bogofilter said nothing about ${evalFiles[i]}`);
      return { mail, spam: v === 'S' || (unsureIsSpam && v === 'U'), unsure: v === 'U' };
    });
  report('bogofilter (Unsure counted as ham: delivered untagged)', bogoOutcomes(false));
  report('bogofilter (Unsure counted as spam)', bogoOutcomes(true));
} finally {
  rmSync(work, { recursive: true, force: true });
}
