// Throughput of the rules, the sender lists, the SpamAssassin, rspamd and ClamAV bridges on the
// same mails, one at a time (one core's worth: one spamd child or rspamd worker busy at once),
// private daemons.
//   npx tsc -b && npx tsx bench/classifier-throughput.ts [--per-folder 60] [--runs 3]
// Mails: the first N of each folder of the SpamAssassin public corpus in psf's split order
// (bench/spam-corpus-split.ts); also prints how many of the spam and ham each flags.
import {
  createClamavClassifier,
  createRspamdClassifier,
  createRulesClassifier,
  createSenderListsClassifier,
  createSpamAssassinClassifier,
  rawMail,
} from '@psf/classifiers';
import type { Mail, Verdict } from '@psf/client-sdk';
import { startClamd, startRspamd, startSpamd } from '@psf/testkit';
import { fmt, machine, median, numberOption } from './lib.js';
import { loadCorpus } from './spam-corpus-split.js';

const perFolder = numberOption('per-folder', 60);
const runs = numberOption('runs', 3);
const corpus = loadCorpus(perFolder);
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

await using spamd = await startSpamd();
await using rspamd = await startRspamd();
await using clamd = await startClamd();
const rspamdClassifier = createRspamdClassifier({ url: rspamd.url, timeoutMs: 30_000 });
const kinds: Record<string, (mail: Mail) => Promise<Verdict>> = {
  rules: createRulesClassifier(),
  spamassassin: createSpamAssassinClassifier({ host: spamd.host, port: spamd.port, timeoutMs: 30_000 }),
  rspamd: rspamdClassifier,
  // Lists of 1,000 patterns each, none of them matching the corpus: the cost of looking.
  senders: createSenderListsClassifier({
    allow: Array.from({ length: 1000 }, (_, i) => `friend${i}@*.example.org`),
    block: Array.from({ length: 1000 }, (_, i) => `*@spammer${i}.example`),
  }),
  clamav: createClamavClassifier({ host: clamd.host, port: clamd.port, timeoutMs: 30_000 }),
};

console.log(`${machine()}\n${corpus.length} mails, ${runs} runs, one mail at a time`);
console.log('| classifier | mails/s (median, min-max) | our CPU ms/mail | spam flagged | ham flagged |');
console.log('| --- | --- | --- | --- | --- |');
for (const [name, classify] of Object.entries(kinds)) {
  const rates: number[] = [];
  const cpu: number[] = [];
  let spamFlagged = 0;
  let hamFlagged = 0;
  for (let run = 0; run < runs; run++) {
    spamFlagged = 0;
    hamFlagged = 0;
    const started = performance.now();
    const cpuStarted = cpuMs();
    for (const m of corpus) {
      const v = await classify(rawMail(m.raw, { mailFrom: '', rcpt: ['user@example.org'] }));
      if (v.spam) m.label === 'spam' ? spamFlagged++ : hamFlagged++;
    }
    rates.push((corpus.length * 1000) / (performance.now() - started));
    cpu.push((cpuMs() - cpuStarted) / corpus.length);
  }
  const spam = corpus.filter((m) => m.label === 'spam').length;
  const ham = corpus.length - spam;
  console.log(
    `| ${name} | ${fmt(median(rates))} (${fmt(Math.min(...rates))}-${fmt(Math.max(...rates))}) | ${fmt(median(cpu), 2)} | ${spamFlagged}/${spam} | ${hamFlagged}/${ham} |`,
  );
}
rspamdClassifier.close();
