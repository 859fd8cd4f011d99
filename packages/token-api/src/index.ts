/**
 * @psf/token-api: the HTTP API that gives mailbox owners their classifier's credentials.
 *
 * @example
 * ```ts
 * import { createTokenApi } from '@psf/token-api';
 * const app = createTokenApi();
 * const res = await app.request('/healthz');
 * ```
 */

export type { TokenApiOptions } from './app.js';
export { createTokenApi } from './app.js';
