// TCP echo service (RFC 862): everything received is sent back, with TCP_NODELAY so small
// messages come back at once. Reading stops while the send buffer is full (the peer's window is
// our backpressure); after the peer's FIN and the last echoed byte, we close (FIN).

import type { Socket } from '../../stack/socket/socket.js';
import { SoRecvMsg, soreceive } from '../../stack/socket/so-receive.js';
import { sosend } from '../../stack/socket/so-send.js';
import { MSG_DONTWAIT } from '../../stack/socket/constants.js';
import { EWOULDBLOCK } from '../../stack/errno.js';
import { setNoDelay, TcpConnection } from './tcp-server.js';
import type { TcpServer } from './tcp-server.js';

/** Read/send rounds per wakeup before yielding to the event loop. */
const MAX_ROUNDS = 64;

export class TcpEchoConnection extends TcpConnection {
  echoed = 0;
  private readonly buf = new Uint8Array(65536);
  private readonly msg = new SoRecvMsg();
  private readonly sent = { value: 0 };
  private off = 0;
  private len = 0;
  private eof = false;

  constructor(server: TcpServer, so: Socket) {
    super(server, so);
    setNoDelay(so);
  }

  protected onEvents(_events: number): void {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      if (this.len > 0) {
        const e = sosend(this.so, null, [this.buf.subarray(this.off, this.off + this.len)], null, null, 0, this.now, this.sent);
        if (e === EWOULDBLOCK) return; // a write wakeup brings us back
        if (e !== 0) { this.abort(); return; }
        this.off += this.sent.value;
        this.len -= this.sent.value;
        this.echoed += this.sent.value;
        if (this.len > 0) return;
      }
      if (this.eof) { this.close(); return; }
      const e = soreceive(this.so, [this.buf], MSG_DONTWAIT, this.msg, this.now);
      if (e === EWOULDBLOCK) return;
      if (e !== 0) { this.abort(); return; }
      if (this.msg.len === 0) { this.eof = true; continue; }
      this.off = 0;
      this.len = this.msg.len;
    }
    this.later();
  }
}
