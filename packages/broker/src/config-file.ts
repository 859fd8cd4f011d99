import { readFileSync } from 'node:fs';
import { PsfError } from '@psf/protocol';
import { z } from 'zod';
import { redactUrl } from './amqp-urls.js';

/** `host:port` as the psf CLIs take addresses. */
export const hostPort = z
  .string()
  .regex(/^[^:\s]+:\d{1,5}$/, 'expected host:port')
  .transform((s) => {
    const i = s.lastIndexOf(':');
    return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
  });

/**
 * How every psf command reads its configuration: a JSON file (optional), then environment
 * variables over it (`envKeys`: variable -> key), validated once. Throws PsfError `CONFIG` naming
 * the file or the bad key.
 */
export function readConfig<S extends z.ZodType>(
  schema: S,
  file: string | undefined,
  env: NodeJS.ProcessEnv,
  envKeys: Record<string, string>,
): z.output<S> {
  let raw: Record<string, unknown> = {};
  if (file) {
    try {
      raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new PsfError('CONFIG', `cannot read config file ${file}: ${(err as Error).message}`);
    }
  }
  for (const [name, key] of Object.entries(envKeys)) if (env[name] !== undefined) raw[key] = env[name];
  const parsed = schema.safeParse(raw);
  if (!parsed.success)
    throw new PsfError('CONFIG', `invalid configuration:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** The configuration as `--print-config` shows it: passwords and secrets (keys and URLs) hidden. */
export function redactConfig(config: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(config).map(([key, value]) => {
      if (typeof value !== 'string') return [key, value];
      if (/password|secret/i.test(key)) return [key, '***'];
      // One URL, or a comma-separated list of cluster nodes.
      if (/^[a-z]+:\/\/[^/]*:[^/]*@/i.test(value)) return [key, value.split(',').map(redactUrl).join(',')];
      return [key, value];
    }),
  );
}
