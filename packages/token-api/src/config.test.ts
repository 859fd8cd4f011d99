import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

const env = {
  PSF_LDAP_URL: 'ldap://127.0.0.1:389',
  PSF_LDAP_USER_BASE: 'ou=people,dc=example,dc=org',
  PSF_TOKEN_SECRET: 'z'.repeat(32),
};

describe('psf-token-api configuration', () => {
  it('leaves corrections off by default, and turns them on only with an AMQP URL', () => {
    expect(loadConfig(undefined, env)).toMatchObject({ learn: false, learnTimeoutMs: 10_000 });
    expect(() => loadConfig(undefined, { ...env, PSF_LEARN: 'true' })).toThrow(/learn/);
    expect(
      loadConfig(undefined, {
        ...env,
        PSF_LEARN: 'true',
        PSF_LEARN_TIMEOUT_MS: '5000',
        PSF_AMQP_URL: 'amqp://psf-token-api:secret@127.0.0.1:5672/psf',
      }),
    ).toMatchObject({ learn: true, learnTimeoutMs: 5000 });
  });
});
