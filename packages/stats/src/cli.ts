#!/usr/bin/env node
import { hostPort, readConfig, readEvents, redactConfig } from '@psf/broker';
import { type DeadEvent, isPsfError } from '@psf/protocol';
import amqp from 'amqplib';
import { Command } from 'commander';
import { z } from 'zod';
import { StatsAggregate } from './aggregate.js';
import { buildDigests, sendDigests } from './digest.js';
import { formatSummary } from './report.js';
import { parseSince } from './since.js';

const configSchema = z
  .object({
    /** An AMQP URL with read and write access to psf.events (the admin's); its path is the vhost. */
    amqpUrl: z.url({ protocol: /^amqps?$/ }).default('amqp://guest:guest@127.0.0.1:5672/psf'),
    /** Where digests are handed over (the local MTA). */
    smtp: hostPort.default({ host: '127.0.0.1', port: 25 }),
    /** The digests' sender. */
    digestFrom: z.string().min(3).default('postmaster@localhost'),
  })
  .strict();

const ENV: Record<string, keyof z.input<typeof configSchema>> = {
  PSF_AMQP_URL: 'amqpUrl',
  PSF_SMTP: 'smtp',
  PSF_DIGEST_FROM: 'digestFrom',
};

const program = new Command()
  .name('psf')
  .description(
    'psf statistics, read from the psf.events stream that every gateway appends to.\n' +
      `Environment (overrides the file): ${Object.keys(ENV).join(', ')}.\n` +
      'Exit status: 0 done, 69 RabbitMQ or the MTA unreachable, 78 bad configuration.',
  )
  .option('-c, --config <file>', 'JSON configuration file')
  .showHelpAfterError();

const config = () => readConfig(configSchema, program.opts<{ config?: string }>().config, process.env, ENV);

function run(work: () => Promise<void>) {
  return async () => {
    try {
      await work();
      process.exit(0);
    } catch (err) {
      console.error(`psf: ${(err as Error).message}`);
      process.exit(isPsfError(err, 'CONFIG') ? 78 : 69);
    }
  };
}

async function read(amqpUrl: string, since: number, onEvent: Parameters<typeof readEvents>[1]['onEvent']) {
  const model = await amqp.connect(amqpUrl);
  try {
    await readEvents(model, { since, onEvent });
  } finally {
    await model.close().catch(() => {});
  }
}

program
  .command('print-config')
  .description('print the effective configuration (passwords hidden)')
  .action(run(async () => console.log(JSON.stringify(redactConfig(config()), null, 2))));

program
  .command('stats')
  .description('per-owner counts, top senders of spam, classification p50/p99 and dead letters')
  .option('--since <when>', 'from when: 24h, 7d, 30m or an ISO date', '24h')
  .option('--top <n>', 'how many senders of spam to list', '10')
  .option('--json', 'print JSON instead of a table')
  .action((opts: { since: string; top: string; json?: boolean }) =>
    run(async () => {
      const { amqpUrl } = config();
      const agg = new StatsAggregate();
      await read(amqpUrl, parseSince(opts.since), (e) => agg.add(e));
      const summary = agg.summary(Number(opts.top));
      process.stdout.write(opts.json ? `${JSON.stringify(summary, null, 2)}\n` : formatSummary(summary));
    })(),
  );

program
  .command('digest')
  .description('mail each owner a digest of their requests that died unanswered (metadata only, never mail)')
  .option('--since <when>', 'from when: 24h, 7d, 30m or an ISO date', '24h')
  .option('--dry-run', 'print the digests instead of sending them')
  .action((opts: { since: string; dryRun?: boolean }) =>
    run(async () => {
      const { amqpUrl, smtp, digestFrom } = config();
      const dead: DeadEvent[] = [];
      await read(amqpUrl, parseSince(opts.since), (e) => {
        if (e.kind === 'dead') dead.push(e);
      });
      const digests = buildDigests(dead);
      if (opts.dryRun) {
        for (const d of digests) console.log(`To: ${d.to.join(', ')}\nSubject: ${d.subject}\n\n${d.text}`);
        return;
      }
      const sent = await sendDigests(digests, { ...smtp, from: digestFrom });
      console.log(`sent ${sent} digest${sent === 1 ? '' : 's'}`);
    })(),
  );

await program.parseAsync();
