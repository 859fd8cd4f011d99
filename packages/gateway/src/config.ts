import { amqpUrlList, hostPort, readConfig } from '@psf/broker';
import { z } from 'zod';
import type { GatewayOptions } from './gateway.js';
import { DEFAULT_MAX_SCAN_BYTES } from './mail-filter.js';
import { readOwnerMap } from './owners.js';
import { policyMapSchema } from './policy.js';

/** The gateway's configuration file (JSON); every key but `policy` can also come from the environment. */
export const configSchema = z
  .object({
    /** One URL, or a cluster's nodes' URLs separated by commas (tried in turn). */
    amqpUrl: amqpUrlList.default('amqp://guest:guest@127.0.0.1:5672/psf'),
    queueType: z.enum(['classic', 'quorum']).default('classic'),
    listen: hostPort.default({ host: '127.0.0.1', port: 10025 }),
    mode: z.enum(['after-queue-smtp', 'after-queue-lmtp', 'before-queue']).default('after-queue-smtp'),
    reinject: hostPort.default({ host: '127.0.0.1', port: 10026 }),
    reinjectPoolSize: z.coerce.number().int().min(1).max(1000).default(10),
    timeoutMs: z.coerce.number().int().min(100).max(600_000).default(10_000),
    onTimeout: z.enum(['accept', 'tempfail']).default('accept'),
    afterQueueReject: z.enum(['tag', 'bounce']).default('tag'),
    maxScanBytes: z.coerce.number().int().min(1024).default(DEFAULT_MAX_SCAN_BYTES),
    maxSessions: z.coerce.number().int().min(1).max(10_000).default(100),
    socketTimeoutMs: z.coerce.number().int().min(1000).default(60_000),
    spoolDir: z.string().min(1).optional(),
    metricsListen: hostPort.optional(),
    deadLetters: z
      .union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')])
      .default(true),
    events: z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).default(true),
    replyMode: z.enum(['direct', 'queue']).default('direct'),
    ownerMap: z.string().min(1).optional(),
    policy: policyMapSchema.optional(),
    quarantine: z
      .union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')])
      .default(true),
    quarantineRetentionDays: z.coerce.number().min(1).max(3650).default(30),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .strict();

export type GatewayConfig = z.infer<typeof configSchema>;

/** Environment variables and the keys they override. */
export const ENV: Record<string, keyof GatewayConfig> = {
  PSF_AMQP_URL: 'amqpUrl',
  PSF_QUEUE_TYPE: 'queueType',
  PSF_LISTEN: 'listen',
  PSF_MODE: 'mode',
  PSF_REINJECT: 'reinject',
  PSF_REINJECT_POOL_SIZE: 'reinjectPoolSize',
  PSF_TIMEOUT_MS: 'timeoutMs',
  PSF_ON_TIMEOUT: 'onTimeout',
  PSF_AFTER_QUEUE_REJECT: 'afterQueueReject',
  PSF_MAX_SCAN_BYTES: 'maxScanBytes',
  PSF_MAX_SESSIONS: 'maxSessions',
  PSF_SOCKET_TIMEOUT_MS: 'socketTimeoutMs',
  PSF_SPOOL_DIR: 'spoolDir',
  PSF_METRICS_LISTEN: 'metricsListen',
  PSF_DEAD_LETTERS: 'deadLetters',
  PSF_EVENTS: 'events',
  PSF_REPLY_MODE: 'replyMode',
  PSF_OWNER_MAP: 'ownerMap',
  PSF_QUARANTINE: 'quarantine',
  PSF_QUARANTINE_RETENTION_DAYS: 'quarantineRetentionDays',
  PSF_LOG_LEVEL: 'logLevel',
};

/** Reads the config file (if any), applies PSF_* environment overrides and validates the result. */
export function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv): GatewayConfig {
  return readConfig(configSchema, file, env, ENV);
}

/** Gateway options from a validated config. */
export function gatewayOptions(config: GatewayConfig): GatewayOptions {
  return {
    amqpUrl: config.amqpUrl,
    queueType: config.queueType,
    listen: config.listen,
    mode: config.mode,
    reinject: { ...config.reinject, poolSize: config.reinjectPoolSize },
    timeoutMs: config.timeoutMs,
    onTimeout: config.onTimeout,
    afterQueueReject: config.afterQueueReject,
    maxScanBytes: config.maxScanBytes,
    maxSessions: config.maxSessions,
    socketTimeoutMs: config.socketTimeoutMs,
    ...(config.spoolDir ? { spool: { dir: config.spoolDir } } : {}),
    ...(config.metricsListen ? { metrics: config.metricsListen } : {}),
    deadLetters: config.deadLetters,
    events: config.events,
    replyMode: config.replyMode,
    ...(config.ownerMap ? { ownerOf: readOwnerMap(config.ownerMap) } : {}),
    ...(config.policy ? { policy: config.policy } : {}),
    quarantine: config.quarantine ? { retentionMs: config.quarantineRetentionDays * 86_400_000 } : false,
  };
}
