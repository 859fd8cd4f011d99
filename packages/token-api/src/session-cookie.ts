import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { TokenClaims, TokenSigner } from './tokens.js';

const NAME = 'psf-session';

/**
 * The self-service session: a cookie holding a token of the kind /v1/login hands out, so it ends
 * when the token expires and needs no server-side store. HttpOnly (scripts never see it),
 * SameSite=Strict (no other site's form or link carries it), Path=/; with `secure` it is also
 * Secure and named `__Host-psf-session`, which browsers accept only over HTTPS and never for
 * another host.
 */
export class SessionCookie {
  readonly #tokens: TokenSigner;
  readonly #secure: boolean;

  constructor(tokens: TokenSigner, secure: boolean) {
    this.#tokens = tokens;
    this.#secure = secure;
  }

  #options() {
    return this.#secure
      ? ({ path: '/', httpOnly: true, sameSite: 'Strict', secure: true, prefix: 'host' } as const)
      : ({ path: '/', httpOnly: true, sameSite: 'Strict' } as const);
  }

  set(c: Context, token: string, expiresAt: number): void {
    const maxAge = Math.max(0, Math.floor((expiresAt - Date.now()) / 1000));
    setCookie(c, NAME, token, { ...this.#options(), maxAge });
  }

  /** The session's claims, or undefined without a valid, unexpired session. */
  async read(c: Context): Promise<TokenClaims | undefined> {
    const token = getCookie(c, NAME, this.#secure ? 'host' : undefined);
    if (!token) return undefined;
    return this.#tokens.verify(token).catch(() => undefined);
  }

  clear(c: Context): void {
    deleteCookie(c, NAME, this.#options());
  }
}
