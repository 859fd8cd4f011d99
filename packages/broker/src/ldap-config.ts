import { DEFAULT_EXCHANGE, USER_QUEUE_PREFIX } from '@psf/protocol';

export interface RabbitLdapOptions {
  /** LDAP server host names (tried in order) and port. */
  servers: string[];
  port?: number;
  /** Where users are looked up by their mail address, e.g. ou=people,dc=example,dc=org. */
  userBase: string;
  /** The attribute that holds the owner id RabbitMQ users log in with. Default `mail`. */
  loginAttribute?: string;
  /** The psf vhost. Default `psf`. */
  vhost?: string;
  /** How long RabbitMQ's auth cache keeps an answer, ms. Default 60 000. */
  cacheTtlMs?: number;
  /** Use LDAPS / StartTLS. Default false (loopback or a trusted network only). */
  tls?: boolean;
}

/** Erlang string literal. */
const erl = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/**
 * rabbitmq.conf lines and advanced.config for RabbitMQ's own LDAP backend (with the auth cache),
 * granting what the token API's HTTP backend grants: a user (logging in with their mail address
 * and LDAP password) may read only psf.user.<their address> and write only to the default
 * exchange (replies), in the psf vhost; nothing else. `internal` stays first so admin users of
 * the broker keep working.
 */
export function rabbitLdapConfig(options: RabbitLdapOptions): { conf: string; advanced: string } {
  const vhost = options.vhost ?? 'psf';
  const conf = [
    'auth_backends.1 = internal',
    'auth_backends.2 = cache',
    'auth_cache.cached_backend = ldap',
    `auth_cache.cache_ttl = ${options.cacheTtlMs ?? 60_000}`,
    ...options.servers.map((s, i) => `auth_ldap.servers.${i + 1} = ${s}`),
    `auth_ldap.port = ${options.port ?? (options.tls ? 636 : 389)}`,
    `auth_ldap.use_ssl = ${options.tls ? 'true' : 'false'}`,
    `auth_ldap.dn_lookup_attribute = ${options.loginAttribute ?? 'mail'}`,
    `auth_ldap.dn_lookup_base = ${options.userBase}`,
    // The lookup binds anonymously; then RabbitMQ binds as the user with their password.
    'auth_ldap.dn_lookup_bind = anon',
    'auth_ldap.other_bind = as_user',
    '',
  ].join('\n');
  const deny = '{constant, false}';
  const advanced = `[{rabbitmq_auth_backend_ldap, [
  {vhost_access_query, {equals, "\${vhost}", ${erl(vhost)}}},
  {resource_access_query, {for, [
    {resource, queue, {for, [
      {permission, read, {equals, "\${name}", ${erl(`${USER_QUEUE_PREFIX}\${username}`)}}},
      {permission, write, ${deny}},
      {permission, configure, ${deny}}]}},
    {resource, exchange, {for, [
      {permission, write, {equals, "\${name}", ${erl(DEFAULT_EXCHANGE)}}},
      {permission, read, ${deny}},
      {permission, configure, ${deny}}]}}]}},
  {topic_access_query, ${deny}},
  {tag_queries, [{administrator, ${deny}}, {management, ${deny}}]}
]}].
`;
  return { conf, advanced };
}
