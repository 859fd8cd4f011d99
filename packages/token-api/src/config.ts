import { amqpUrlList, hostPort, readConfig } from '@psf/broker';
import { z } from 'zod';

/** psf-token-api's configuration (JSON file; PSF_* environment variables override). */
export const configSchema = z
  .object({
    listen: hostPort.default({ host: '127.0.0.1', port: 8080 }),
    ldapUrl: z.string().regex(/^ldaps?:\/\//, 'expected ldap:// or ldaps://'),
    ldapUserBase: z.string().min(1),
    ldapAdminGroup: z.string().min(1).optional(),
    ldapBindDn: z.string().min(1).optional(),
    ldapBindPassword: z.string().optional(),
    /** HS256 secret; at least 32 characters. Prefer the environment or a file readable by this user only. */
    tokenSecret: z.string().min(32, 'the token secret must be at least 32 characters'),
    tokenTtlSeconds: z.coerce.number().int().min(60).max(86_400).default(3600),
    /** What users are told to connect to. */
    amqp: hostPort.default({ host: '127.0.0.1', port: 5672 }),
    vhost: z.string().min(1).default('psf'),
    /** For the admin endpoints that add and remove users: RabbitMQ's management API and an admin AMQP URL. */
    managementUrl: z.string().url().optional(),
    adminAmqpUrl: z.string().url().optional(),
    /**
     * The quarantine on the self-service pages: the AMQP URL the token API reads the gateways'
     * quarantine queues with, and where released mail is reinjected (as psf-gateway's keys).
     */
    amqpUrl: amqpUrlList.optional(),
    /** As the gateways' `queueType`: the quarantine queues are declared with it. */
    queueType: z.enum(['classic', 'quorum']).default('classic'),
    reinject: hostPort.default({ host: '127.0.0.1', port: 10026 }),
    /**
     * "Not spam" / "Spam" on the quarantine list (needs `amqpUrl`): its user must be in the
     * classifiers' `learnPublishers`, or their learn requests are dead-lettered.
     */
    learn: z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).default(false),
    /** How long a correction waits for the classifier's answer. */
    learnTimeoutMs: z.coerce.number().int().min(1000).max(60_000).default(10_000),
    /** Browsers reach the API over HTTPS (directly or through a proxy): the session cookie is Secure. */
    secureCookie: z
      .union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')])
      .default(false),
    /** The origin browsers see when a proxy changes it, e.g. https://mail.example.org. */
    publicOrigin: z
      .string()
      .url()
      .transform((u) => new URL(u).origin)
      .optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .strict()
  .refine((c) => !c.managementUrl === !c.adminAmqpUrl, {
    message: 'managementUrl and adminAmqpUrl go together',
    path: ['adminAmqpUrl'],
  })
  .refine((c) => !c.learn || c.amqpUrl, { message: 'learn needs amqpUrl', path: ['learn'] });

export type TokenApiConfig = z.infer<typeof configSchema>;

export const ENV: Record<string, keyof TokenApiConfig> = {
  PSF_LISTEN: 'listen',
  PSF_LDAP_URL: 'ldapUrl',
  PSF_LDAP_USER_BASE: 'ldapUserBase',
  PSF_LDAP_ADMIN_GROUP: 'ldapAdminGroup',
  PSF_LDAP_BIND_DN: 'ldapBindDn',
  PSF_LDAP_BIND_PASSWORD: 'ldapBindPassword',
  PSF_TOKEN_SECRET: 'tokenSecret',
  PSF_TOKEN_TTL_SECONDS: 'tokenTtlSeconds',
  PSF_AMQP: 'amqp',
  PSF_VHOST: 'vhost',
  PSF_MANAGEMENT_URL: 'managementUrl',
  PSF_ADMIN_AMQP_URL: 'adminAmqpUrl',
  PSF_AMQP_URL: 'amqpUrl',
  PSF_QUEUE_TYPE: 'queueType',
  PSF_REINJECT: 'reinject',
  PSF_LEARN: 'learn',
  PSF_LEARN_TIMEOUT_MS: 'learnTimeoutMs',
  PSF_SECURE_COOKIE: 'secureCookie',
  PSF_PUBLIC_ORIGIN: 'publicOrigin',
  PSF_LOG_LEVEL: 'logLevel',
};

/** Reads the file (if any), applies the environment and validates; errors name the bad key. */
export function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv): TokenApiConfig {
  return readConfig(configSchema, file, env, ENV);
}
