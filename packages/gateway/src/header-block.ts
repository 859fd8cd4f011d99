import { OWNED_HEADER_PREFIXES } from '@psf/protocol';

const CRLF = Buffer.from('\r\n');

/**
 * Offset just past the blank line that ends the header block, or -1 (a mail of headers only). The
 * blank line may be the first (a mail without header) and may end a bare-LF line (`\n\r\n`).
 */
export function headerEnd(raw: Buffer): number {
  if (raw[0] === 0x0a) return 1;
  if (raw[0] === 0x0d && raw[1] === 0x0a) return 2;
  const crlf = raw.indexOf('\n\r\n');
  const lf = raw.indexOf('\n\n');
  if (crlf === -1 && lf === -1) return -1;
  if (crlf !== -1 && (lf === -1 || crlf < lf)) return crlf + 3;
  return lf + 2;
}

/** Bytes of a line that tell whether it starts a psf-owned field: the longest prefix. */
const OWNED_PREFIX_BYTES = Math.max(...OWNED_HEADER_PREFIXES.map((p) => p.length));

/** Whether a line starts a psf-owned field (decided on its first OWNED_PREFIX_BYTES bytes). */
function isOwned(line: Buffer): boolean {
  const start = line.subarray(0, OWNED_PREFIX_BYTES).toString('latin1').toLowerCase();
  return OWNED_HEADER_PREFIXES.some((p) => start.startsWith(p));
}

const SUBJECT = /^subject[ \t]*:[ \t]?/i;

/**
 * The new header block for a mail that starts with `head`: every incoming X-PSF-* and X-Spam-*
 * field removed (so no sender can spoof a verdict), `add` prepended, and `subjectTag` put before
 * the Subject (unless it starts with it already). Fields are cut with their folded continuation
 * lines. The result replaces `head[0, consumed)`; the rest of the mail follows unchanged.
 * `complete` says whether `head` is the whole mail; if not and the header block does not end
 * within it, only its complete lines are rewritten, and `dropping` says whether the last of them
 * belongs to a dropped field (for dropOwnedFields, which goes on from `consumed`).
 */
export function rewriteHead(
  head: Buffer,
  complete: boolean,
  add: ReadonlyArray<readonly [string, string]>,
  subjectTag?: string,
): { header: Buffer; consumed: number; dropping: boolean } {
  const end = headerEnd(head);
  const headerBytes = end !== -1 ? end : complete ? head.length : head.lastIndexOf(10) + 1;
  const parts: Buffer[] = add.map(([name, value]) => Buffer.from(`${name}: ${value}\r\n`, 'utf8'));
  let dropping = false;
  let keptFrom = 0;
  let pos = 0;
  while (pos < headerBytes) {
    let nl = head.indexOf(10, pos);
    if (nl === -1 || nl >= headerBytes) nl = headerBytes - 1;
    const line = head.subarray(pos, nl + 1);
    const continuation = line[0] === 0x20 || line[0] === 0x09;
    const drop: boolean = continuation ? dropping : isOwned(line);
    if (drop && !dropping) parts.push(head.subarray(keptFrom, pos));
    if (!drop && dropping) keptFrom = pos;
    dropping = drop;
    if (subjectTag && !drop && !continuation) {
      const m = SUBJECT.exec(line.toString('latin1'));
      if (m && !line.subarray(m[0].length).toString('utf8').startsWith(subjectTag)) {
        // Split the kept run around the insertion point; the tag is written as UTF-8.
        parts.push(head.subarray(keptFrom, pos + m[0].length), Buffer.from(subjectTag, 'utf8'));
        keptFrom = pos + m[0].length;
        subjectTag = undefined;
      }
    }
    pos = nl + 1;
  }
  if (!dropping) parts.push(head.subarray(keptFrom, headerBytes));
  // A mail of headers only, without a final line end.
  if (complete && end === -1 && head.length > 0 && head[head.length - 1] !== 10) parts.push(CRLF);
  return { header: Buffer.concat(parts), consumed: headerBytes, dropping };
}

/**
 * The rest of a header block that did not fit in the head of a spooled mail, from a line start
 * on: psf-owned fields dropped with their folded lines up to the blank line, then the body as it
 * is. Only a line's first bytes are held, so a huge field or 100,000 of them cost no memory.
 */
export async function* dropOwnedFields(
  chunks: AsyncIterable<Buffer>,
  dropping: boolean,
): AsyncGenerator<Buffer> {
  let held: Buffer = Buffer.alloc(0); // the start of a line, too short yet to decide on
  let atLineStart = true;
  let drop = dropping;
  let body = false;
  for await (const chunk of chunks) {
    if (body) {
      yield chunk;
      continue;
    }
    const buf = held.length ? Buffer.concat([held, chunk]) : chunk;
    held = Buffer.alloc(0);
    const out: Buffer[] = [];
    let i = 0;
    while (i < buf.length) {
      const nl = buf.indexOf(10, i);
      if (atLineStart) {
        if (buf[i] === 10 || (buf[i] === 13 && buf[i + 1] === 10)) {
          body = true; // the blank line: the rest is body
          out.push(buf.subarray(i));
          break;
        }
        const continuation = buf[i] === 0x20 || buf[i] === 0x09;
        if (!continuation && nl === -1 && buf.length - i < OWNED_PREFIX_BYTES + 1) {
          held = buf.subarray(i);
          break;
        }
        drop = continuation ? drop : isOwned(buf.subarray(i));
      }
      const end = nl === -1 ? buf.length : nl + 1;
      if (!drop) out.push(buf.subarray(i, end));
      atLineStart = nl !== -1;
      i = end;
    }
    if (out.length) yield Buffer.concat(out);
  }
  if (held.length && !isOwned(held)) yield held; // a last line without line end
}

/** rewriteHead for a mail held in memory: the whole rewritten mail. The body is not copied twice. */
export function rewriteHeaders(
  raw: Buffer,
  add: ReadonlyArray<readonly [string, string]>,
  subjectTag?: string,
): Buffer {
  const { header, consumed } = rewriteHead(raw, true, add, subjectTag);
  return Buffer.concat([header, raw.subarray(consumed)]);
}

/** The Message-ID of the mail, for logs; undefined when it has none. */
export function messageId(raw: Buffer): string | undefined {
  const end = headerEnd(raw);
  const head = raw.subarray(0, end === -1 ? Math.min(raw.length, 65536) : end).toString('latin1');
  return /^message-id:[ \t]*(<[^>\r\n]{1,250}>)/im.exec(head)?.[1];
}
