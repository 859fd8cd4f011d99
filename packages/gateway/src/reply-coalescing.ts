import type { Server, Socket } from 'node:net';

/**
 * Postfix pipelines MAIL, RCPT and DATA in one packet, and smtp-server, which handles them in one
 * go, answers each with its own socket write: a system call each, which on loopback also runs
 * Postfix's side of TCP. Corking a session's socket while a packet is handled sends the replies it
 * produced in one write; a reply that waits for something (the 250 after classification) goes
 * out on its own as before. Only replies given in the same turn are joined: the server's
 * onMailFrom and onRcptTo must answer at once (smtp-server's defaults wait a setImmediate each).
 */
export function coalesceReplies(server: Server): void {
  server.on('connection', (socket: Socket) => {
    socket.prependListener('data', () => {
      if (socket.writableCorked) return;
      socket.cork();
      process.nextTick(() => socket.uncork());
    });
  });
}
