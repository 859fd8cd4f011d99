#!/usr/bin/env node
import { redactConfig } from '@psf/broker';
import { Command, Option } from 'commander';
import { pino } from 'pino';
import PinoPretty from 'pino-pretty';
import { ENV, gatewayOptions, loadConfig } from './config.js';
import { startGateway } from './gateway.js';

const program = new Command()
  .name('psf-gateway')
  .description(
    "Postfix content filter: asks each recipient owner's classifier over RabbitMQ and reinjects.\n" +
      `Environment (overrides the file): ${Object.keys(ENV).join(', ')}.`,
  )
  .option('-c, --config <file>', 'JSON configuration file')
  .addOption(
    new Option('--log-format <format>', 'one JSON line per event, or pretty for people')
      .choices(['json', 'pretty'])
      .default('json'),
  )
  .option('--print-config', 'print the effective configuration (password hidden) and exit')
  .showHelpAfterError();
program.parse();
const opts = program.opts<{ config?: string; printConfig?: boolean }>();

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(opts.config, process.env);
} catch (err) {
  console.error(`psf-gateway: ${(err as Error).message}`);
  process.exit(78); // EX_CONFIG
}
if (opts.printConfig) {
  console.log(JSON.stringify(redactConfig(config), null, 2));
  process.exit(0);
}

const pretty = program.opts<{ logFormat: string }>().logFormat === 'pretty';
const logger = pino(
  { name: 'psf-gateway', level: config.logLevel },
  pretty ? PinoPretty({ colorize: false }) : undefined,
);
const gateway = await startGateway({ ...gatewayOptions(config), logger });
logger.info({ event: 'listening', ...gateway.address }, 'psf-gateway ready');

// SIGHUP: read the configuration again and apply its policy settings; a bad file changes nothing.
process.on('SIGHUP', () => {
  try {
    gateway.reload(gatewayOptions(loadConfig(opts.config, process.env)));
  } catch (err) {
    logger.error({ event: 'reload-failed', err: (err as Error).message }, 'configuration not reloaded');
  }
});

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ event: 'shutdown', signal }, 'draining');
    void gateway.close().then(() => process.exit(0));
  });
}
