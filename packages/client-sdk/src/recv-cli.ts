#!/usr/bin/env node
import { VERDICT_ACTIONS, type VerdictAction } from '@psf/protocol';
import { Command, Option } from 'commander';
import { startClassifier } from './classifier.js';

// psf-client recv: the seed's recvmq, for people debugging mail: consume a queue, print what
// arrives, answer every request with the chosen verdict.
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
      url: process.env.PSF_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672/psf',
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
        console.log(headers.replace(/^/gm, '  '));
        if (--left <= 0) setImmediate(done);
        return { v: 1, action: opts.verdict, score: Number(opts.score) };
      },
    });
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    await finished;
    await classifier.close();
  });
await program.parseAsync();
