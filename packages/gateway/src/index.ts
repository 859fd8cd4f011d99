/**
 * @psf/gateway: the Postfix content filter of psf.
 *
 * @example
 * ```ts
 * import { startGateway } from '@psf/gateway';
 * await using gateway = await startGateway({
 *   amqpUrl: 'amqp://psf:secret@127.0.0.1:5672/psf',
 *   listen: { port: 10025 },
 *   reinject: { port: 10026 },
 * });
 * ```
 */

export type { GatewayConfig } from './config.js';
export { configSchema, gatewayOptions, loadConfig } from './config.js';
export type { GatewayMode, GatewayOptions, Reloadable } from './gateway.js';
export { Gateway, startGateway } from './gateway.js';
export type { SpoolOptions } from './mail-body.js';
export { MailBody } from './mail-body.js';
export type { InboundMail, MailFilterOptions, MailOutcome, OwnerResult } from './mail-filter.js';
export { MailFilter } from './mail-filter.js';
export { GatewayMetrics } from './metrics.js';
export type { OwnerMap } from './owners.js';
export { addressIsOwner, readOwnerMap } from './owners.js';
export type { PipeOptions } from './pipe.js';
export { runPipe } from './pipe.js';
export type { Disposition, OnTimeout, OwnerPolicy, PolicyMap, PolicyOptions } from './policy.js';
export { greetAtOnce } from './prompt-greeting.js';
export type { MessageSource, ReinjectEnvelope, ReinjectorOptions, XForward } from './reinjector.js';
export { createReinjector, Reinjector } from './reinjector.js';
export { releaseQuarantined } from './release.js';
