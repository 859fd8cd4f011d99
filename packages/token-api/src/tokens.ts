import { sign, verify } from 'hono/jwt';

/** What a token says: the owner it was issued to, and whether they are an admin. */
export interface TokenClaims {
  owner: string;
  admin: boolean;
  /** Epoch seconds. */
  exp: number;
}

export class TokenError extends Error {
  override readonly name = 'TokenError';
}

/** Short-lived HS256 tokens (hono's JWT helpers): issued at login, refreshed before they expire. */
export class TokenSigner {
  readonly #secret: string;
  readonly #ttlSeconds: number;

  constructor(secret: string, ttlSeconds = 3600) {
    if (secret.length < 32) throw new Error('the token secret must be at least 32 characters');
    this.#secret = secret;
    this.#ttlSeconds = ttlSeconds;
  }

  async issue(owner: string, admin: boolean): Promise<{ token: string; expiresAt: number }> {
    const exp = Math.floor(Date.now() / 1000) + this.#ttlSeconds;
    return { token: await sign({ sub: owner, admin, exp }, this.#secret, 'HS256'), expiresAt: exp * 1000 };
  }

  /** The token's claims; throws TokenError for a forged, malformed or expired token. */
  async verify(token: string): Promise<TokenClaims> {
    try {
      const payload = await verify(token, this.#secret, 'HS256');
      if (typeof payload.sub !== 'string' || typeof payload.exp !== 'number') throw new Error('bad claims');
      return { owner: payload.sub, admin: payload.admin === true, exp: payload.exp };
    } catch (err) {
      throw new TokenError(
        /expired/i.test((err as Error).name + (err as Error).message) ? 'token expired' : 'invalid token',
      );
    }
  }
}
