#!/usr/bin/env node
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { isPsfError } from '@psf/protocol';
import { Command, Option } from 'commander';
import type { Label } from './model.js';
import { BayesModel } from './model.js';
import { BayesModelError, loadModel, saveModel } from './model-file.js';
import { rawMail } from './raw-mail.js';
import { BayesStore } from './store.js';
import { tokenize } from './tokenizer.js';
import { DEFAULT_TAG_AT } from './verdict.js';

/** sysexits' EX_CONFIG: a model that cannot be used; retrying will not help. */
const EX_CONFIG = 78;

interface ModelOpts {
  model: string;
  spam?: boolean;
  ham?: boolean;
  tagAt?: string;
}

const program = new Command()
  .name('psf-bayes')
  .description(
    'Train, correct and try psf Bayes models. Mails are raw RFC 5322 files (an mbox "From " line is skipped).',
  );

const labelOptions = (cmd: Command) =>
  cmd
    .addOption(new Option('--spam', 'the mails are spam').conflicts('ham'))
    .addOption(new Option('--ham', 'the mails are ham').conflicts('spam'))
    .requiredOption('--model <file>', 'model file (created when missing)');

labelOptions(
  program
    .command('train <paths...>')
    .description('count mails into the model: files, or directories of files (not recursive)'),
).action(async (paths: string[], opts: ModelOpts) => {
  const label = labelOf(opts);
  const model = await loadOrNew(opts.model);
  const started = performance.now();
  let mails = 0;
  for (const file of await expand(paths)) {
    model.learn(tokenize(await rawMail(await readFile(file)).parsed()), label);
    mails++;
  }
  await saveModel(opts.model, model);
  const seconds = (performance.now() - started) / 1000;
  console.log(
    JSON.stringify({
      trained: mails,
      label,
      tokens: model.size,
      spamMails: model.spamMails,
      hamMails: model.hamMails,
      seconds,
    }),
  );
});

labelOptions(
  program
    .command('learn')
    .description('learn one mail from stdin as spam or ham, repeating it until it is classified so'),
)
  .option('--tag-at <p>', 'spamicity from which mail is spam', String(DEFAULT_TAG_AT))
  .action(async (opts: ModelOpts) => {
    const store = await BayesStore.open({
      models: { file: opts.model },
      allowMissing: true,
      tagAt: Number(opts.tagAt),
    });
    const result = await store.learn(await stdinMail(), labelOf(opts));
    console.log(JSON.stringify(result));
  });

program
  .command('check')
  .description('print the verdict for one mail from stdin; exit 0 accept, 1 tag or quarantine')
  .requiredOption('--model <file>', 'model file')
  .option('--tag-at <p>', 'spamicity from which mail is spam', String(DEFAULT_TAG_AT))
  .action(async (opts: ModelOpts) => {
    const store = await BayesStore.open({ models: { file: opts.model }, tagAt: Number(opts.tagAt) });
    const verdict = await store.classify(await stdinMail());
    console.log(JSON.stringify(verdict));
    process.exitCode = verdict.action === 'accept' ? 0 : 1;
  });

function labelOf(opts: ModelOpts): Label {
  if (opts.spam) return 'spam';
  if (opts.ham) return 'ham';
  return program.error('say --spam or --ham');
}

async function loadOrNew(file: string): Promise<BayesModel> {
  try {
    return await loadModel(file);
  } catch (err) {
    if (err instanceof BayesModelError && err.problem === 'missing') return new BayesModel();
    throw err;
  }
}

async function expand(paths: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const p of paths) {
    if ((await stat(p)).isDirectory()) {
      for (const e of await readdir(p, { withFileTypes: true })) {
        if (e.isFile() && !e.name.startsWith('.')) files.push(join(p, e.name));
      }
    } else files.push(p);
  }
  return files.sort();
}

async function stdinMail() {
  return rawMail(await buffer(process.stdin));
}

try {
  await program.parseAsync();
} catch (err) {
  console.error(`psf-bayes: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = isPsfError(err, 'CONFIG') ? EX_CONFIG : 1;
}
