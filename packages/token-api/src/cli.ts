#!/usr/bin/env node
import { serve } from '@hono/node-server';
import {
  addUser,
  BrokerConnection,
  Management,
  OwnerDirectory,
  Quarantine,
  redactConfig,
  removeUser,
} from '@psf/broker';
import { Reinjector } from '@psf/gateway';
import { ActivityFeed } from '@psf/stats';
import { Command, Option } from 'commander';
import { pino } from 'pino';
import PinoPretty from 'pino-pretty';
import { createTokenApi, type Provisioner } from './app.js';
import { ENV, loadConfig } from './config.js';
import { LdapDirectory } from './directory.js';
import { BrokerLearnSender } from './learn-sender.js';
import { BrokerQuarantineAccess } from './quarantine-access.js';
import { TokenSigner } from './tokens.js';

const program = new Command()
  .name('psf-token-api')
  .description(
    'psf token API: LDAP login, tokens and queues for classifiers, RabbitMQ HTTP auth backend.\n' +
      `Environment (overrides the file): ${Object.keys(ENV).join(', ')}.`,
  )
  .option('-c, --config <file>', 'JSON configuration file')
  .addOption(
    new Option('--log-format <format>', 'one JSON line per event, or pretty for people')
      .choices(['json', 'pretty'])
      .default('json'),
  )
  .option('--print-config', 'print the effective configuration (secrets hidden) and exit')
  .showHelpAfterError();
program.parse();

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(program.opts<{ config?: string }>().config, process.env);
} catch (err) {
  console.error(`psf-token-api: ${(err as Error).message}`);
  process.exit(78);
}
if (program.opts<{ printConfig?: boolean }>().printConfig) {
  console.log(JSON.stringify(redactConfig(config), null, 2));
  process.exit(0);
}
const pretty = program.opts<{ logFormat: string }>().logFormat === 'pretty';
const logger = pino(
  { name: 'psf-token-api', level: config.logLevel },
  pretty ? PinoPretty({ colorize: false }) : undefined,
);

/** Admin endpoints provision through psf-broker's functions, with the admin's credentials. */
function provisioner(managementUrl: string, adminAmqpUrl: string): Provisioner {
  const admin = new URL(adminAmqpUrl);
  const management = new Management({
    url: managementUrl,
    username: decodeURIComponent(admin.username),
    password: decodeURIComponent(admin.password),
  });
  const vhost = config.vhost;
  return {
    addUser: async (owner) => void (await addUser({ management, amqpUrl: adminAmqpUrl, vhost, owner })),
    removeUser: async (owner) => void (await removeUser({ management, vhost, owner })),
  };
}
// The quarantine and the counts on the self-service pages, when an AMQP URL to read them is
// configured; the counts are rebuilt from psf.events at each start.
const broker = config.amqpUrl
  ? await BrokerConnection.open({ url: config.amqpUrl, name: 'psf-token-api', logger })
  : undefined;
const reinjector = broker ? new Reinjector({ ...config.reinject, poolSize: 2, logger }) : undefined;
const quarantine =
  broker && reinjector
    ? new BrokerQuarantineAccess({
        quarantine: new Quarantine({ connection: broker, queueType: config.queueType }),
        reinjector,
      })
    : undefined;
// Corrections go out as the token API's broker user, whom the classifiers must trust.
const learn =
  broker && config.amqpUrl && config.learn
    ? new BrokerLearnSender({
        url: config.amqpUrl,
        owners: new OwnerDirectory({ connection: broker }),
        timeoutMs: config.learnTimeoutMs,
      })
    : undefined;
const activity = broker ? new ActivityFeed({ connection: broker, logger }) : undefined;
const app = createTokenApi({
  directory: new LdapDirectory({
    url: config.ldapUrl,
    userBase: config.ldapUserBase,
    ...(config.ldapAdminGroup ? { adminGroupDn: config.ldapAdminGroup } : {}),
    ...(config.ldapBindDn ? { bindDn: config.ldapBindDn, bindPassword: config.ldapBindPassword ?? '' } : {}),
  }),
  tokens: new TokenSigner(config.tokenSecret, config.tokenTtlSeconds),
  amqp: { ...config.amqp, vhost: config.vhost },
  ...(config.managementUrl && config.adminAmqpUrl
    ? { provisioner: provisioner(config.managementUrl, config.adminAmqpUrl) }
    : {}),
  ...(quarantine ? { quarantine } : {}),
  ...(learn ? { learn } : {}),
  ...(activity ? { activity } : {}),
  secureCookie: config.secureCookie,
  ...(config.publicOrigin ? { publicOrigin: config.publicOrigin } : {}),
  logger,
});
const server = serve({ fetch: app.fetch, hostname: config.listen.host, port: config.listen.port }, (info) =>
  logger.info({ event: 'listening', ...info }, 'psf-token-api ready'),
);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () =>
    server.close(async () => {
      await reinjector?.close();
      await activity?.close();
      await broker?.close();
      process.exit(0);
    }),
  );
}
