import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gatewayOptions, loadConfig } from './config.js';

const dir = mkdtempSync(join(tmpdir(), 'psf-config-'));
let files = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(content: string): string {
  const path = join(dir, `${++files}-gateway.json`);
  writeFileSync(path, content);
  return path;
}

describe('loadConfig', () => {
  it('defaults every endpoint to loopback and the standard filter ports', () => {
    const c = loadConfig(undefined, {});
    expect(c.listen).toEqual({ host: '127.0.0.1', port: 10025 });
    expect(c.reinject).toEqual({ host: '127.0.0.1', port: 10026 });
    expect(c.onTimeout).toBe('accept');
  });

  it('takes a cluster as comma-separated node URLs, and quorum queues', () => {
    const urls = 'amqp://gw:pw@mq1:5672/psf,amqp://gw:pw@mq2:5672/psf';
    const o = gatewayOptions(loadConfig(undefined, { PSF_AMQP_URL: urls, PSF_QUEUE_TYPE: 'quorum' }));
    expect(o).toMatchObject({ amqpUrl: urls, queueType: 'quorum' });
    expect(loadConfig(undefined, {}).queueType).toBe('classic');
    expect(() => loadConfig(undefined, { PSF_AMQP_URL: 'amqp://mq1,http://mq2' })).toThrow(/amqpUrl/);
    expect(() => loadConfig(undefined, { PSF_QUEUE_TYPE: 'stream' })).toThrow(/queueType/);
  });

  it('reads per-owner policies from the file', () => {
    const policy = {
      default: { tagAbove: 5, subjectTag: '[SPAM] ' },
      owners: { alice: { rejectAbove: 12 } },
    };
    expect(gatewayOptions(loadConfig(file(JSON.stringify({ policy })), {})).policy).toEqual(policy);
  });

  it('reads the file and lets PSF_* environment variables override it', () => {
    const path = file(JSON.stringify({ timeoutMs: 5000, onTimeout: 'tempfail', listen: '127.0.0.1:2525' }));
    const c = loadConfig(path, { PSF_TIMEOUT_MS: '2500', PSF_REINJECT: '127.0.0.1:2526' });
    expect(c).toMatchObject({
      timeoutMs: 2500,
      onTimeout: 'tempfail',
      listen: { port: 2525 },
      reinject: { port: 2526 },
    });
    expect(gatewayOptions(c).reinject).toEqual({ host: '127.0.0.1', port: 2526, poolSize: 10 });
  });

  it('names the bad key: unknown keys, bad values, unreadable files', () => {
    expect(() => loadConfig(file('{"timeoutMS": 5}'), {})).toThrow(/timeoutMS/);
    expect(() => loadConfig(undefined, { PSF_ON_TIMEOUT: 'maybe' })).toThrow(/onTimeout/);
    expect(() => loadConfig(undefined, { PSF_LISTEN: 'nowhere' })).toThrow(/host:port.*at listen/s);
    expect(() => loadConfig(file('{'), {})).toThrow(/cannot read config file/);
    expect(() => loadConfig(file('{"policy": {"default": {"tagAbov": 5}}}'), {})).toThrow(/tagAbov/);
  });
});
