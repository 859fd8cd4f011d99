import { PsfError } from '@psf/protocol';
import { z } from 'zod';

/**
 * The nodes of a RabbitMQ cluster, as psf takes them wherever one AMQP URL is asked for: one URL,
 * or several separated by commas (`amqp://u:p@mq1/psf,amqp://u:p@mq2/psf`), tried in turn.
 */
export function amqpUrls(value: string | readonly string[]): string[] {
  const urls = (typeof value === 'string' ? value.split(',') : [...value]).map((u) => u.trim());
  if (urls.length === 0 || urls.some((u) => u === ''))
    throw new PsfError('CONFIG', 'expected one AMQP URL or several separated by commas');
  for (const u of urls) {
    let protocol: string;
    try {
      protocol = new URL(u).protocol;
    } catch {
      throw new PsfError('CONFIG', `not a URL: ${redactUrl(u)}`);
    }
    if (protocol !== 'amqp:' && protocol !== 'amqps:')
      throw new PsfError('CONFIG', `expected amqp: or amqps:, got ${protocol} in ${redactUrl(u)}`);
  }
  return urls;
}

/** A config key holding one AMQP URL or a comma-separated list of cluster nodes. */
export const amqpUrlList = z.string().refine(
  (value) => {
    try {
      return amqpUrls(value).length > 0;
    } catch {
      return false;
    }
  },
  { message: 'expected an amqp:// URL, or several separated by commas' },
);

/** The URL as logs may show it: password hidden. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}
