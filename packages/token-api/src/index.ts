/**
 * @psf/token-api: mailbox owners log in (LDAP), get a short-lived token and their classifier's
 * connection details; RabbitMQ's HTTP auth backend asks it who may read which queue.
 *
 * @example
 * ```ts
 * import { createTokenApi, LdapDirectory, TokenSigner } from '@psf/token-api';
 * import { serve } from '@hono/node-server';
 * const app = createTokenApi({
 *   directory: new LdapDirectory({ url: 'ldap://127.0.0.1:389', userBase: 'ou=people,dc=example,dc=org' }),
 *   tokens: new TokenSigner(process.env.PSF_TOKEN_SECRET!),
 *   amqp: { host: 'mail.example.org', port: 5672, vhost: 'psf' },
 * });
 * serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 8080 });
 * ```
 */

export type { ActivitySource, OwnerActivity, RecentVerdict } from './activity.js';
export type { Provisioner, TokenApiOptions } from './app.js';
export { createTokenApi } from './app.js';
export type { Directory, Identity, LdapDirectoryOptions } from './directory.js';
export { LdapDirectory } from './directory.js';
export type { BrokerLearnSenderOptions, LearnSender } from './learn-sender.js';
export { BrokerLearnSender } from './learn-sender.js';
export { LoginLimiter } from './login-limiter.js';
export type { BrokerQuarantineAccessOptions, QuarantineAccess, QuarantineItem } from './quarantine-access.js';
export { BrokerQuarantineAccess } from './quarantine-access.js';
export type { TokenClaims } from './tokens.js';
export { TokenError, TokenSigner } from './tokens.js';
