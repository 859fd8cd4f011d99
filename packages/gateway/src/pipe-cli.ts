#!/usr/bin/env node
import { Command, type CommanderError } from 'commander';
import { gatewayOptions, loadConfig } from './config.js';
import { EX_CONFIG, EX_TEMPFAIL, EX_UNAVAILABLE, failureLine, runPipe } from './pipe.js';

function fail(code: number, reason: string): never {
  process.stderr.write(failureLine(code, reason));
  process.exit(code);
}

// pipe(8) bounces the mail on an exit code it does not know, such as Node's 1 for a crash.
process.on('uncaughtException', (err) => fail(EX_TEMPFAIL, `internal error: ${err.message}`));

const program = new Command()
  .name('psf-pipe')
  .description(
    "Postfix pipe(8) content filter: asks each recipient owner's classifier over\n" +
      'RabbitMQ and reinjects the mail read on stdin over SMTP.\n' +
      'Exit: 0 settled, 75 retry later, 69 refused, 78 bad configuration.\n' +
      "Configuration as psf-gateway's (JSON file, PSF_* environment overrides); its\n" +
      'listen, mode, maxSessions, reinjectPoolSize and logLevel do not apply.',
  )
  .usage('[--config file] -f <sender> -- <recipient...>')
  .option('-c, --config <file>', 'JSON configuration file')
  .requiredOption('-f, --sender <address>', "envelope sender ('' for the null sender)")
  .argument('<recipient...>', 'envelope recipients')
  .exitOverride()
  // One line, ours: Postfix puts the command's output in its log and in bounces.
  .configureOutput({ outputError: () => {} });
try {
  program.parse();
} catch (err) {
  const { exitCode, message } = err as CommanderError;
  if (exitCode === 0) process.exit(0); // --help
  fail(EX_UNAVAILABLE, message.replace(/^error: /, ''));
}
const opts = program.opts<{ config?: string; sender: string }>();

let options: ReturnType<typeof gatewayOptions>;
try {
  options = gatewayOptions(loadConfig(opts.config, process.env));
} catch (err) {
  fail(EX_CONFIG, (err as Error).message);
}

process.exitCode = await runPipe({
  ...options,
  input: process.stdin,
  mailFrom: opts.sender,
  rcpt: program.args,
});
// runPipe closed everything, so Node exits now. Should a handle still hold it, exit anyway: past
// pipe(8)'s time limit Postfix kills the command and bounces the mail, though it was delivered.
setTimeout(() => process.exit(), 3000).unref();
