/**
 * @psf/broker: RabbitMQ for psf: a connection that recovers by itself, the topology, and the
 * RPC client the gateway uses to ask classifiers.
 *
 * @example
 * ```ts
 * import { BrokerConnection, RpcClient, topologySetup } from '@psf/broker';
 * const connection = await BrokerConnection.open({
 *   url: 'amqp://guest:guest@127.0.0.1:5672/psf',
 *   setup: topologySetup(), // declares the topology on every (re)connection
 * });
 * const rpc = new RpcClient({ connection });
 * const verdict = await rpc.call('alice@example.org', request);
 * ```
 */

export { amqpUrlList, amqpUrls, redactUrl } from './amqp-urls.js';
export { hostPort, readConfig, redactConfig } from './config-file.js';
export type { BrokerConnectionEvents, BrokerConnectionOptions } from './connection.js';
export { BrokerConnection } from './connection.js';
export type { DeadLetter } from './dead-letters.js';
export { DeadLetterWatcher, deadLetterOf } from './dead-letters.js';
export type { EventPublisherOptions, ReadEventsOptions } from './event-log.js';
export { EventFollower, EventPublisher, readEvents } from './event-log.js';
export type { RabbitLdapOptions } from './ldap-config.js';
export { rabbitLdapConfig } from './ldap-config.js';
export type { Logger } from './logger.js';
export { silentLogger } from './logger.js';
export type { ManagementOptions, Permissions, QueueInfo } from './management.js';
export { Management } from './management.js';
export type { OwnerDirectoryOptions } from './owner-directory.js';
export { OwnerDirectory } from './owner-directory.js';
export type {
  AddUserOptions,
  AddUserReport,
  InstallOptions,
  ProvisioningReport,
  RemoveUserReport,
  UserOptions,
  UserQueueInfo,
} from './provisioning.js';
export { addUser, install, listUsers, removeUser, userPermissions } from './provisioning.js';
export type { QuarantineEntry, QuarantineOptions } from './quarantine.js';
export { Quarantine } from './quarantine.js';
export type { ReplyMode, RpcClientOptions } from './rpc-client.js';
export { RpcClient } from './rpc-client.js';
export type { QueueType, TopologyOptions } from './topology.js';
export {
  assertTopology,
  assertUserQueue,
  deleteUserQueue,
  queueTypeArgs,
  topologySetup,
} from './topology.js';
