import { describe, expect, it } from 'vitest';
import { amqpUrlList, amqpUrls, redactUrl } from './amqp-urls.js';
import { redactConfig } from './config-file.js';

describe('amqpUrls', () => {
  it('splits a comma-separated list of cluster nodes and keeps a single URL as it is', () => {
    expect(amqpUrls('amqp://u:p@mq1:5672/psf, amqp://u:p@mq2:5672/psf')).toEqual([
      'amqp://u:p@mq1:5672/psf',
      'amqp://u:p@mq2:5672/psf',
    ]);
    expect(amqpUrls('amqps://mq/psf')).toEqual(['amqps://mq/psf']);
    expect(amqpUrls(['amqp://a', 'amqp://b'])).toEqual(['amqp://a', 'amqp://b']);
  });

  it('refuses empty entries, other protocols and non-URLs, without showing the password', () => {
    expect(() => amqpUrls('amqp://a,,amqp://b')).toThrow(/separated by commas/);
    expect(() => amqpUrls('amqp://u:secret@a,http://u:secret@b')).toThrow(/expected amqp: or amqps:/);
    expect(() => amqpUrls('amqp://u:secret@a,http://u:secret@b')).not.toThrow(/secret/);
    expect(() => amqpUrls('nonsense')).toThrow(/not a URL/);
    expect(amqpUrlList.safeParse('amqp://a,amqp://b').success).toBe(true);
    expect(amqpUrlList.safeParse('amqp://a,ftp://b').success).toBe(false);
  });

  it('hides the password of every node in printed configurations', () => {
    expect(redactUrl('amqp://u:secret@a/psf')).toBe('amqp://u:***@a/psf');
    const shown = redactConfig({ amqpUrl: 'amqp://u:secret@a/psf,amqp://u:secret@b/psf' });
    expect(shown.amqpUrl).toBe('amqp://u:***@a/psf,amqp://u:***@b/psf');
  });
});
