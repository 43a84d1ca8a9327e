// The CFMessagePort wire format on a stream socket. CF's Mach message body (CFMessagePort.c) is
// four little-endian int32s — magic 0xF0F2F4F8, msgid, conversation id (+c request, -c reply),
// byte length (-1 = NULL data) — then the bytes. A stream needs one more thing Mach gave for free
// (whether a reply port was attached), so our header is five int32s:
//
//   0  magic   u32  0xF0F2F4F8
//   4  flags   u32  bit 0: the sender awaits a reply (CF: a reply port is attached)
//                   bit 1: hello — the first frame a remote sends on connecting (msgid 0, conv 1,
//                   no payload); it tells a client from a registration probe (no CF analogue)
//   8  msgid   i32  the caller's msgid; a reply echoes it (the requester ignores it, as CF does)
//  12  conv    i32  request: +c (c > 0, per remote port); reply: -c
//  16  length  i32  payload bytes; -1 = NULL data (arrives as an empty CFData, as in CF)
//  20  payload
//
// Messages are bounded by MAX_MESSAGE_BYTES. A frame that fails validation cannot be resynchronised
// on a stream, so the decoder reports it and the connection is closed (CF drops the one message).

export const FRAME_MAGIC = 0xf0f2f4f8;
export const FRAME_HEADER_LEN = 20;
/** Largest payload in either direction (CF allows 0x60000000; a Node process is happier with 64 MB). */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
export const FLAG_REPLY_WANTED = 1;
export const FLAG_HELLO = 2;

const F = { magic: 0, flags: 4, msgid: 8, conv: 12, length: 16 } as const;

export interface Frame {
  readonly flags: number;
  readonly msgid: number;
  readonly conv: number;
  /** null for length -1 (NULL data). */
  readonly payload: Uint8Array | null;
}

export type FrameError = 'bad-magic' | 'bad-length' | 'bad-flags' | 'bad-conv';

/** The 20-byte header for a frame. */
export function encodeFrameHeader(flags: number, msgid: number, conv: number, payload: Uint8Array | null): Uint8Array {
  const h = new Uint8Array(FRAME_HEADER_LEN);
  const dv = new DataView(h.buffer);
  dv.setUint32(F.magic, FRAME_MAGIC, true);
  dv.setUint32(F.flags, flags >>> 0, true);
  dv.setInt32(F.msgid, msgid | 0, true);
  dv.setInt32(F.conv, conv | 0, true);
  dv.setInt32(F.length, payload === null ? -1 : payload.length, true);
  return h;
}

/**
 * Incremental decoder: feed it the chunks a socket delivers, it calls `onFrame` for each complete
 * frame. A payload lying inside one chunk is passed as a view of it (no copy); one spanning chunks
 * is assembled into a buffer allocated once at its final size.
 */
export class FrameDecoder {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private failed: FrameError | null = null;

  constructor(private readonly onFrame: (f: Frame) => void) {}

  /** Returns the error that poisoned the stream, or null. */
  push(chunk: Uint8Array): FrameError | null {
    if (this.failed !== null) return this.failed;
    if (chunk.length === 0) return null;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (this.buffered >= FRAME_HEADER_LEN) {
      const head = this.peek(FRAME_HEADER_LEN);
      const dv = new DataView(head.buffer, head.byteOffset, FRAME_HEADER_LEN);
      const err = checkHeader(dv);
      if (err !== null) { this.failed = err; this.chunks = []; this.buffered = 0; return err; }
      const len = dv.getInt32(F.length, true);
      const total = FRAME_HEADER_LEN + Math.max(0, len);
      if (this.buffered < total) break;
      const flags = dv.getUint32(F.flags, true);
      const msgid = dv.getInt32(F.msgid, true);
      const conv = dv.getInt32(F.conv, true);
      const whole = this.take(total);
      this.onFrame({ flags, msgid, conv, payload: len < 0 ? null : whole.subarray(FRAME_HEADER_LEN) });
    }
    return null;
  }

  /** The first n buffered bytes (a view when they sit in one chunk). */
  private peek(n: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    return this.gather(n, false);
  }

  /** Removes and returns the first n buffered bytes. */
  private take(n: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift(); else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return out;
    }
    return this.gather(n, true);
  }

  private gather(n: number, consume: boolean): Uint8Array {
    const out = new Uint8Array(n);
    let off = 0;
    let i = 0;
    while (off < n) {
      const c = this.chunks[i]!;
      const k = Math.min(c.length, n - off);
      out.set(c.subarray(0, k), off);
      off += k;
      if (consume) {
        if (k === c.length) { this.chunks.shift(); continue; }
        this.chunks[0] = c.subarray(k);
      }
      i++;
    }
    if (consume) this.buffered -= n;
    return out;
  }
}

function checkHeader(dv: DataView): FrameError | null {
  if (dv.getUint32(F.magic, true) !== FRAME_MAGIC) return 'bad-magic';
  const flags = dv.getUint32(F.flags, true);
  if ((flags & ~(FLAG_REPLY_WANTED | FLAG_HELLO)) !== 0 || flags === (FLAG_REPLY_WANTED | FLAG_HELLO)) return 'bad-flags';
  const len = dv.getInt32(F.length, true);
  if (len < -1 || len > MAX_MESSAGE_BYTES) return 'bad-length';
  if (dv.getInt32(F.conv, true) === 0) return 'bad-conv';
  return null;
}
