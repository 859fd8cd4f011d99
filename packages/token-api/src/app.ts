import { Hono } from 'hono';

export interface TokenApiOptions {
  /** Reported by /healthz, e.g. the deployment's name. */
  name?: string;
}

/**
 * The token API's HTTP app (hono). For now it serves only its health check; LDAP login, tokens
 * and RabbitMQ's HTTP auth backend endpoints come next.
 */
export function createTokenApi(options: TokenApiOptions = {}): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ ok: true, service: options.name ?? 'psf-token-api' }));
  return app;
}
