import { OWNED_HEADER_PREFIXES } from '@psf/protocol';

const CRLF = Buffer.from('\r\n');

/** Offset just past the blank line that ends the header block, or -1 (a mail of headers only). */
export function headerEnd(raw: Buffer): number {
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  if (crlf === -1 && lf === -1) return -1;
  if (crlf !== -1 && (lf === -1 || crlf < lf)) return crlf + 4;
  return lf + 2;
}

function isOwned(line: Buffer): boolean {
  const colon = line.indexOf(':');
  if (colon <= 0) return false;
  const name = line.subarray(0, colon).toString('latin1').trimEnd().toLowerCase();
  return OWNED_HEADER_PREFIXES.some((p) => name.startsWith(p));
}

const SUBJECT = /^subject[ \t]*:[ \t]?/i;

/**
 * The new header block for a mail that starts with `head`: every incoming X-PSF-* and X-Spam-*
 * field removed (so no sender can spoof a verdict), `add` prepended, and `subjectTag` put before
 * the Subject (unless it starts with it already). Fields are cut with their folded continuation
 * lines. The result replaces `head[0, consumed)`; the rest of the mail follows unchanged.
 * `complete` says whether `head` is the whole mail; if not and the header block does not end
 * within it, only its complete lines are rewritten.
 */
export function rewriteHead(
  head: Buffer,
  complete: boolean,
  add: ReadonlyArray<readonly [string, string]>,
  subjectTag?: string,
): { header: Buffer; consumed: number } {
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
  return { header: Buffer.concat(parts), consumed: headerBytes };
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
