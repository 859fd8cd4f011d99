#!/usr/bin/env node
import { buffer } from 'node:stream/consumers';
import { isPsfError, VERDICT_ACTIONS, type VerdictAction } from '@psf/protocol';
import { Command, InvalidArgumentError, Option } from 'commander';
import { startClassifier } from './classifier.js';
import { sendLearn } from './send-learn.js';

// psf-client recv: the seed's recvmq, for people debugging mail: consume a queue, print what
// arrives, answer every request with the chosen verdict.
// psf-client learn: an owner's correction, as sa-learn --spam/--ham, to a classifier anywhere.

/** sysexits: the classifier refused the mail; no such queue or publish refused; no answer in time. */
const EX_DATAERR = 65;
const EX_UNAVAILABLE = 69;
const EX_TEMPFAIL = 75;
const DEFAULT_URL = 'amqp://guest:guest@127.0.0.1:5672/psf';

function milliseconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 600_000) throw new InvalidArgumentError('1 to 600000 ms');
  return n;
}
const program = new Command()
  .name('psf-client')
  .description(
    'Tools for psf classifiers. Environment: PSF_AMQP_URL (default amqp://guest:guest@127.0.0.1:5672/psf).',
  );
program
  .command('recv <queue>')
  .description('print each scan request (id, envelope, size, headers of the mail) and answer it')
  .addOption(new Option('--verdict <action>', 'the answer').choices([...VERDICT_ACTIONS]).default('accept'))
  .option('--score <n>', 'score to answer with', '0')
  .option('--count <n>', 'stop after this many requests (default: run until interrupted)')
  .action(async (queue: string, opts: { verdict: VerdictAction; score: string; count?: string }) => {
    let left = opts.count === undefined ? Number.POSITIVE_INFINITY : Number(opts.count);
    let done: () => void = () => {};
    const finished = new Promise<void>((r) => {
      done = r;
    });
    const classifier = await startClassifier({
      url: process.env.PSF_AMQP_URL ?? DEFAULT_URL,
      queue,
      concurrency: 1,
      handler: (mail) => {
        const end = mail.raw.indexOf('\r\n\r\n');
        const headers = mail.raw
          .subarray(0, end === -1 ? Math.min(mail.raw.length, 4096) : end)
          .toString('utf8');
        console.log(
          JSON.stringify({
            id: mail.id,
            envelope: mail.envelope,
            size: mail.size,
            truncated: mail.truncated,
          }),
        );
        // The headers come from the sender: no escape sequence reaches the terminal.
        const shown = headers.replace(/\r/g, '').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '?');
        console.log(shown.replace(/^/gm, '  '));
        if (--left <= 0) setImmediate(done);
        return { v: 1, action: opts.verdict, score: Number(opts.score) };
      },
    });
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    await finished;
    await classifier.close();
  });
program
  .command('learn <queue>')
  .description(
    'teach the classifier consuming <queue> that the mail on stdin is spam or ham; prints what it did (JSON).\nExit: 0 learnt, 65 refused (the classifier does not learn, or failed on this mail), 69 no such queue (or the broker refused the publish), 75 no answer in time',
  )
  .addOption(new Option('--spam', 'learn it as spam').conflicts('ham'))
  .addOption(new Option('--ham', 'learn it as ham').conflicts('spam'))
  .option('--owner <owner>', 'whose model learns (default: the owner of a psf.user.<owner> queue)')
  .option('--timeout <ms>', 'how long to wait for the answer', milliseconds, 30_000)
  .action(async (queue: string, opts: { spam?: boolean; ham?: boolean; owner?: string; timeout: number }) => {
    if (!opts.spam && !opts.ham) program.error('psf-client learn: say --spam or --ham');
    try {
      const result = await sendLearn({
        url: process.env.PSF_AMQP_URL ?? DEFAULT_URL,
        queue,
        label: opts.spam ? 'spam' : 'ham',
        mail: await buffer(process.stdin),
        ...(opts.owner ? { owner: opts.owner } : {}),
        timeoutMs: opts.timeout,
      });
      console.log(JSON.stringify(result));
    } catch (err) {
      console.error(`psf-client: ${(err as Error).message}`);
      process.exitCode =
        isPsfError(err, 'CLASSIFIER_FAILED') || isPsfError(err, 'BAD_REQUEST')
          ? EX_DATAERR
          : isPsfError(err, 'PUBLISH_REFUSED')
            ? EX_UNAVAILABLE
            : EX_TEMPFAIL;
    }
  });

await program.parseAsync();
