import { describe, expect, it } from 'vitest';
import { createTokenApi } from './app.js';

describe('token API', () => {
  it('answers its health check and 404 for anything else', async () => {
    const app = createTokenApi({ name: 'test' });
    const ok = await app.request('/healthz');
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ ok: true, service: 'test' });
    expect((await app.request('/v1/login', { method: 'POST' })).status).toBe(404);
  });
});
