#!/usr/bin/env node
import { randomBytes } from 'node:crypto';
import { isPsfError, PsfError } from '@psf/protocol';
import { Command } from 'commander';
import { z } from 'zod';
import { amqpUrlList, amqpUrls } from './amqp-urls.js';
import { readConfig, redactConfig } from './config-file.js';
import { BrokerConnection } from './connection.js';
import { Management } from './management.js';
import { addUser, install, listUsers, type ProvisioningReport, removeUser } from './provisioning.js';
import { RpcClient } from './rpc-client.js';
import type { TopologyOptions } from './topology.js';

const configSchema = z
  .object({
    /** The administrator's AMQP URL (a cluster: its nodes', comma-separated); its path is the psf vhost. */
    amqpUrl: amqpUrlList.default('amqp://guest:guest@127.0.0.1:5672/psf'),
    managementUrl: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:15672'),
    /** Default: the user and password of amqpUrl. */
    managementUser: z.string().min(1).optional(),
    managementPassword: z.string().optional(),
    /** psf's queues: `quorum` on a cluster; as the gateways' `queueType`. */
    queueType: z.enum(['classic', 'quorum']).default('classic'),
  })
  .strict();

const ENV: Record<string, keyof z.infer<typeof configSchema>> = {
  PSF_AMQP_URL: 'amqpUrl',
  PSF_MANAGEMENT_URL: 'managementUrl',
  PSF_MANAGEMENT_USER: 'managementUser',
  PSF_MANAGEMENT_PASSWORD: 'managementPassword',
  PSF_QUEUE_TYPE: 'queueType',
};

const program = new Command()
  .name('psf-broker')
  .description(
    'Sets up RabbitMQ for psf: the vhost and topology, and a broker user and queue\n' +
      'per mailbox owner, through the management API (plugin rabbitmq_management).\n' +
      `Environment (overrides the file): ${Object.keys(ENV).join(', ')}.\n` +
      'Exit status: 0 done, 69 RabbitMQ or its management API unreachable,\n' +
      '78 bad configuration or refused credentials.',
  )
  .option('-c, --config <file>', 'JSON configuration file')
  .showHelpAfterError();

interface Context {
  management: Management;
  amqpUrl: string;
  vhost: string;
  topology: TopologyOptions;
}

function loadContext(): Context {
  const config = readConfig(configSchema, program.opts<{ config?: string }>().config, process.env, ENV);
  const url = new URL(amqpUrls(config.amqpUrl)[0] as string);
  const management = new Management({
    url: config.managementUrl,
    username: config.managementUser ?? (decodeURIComponent(url.username) || 'guest'),
    password: config.managementPassword ?? (decodeURIComponent(url.password) || 'guest'),
  });
  // As amqplib reads it: an empty path is the default vhost.
  return {
    management,
    amqpUrl: config.amqpUrl,
    vhost: decodeURIComponent(url.pathname.slice(1)) || '/',
    topology: { queueType: config.queueType },
  };
}

/** Runs a command; exits 0, 69 (broker or API unreachable) or 78 (configuration, refused input). */
function command(work: (ctx: Context) => Promise<void>) {
  return async () => {
    try {
      await work(loadContext());
    } catch (err) {
      console.error(`psf-broker: ${(err as Error).message}`);
      process.exit(isPsfError(err, 'CONFIG') ? 78 : 69);
    }
    process.exit(0);
  };
}

function printReport(report: ProvisioningReport): void {
  for (const state of ['created', 'existing', 'different'] as const) {
    for (const name of report[state]) console.log(`${state}\t${name}`);
  }
  if (report.different.length)
    console.error(
      'psf-broker: left as they are, with other arguments than psf declares (RabbitMQ cannot ' +
        'change them); delete one, and its messages, to have it redeclared',
    );
}

async function readPassword(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  const password = text.split(/\r?\n/)[0];
  if (!password) throw new PsfError('CONFIG', 'empty password on stdin');
  return password;
}

program
  .command('print-config')
  .description('print the effective configuration (passwords hidden)')
  .action(() => {
    const config = readConfig(configSchema, program.opts<{ config?: string }>().config, process.env, ENV);
    console.log(JSON.stringify(redactConfig(config), null, 2));
  });
program
  .command('install')
  .description('create the vhost if missing, give the admin user full rights there, declare the topology')
  .action(
    command(async (ctx) => {
      printReport(await install(ctx));
    }),
  );
program
  .command('add-user <owner>')
  .description(
    "create the owner's broker user (read only psf.user.<owner>, write only replies) and queue;\n" +
      'without --password-stdin the user has no password: the HTTP or LDAP auth backend logs them in',
  )
  .option('--password-stdin', "read the user's password from stdin")
  .action((owner: string, opts: { passwordStdin?: boolean }) =>
    command(async (ctx) => {
      const password = opts.passwordStdin ? await readPassword() : undefined;
      const { permissions, ...report } = await addUser({ ...ctx, owner, password });
      printReport(report);
      const { configure, write, read } = permissions;
      console.log(`permissions\tconfigure ${configure} write ${write} read ${read}`);
      if (!password)
        console.error(`psf-broker: ${owner} has no password: the HTTP or LDAP backend logs them in`);
    })(),
  );
program
  .command('remove-user <owner>')
  .description("delete the owner's broker user and queue (their mail then goes to psf.default)")
  .action((owner: string) =>
    command(async (ctx) => {
      const report = await removeUser({ ...ctx, owner });
      for (const name of report.removed) console.log(`removed\t${name}`);
      for (const name of report.missing) console.log(`missing\t${name}`);
    })(),
  );
program
  .command('list-users')
  .description('owners with a queue of their own: owner, messages, consumers (tab-separated)')
  .action(
    command(async (ctx) => {
      for (const u of await listUsers(ctx)) console.log(`${u.owner}\t${u.messages}\t${u.consumers}`);
    }),
  );
program
  .command('send <owner>')
  .description(
    "publish the mail on stdin as a scan request to the owner's classifier and print its verdict\n" +
      '(exit 0), or the failure, e.g. no verdict within --timeout (exit 75)',
  )
  .option('-f, --from <address>', 'envelope sender', '')
  .option('--timeout <ms>', 'how long to wait for the verdict', '10000')
  .action((owner: string, opts: { from: string; timeout: string }) =>
    command(async (ctx) => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      const mail = Buffer.concat(chunks);
      const connection = await BrokerConnection.open({ url: ctx.amqpUrl, name: 'psf-broker send' });
      const rpc = new RpcClient({ connection });
      try {
        await rpc.waitReady(10_000);
        const id = `send-${randomBytes(6).toString('base64url')}`;
        const request = {
          id,
          envelope: { mailFrom: opts.from, rcpt: [owner] },
          size: mail.length,
          truncated: false,
          deadline: Date.now() + Number(opts.timeout),
          mail,
        };
        console.log(JSON.stringify(await rpc.call(owner, request)));
      } catch (err) {
        console.error(`psf-broker: ${(err as Error).message}`);
        process.exitCode = 75;
      } finally {
        await rpc.close();
        await connection.close();
      }
      if (process.exitCode) process.exit(process.exitCode);
    })(),
  );
await program.parseAsync();
