// TCP echo service (RFC 862): everything received is sent back, with TCP_NODELAY so small
// messages come back at once. Reading stops while the send buffer is full (the peer's window is
// our backpressure); after the peer's FIN and the last echoed byte, we close (FIN).
//
// Data is read into the server's shared scratch buffer and sent from there; only bytes the send
// buffer could not take before the pass ends are copied into a buffer of the connection's own
// (allocated the first time that happens), so a connection that never meets backpressure
// allocates nothing per message and no 64 KB buffer at all.

import type { Socket } from '../../stack/socket/socket.js';
import { soreceive } from '../../stack/socket/so-receive.js';
import { sosend } from '../../stack/socket/so-send.js';
import { MSG_DONTWAIT } from '../../stack/socket/constants.js';
import { EWOULDBLOCK } from '../../stack/errno.js';
import { SCRATCH_BYTES, setNoDelay, TcpConnection } from './tcp-server.js';
import type { TcpServer } from './tcp-server.js';

/** Read/send rounds per wakeup before yielding to the event loop. */
const MAX_ROUNDS = 64;

export class TcpEchoConnection extends TcpConnection {
  echoed = 0;
  /** Holds [off, off + len) between passes when the send buffer was full; null until first needed. */
  private pending: Uint8Array | null = null;
  private off = 0;
  private len = 0;
  private eof = false;

  constructor(server: TcpServer, so: Socket) {
    super(server, so);
    setNoDelay(so);
  }

  protected onEvents(_events: number): void {
    const srv = this.server;
    const msg = srv.recvMsg;
    const sent = srv.count;
    // Where the unsent bytes [off, off + len) are: `pending` from an earlier pass, else scratch.
    let data = this.len > 0 ? this.pending! : srv.scratch;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      if (this.len > 0) {
        const e = sosend(this.so, null, [data.subarray(this.off, this.off + this.len)], null, null, 0, this.now, sent);
        if (e === EWOULDBLOCK) return this.keep(data); // a write wakeup brings us back
        if (e !== 0) { this.abort(); return; }
        this.off += sent.value;
        this.len -= sent.value;
        this.echoed += sent.value;
        if (this.len > 0) return this.keep(data);
      }
      if (this.eof) { this.close(); return; }
      data = srv.scratch;
      const e = soreceive(this.so, srv.scratchIov, MSG_DONTWAIT, msg, this.now);
      if (e === EWOULDBLOCK) return;
      if (e !== 0) { this.abort(); return; }
      if (msg.len === 0) { this.eof = true; continue; }
      this.off = 0;
      this.len = msg.len;
    }
    this.keep(data);
    this.later();
  }

  /** At the end of a pass: moves unsent bytes out of the shared scratch buffer into `pending`. */
  private keep(data: Uint8Array): void {
    if (this.len === 0 || data === this.pending) return;
    if (this.pending === null) this.pending = new Uint8Array(SCRATCH_BYTES);
    this.pending.set(data.subarray(this.off, this.off + this.len), 0);
    this.off = 0;
  }
}
