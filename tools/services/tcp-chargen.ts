// TCP character generator (RFC 864): lines of 72 printable ASCII characters, each starting one
// character further along the 95-character set, sent as fast as the peer's window allows until
// the peer closes (FIN or RST). Anything the peer sends is read and discarded.

import { SoRecvMsg, soreceive } from '../../stack/socket/so-receive.js';
import { sosend } from '../../stack/socket/so-send.js';
import { MSG_DONTWAIT } from '../../stack/socket/constants.js';
import { EWOULDBLOCK } from '../../stack/errno.js';
import { TcpConnection } from './tcp-server.js';
import type { TcpServer } from './tcp-server.js';
import type { Socket } from '../../stack/socket/socket.js';

const LINE = 72;
const CHARS = 95; // ' ' .. '~'
/** One full cycle of the pattern: 95 lines of 72 characters and CRLF. */
export const CHARGEN_CYCLE = CHARS * (LINE + 2);
/** Bytes offered per sosend call. */
const CHUNK = 32 * 1024;
const SENDS = 64;
const READS = 64;

/** The RFC 864 pattern, long enough that any CHUNK-byte window starting inside the first cycle is contiguous. */
export function chargenPattern(): Uint8Array {
  const reps = Math.ceil((CHARGEN_CYCLE + CHUNK) / CHARGEN_CYCLE);
  const b = new Uint8Array(reps * CHARGEN_CYCLE);
  let o = 0;
  for (let r = 0; r < reps; r++) {
    for (let line = 0; line < CHARS; line++) {
      for (let i = 0; i < LINE; i++) b[o++] = 32 + ((line + i) % CHARS);
      b[o++] = 13;
      b[o++] = 10;
    }
  }
  return b;
}

export class TcpChargenConnection extends TcpConnection {
  sent = 0;
  private readonly buf = new Uint8Array(4096);
  private readonly msg = new SoRecvMsg();
  private readonly count = { value: 0 };
  private pos = 0;

  /** `pattern` comes from chargenPattern(), shared by every connection of a server. */
  constructor(server: TcpServer, so: Socket, private readonly pattern: Uint8Array) {
    super(server, so);
  }

  protected onEvents(_events: number): void {
    // The peer closing (FIN, or RST) ends the service.
    for (let i = 0; i < READS; i++) {
      const e = soreceive(this.so, [this.buf], MSG_DONTWAIT, this.msg, this.now);
      if (e === EWOULDBLOCK) break;
      if (e !== 0) { this.abort(); return; }
      if (this.msg.len === 0) { this.close(); return; }
    }
    for (let i = 0; i < SENDS; i++) {
      const chunk = this.pattern.subarray(this.pos, this.pos + CHUNK);
      const e = sosend(this.so, null, [chunk], null, null, 0, this.now, this.count);
      if (e === EWOULDBLOCK) return;
      if (e !== 0) { this.abort(); return; }
      this.sent += this.count.value;
      this.pos = (this.pos + this.count.value) % CHARGEN_CYCLE;
      if (this.count.value < chunk.length) return; // buffer full: a write wakeup brings us back
    }
    this.later();
  }
}
