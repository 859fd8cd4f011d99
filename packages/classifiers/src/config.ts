import { amqpUrlList, readConfig } from '@psf/broker';
import { DEFAULT_QUEUE, PsfError } from '@psf/protocol';
import { z } from 'zod';
import { type BuiltClassifier, KINDS, type KindDefinition } from './kinds.js';

/** Broker user names: a JSON array, or comma-separated in the environment. */
const userList = z.union([
  z.array(z.string().min(1)),
  z.string().transform((s) => s.split(',').map((x) => x.trim())),
]);

/**
 * psf-classify's configuration (JSON file; PSF_* environment variables override the top-level
 * keys): which kind runs, on which queue, and a section of options per kind, under its name.
 */
export function configSchema(kinds: Record<string, KindDefinition> = KINDS) {
  const names = Object.keys(kinds);
  return z
    .object({
      kind: z.string().refine((k) => names.includes(k), { message: `expected one of ${names.join(', ')}` }),
      /** One URL, or a cluster's nodes' URLs separated by commas (tried in turn). */
      amqpUrl: amqpUrlList.default('amqp://guest:guest@127.0.0.1:5672/psf'),
      queue: z.string().min(1).default(DEFAULT_QUEUE),
      concurrency: z.coerce.number().int().min(1).max(1000).default(16),
      /** Broker users whose requests are answered (the gateways'); comma-separated in the environment. */
      trustedPublishers: userList.optional(),
      /** Broker users whose learn requests are taken besides its own (the token API's); default trustedPublishers. */
      learnPublishers: userList.optional(),
      logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      ...Object.fromEntries(Object.entries(kinds).map(([name, k]) => [name, k.options])),
    })
    .strict();
}

export interface ClassifyConfig {
  kind: string;
  amqpUrl: string;
  queue: string;
  concurrency: number;
  trustedPublishers?: string[] | undefined;
  learnPublishers?: string[] | undefined;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Each kind's options, under its name. */
  [section: string]: unknown;
}

export const ENV: Record<string, string> = {
  PSF_KIND: 'kind',
  PSF_AMQP_URL: 'amqpUrl',
  PSF_QUEUE: 'queue',
  PSF_CONCURRENCY: 'concurrency',
  PSF_TRUSTED_PUBLISHERS: 'trustedPublishers',
  PSF_LEARN_PUBLISHERS: 'learnPublishers',
  PSF_LOG_LEVEL: 'logLevel',
};

/** Reads the file (if any), applies the environment and validates; errors name the bad key. */
export function loadConfig(
  file: string | undefined,
  env: NodeJS.ProcessEnv,
  kinds: Record<string, KindDefinition> = KINDS,
): ClassifyConfig {
  return readConfig(configSchema(kinds), file, env, ENV) as ClassifyConfig;
}

/** The configured kind's classifier, its options taken from the config's section of its name. */
export function buildClassifier(
  config: ClassifyConfig,
  kinds: Record<string, KindDefinition> = KINDS,
  kind = config.kind,
): BuiltClassifier {
  const definition = kinds[kind];
  if (!definition) throw new PsfError('CONFIG', `unknown kind ${JSON.stringify(kind)}`);
  return definition.create(config[kind], { build: (other) => buildClassifier(config, kinds, other) });
}
