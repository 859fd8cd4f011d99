import type { Socket } from 'node:net';
import type { SMTPServer } from 'smtp-server';

/** The parts of smtp-server 3.x that this reaches into; checked before use. */
interface ServerInternals {
  connect?: (socket: Socket, options: unknown) => void;
  connections?: Set<ConnectionInternals>;
  options: { maxClients?: number; secure?: boolean };
}
interface ConnectionInternals {
  connectionReady?: (next?: () => void) => void;
}

/**
 * smtp-server holds every new session's 220 for 100 ms, to catch clients that talk before the
 * greeting (as Postfix's postscreen does for the internet). A content filter's only peer is
 * Postfix, and each new connection from Postfix's smtp or smtpd proxy would wait those 100 ms:
 * this greets at once instead, and the late timer then does nothing. A full server (maxClients)
 * keeps smtp-server's own 421. Returns false, and leaves the server alone, for implicit TLS (the
 * greeting waits for the handshake) or if smtp-server's internals are not as expected.
 */
export function greetAtOnce(server: SMTPServer): boolean {
  const internals = server as unknown as ServerInternals;
  const connect = internals.connect;
  const connections = internals.connections;
  if (typeof connect !== 'function' || !(connections instanceof Set) || internals.options.secure)
    return false;
  internals.connect = function (this: ServerInternals, socket, options) {
    connect.call(this, socket, options);
    const { maxClients } = internals.options;
    if (maxClients && connections.size > maxClients) return; // smtp-server answered 421
    let added: ConnectionInternals | undefined;
    for (const conn of connections) added = conn; // a Set keeps insertion order: the new one is last
    const ready = added?.connectionReady;
    if (!added || typeof ready !== 'function') return;
    let greeted = false;
    added.connectionReady = (next) => {
      if (greeted) return;
      greeted = true;
      ready.call(added, next);
    };
    added.connectionReady();
  };
  return true;
}
