#!/usr/bin/env node
import { buffer } from 'node:stream/consumers';
import { redactConfig } from '@psf/broker';
import { startClassifier } from '@psf/client-sdk';
import { isPsfError } from '@psf/protocol';
import { Command, Option } from 'commander';
import { pino } from 'pino';
import PinoPretty from 'pino-pretty';
import { rawMail } from './bayes/raw-mail.js';
import { buildClassifier, type ClassifyConfig, ENV, loadConfig } from './config.js';
import { type BuiltClassifier, KINDS } from './kinds.js';

/** sysexits: bad configuration; a classifier that could not decide (spamd down...). */
const EX_CONFIG = 78;
const EX_TEMPFAIL = 75;

interface GlobalOptions {
  config?: string;
  kind?: string;
  logFormat: 'json' | 'pretty';
  printConfig?: boolean;
}

const program = new Command()
  .name('psf-classify')
  .description(
    `Runs a psf classifier on a queue, or on one mail from stdin (check).\nKinds: ${Object.entries(KINDS)
      .map(([k, d]) => `${k} (${d.description})`)
      .join(', ')}.\nEnvironment (overrides the file): ${Object.keys(ENV).join(', ')}.`,
  )
  .option('-c, --config <file>', 'JSON configuration file')
  .option('--kind <kind>', 'the classifier to run (overrides the file and PSF_KIND)')
  .addOption(
    new Option('--log-format <format>', 'one JSON line per event, or pretty for people')
      .choices(['json', 'pretty'])
      .default('json'),
  )
  .option('--print-config', 'print the effective configuration (secrets hidden) and exit')
  .showHelpAfterError();

/** The validated configuration and its classifier, ready; or exit 78 naming what is wrong. */
async function setUp(opts: GlobalOptions): Promise<{ config: ClassifyConfig; classifier: BuiltClassifier }> {
  try {
    const env = opts.kind ? { ...process.env, PSF_KIND: opts.kind } : process.env;
    const config = loadConfig(opts.config, env);
    if (opts.printConfig) {
      console.log(JSON.stringify(redactConfig(config), null, 2));
      process.exit(0);
    }
    const classifier = buildClassifier(config);
    await classifier.ready;
    return { config, classifier };
  } catch (err) {
    console.error(`psf-classify: ${(err as Error).message}`);
    process.exit(isPsfError(err, 'CONFIG') || !isPsfError(err) ? EX_CONFIG : EX_TEMPFAIL);
  }
}

program
  .command('run', { isDefault: true })
  .description(
    'consume the queue: answer scan requests with the classifier, and learn requests on kinds that learn',
  )
  .action(async () => {
    const opts = program.opts<GlobalOptions>();
    const { config, classifier } = await setUp(opts);
    const logger = pino(
      { name: 'psf-classify', level: config.logLevel },
      opts.logFormat === 'pretty' ? PinoPretty({ colorize: false }) : undefined,
    );
    const consumer = await startClassifier({
      url: config.amqpUrl,
      queue: config.queue,
      handler: classifier,
      ...(classifier.learn ? { learn: classifier.learn } : {}),
      concurrency: config.concurrency,
      ...(config.trustedPublishers ? { trustedPublishers: config.trustedPublishers } : {}),
      ...(config.learnPublishers ? { learnPublishers: config.learnPublishers } : {}),
      name: `psf-classify ${config.kind} ${config.queue}`,
      logger,
    });
    logger.info({ event: 'ready', kind: config.kind, queue: config.queue }, 'classifying');
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        void consumer
          .close()
          .then(() => classifier.close?.())
          .then(() => process.exit(0));
      });
    }
  });

program
  .command('check')
  .description('classify one mail read from stdin and print the verdict (JSON); no broker needed')
  .option('--mail-from <address>', 'envelope sender', '')
  .option('--rcpt <address...>', 'envelope recipients')
  .option('--client-addr <ip>', "the sending client's address")
  .option('--helo <name>', "the sending client's HELO")
  .action(async (o: { mailFrom: string; rcpt?: string[]; clientAddr?: string; helo?: string }) => {
    const { classifier } = await setUp(program.opts<GlobalOptions>());
    const mail = rawMail(await buffer(process.stdin), {
      mailFrom: o.mailFrom,
      rcpt: o.rcpt ?? [],
      ...(o.clientAddr ? { clientAddr: o.clientAddr } : {}),
      ...(o.helo ? { helo: o.helo } : {}),
    });
    try {
      console.log(JSON.stringify(await classifier(mail)));
    } catch (err) {
      console.error(`psf-classify: ${(err as Error).message}`);
      process.exitCode = isPsfError(err, 'CONFIG') ? EX_CONFIG : EX_TEMPFAIL;
    } finally {
      await classifier.close?.();
    }
  });

await program.parseAsync();
