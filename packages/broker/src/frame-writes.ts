import type { ChannelModel } from 'amqplib';

/** What amqplib's frame multiplexer looks like inside (lib/mux.js): `out` is the socket. */
interface Mux {
  out: { cork(): void; uncork(): void };
  _readIncoming(): void;
}

/**
 * amqplib gives every frame its own socket write: a publish of more than 2 KiB is two writes (method
 * and header, then the body), an ack one more, each a system call that on loopback also runs the
 * receiver's side of TCP. Its multiplexer writes all frames queued in one turn of the event loop in
 * one pass; corking the socket around that pass sends them with one writev. A gateway then makes
 * one write per request instead of two, a classifier one per verdict and ack.
 *
 * This reaches into amqplib's internals, so it checks their shape and otherwise changes nothing
 * (returns false): frames then go out as amqplib writes them, which is only slower.
 */
export function coalesceFrameWrites(model: ChannelModel): boolean {
  const mux = (model as unknown as { connection?: { muxer?: Partial<Mux> } }).connection?.muxer;
  const pass = mux?._readIncoming;
  const out = mux?.out;
  if (
    !mux ||
    typeof pass !== 'function' ||
    typeof out?.cork !== 'function' ||
    typeof out.uncork !== 'function'
  )
    return false;
  mux._readIncoming = function (this: Mux) {
    this.out.cork();
    try {
      pass.call(this);
    } finally {
      this.out.uncork();
    }
  };
  return true;
}
