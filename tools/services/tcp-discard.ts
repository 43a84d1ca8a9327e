// TCP discard service (RFC 863): everything received is thrown away; after the peer's FIN we
// close (FIN), so a client that half-closes sees the connection end cleanly.

import { SoRecvMsg, soreceive } from '../../stack/socket/so-receive.js';
import { MSG_DONTWAIT } from '../../stack/socket/constants.js';
import { EWOULDBLOCK } from '../../stack/errno.js';
import { TcpConnection } from './tcp-server.js';

/** Receives per wakeup before yielding to the event loop. */
const MAX_READS = 256;

export class TcpDiscardConnection extends TcpConnection {
  discarded = 0;
  private readonly buf = new Uint8Array(65536);
  private readonly msg = new SoRecvMsg();

  protected onEvents(_events: number): void {
    for (let i = 0; i < MAX_READS; i++) {
      const e = soreceive(this.so, [this.buf], MSG_DONTWAIT, this.msg, this.now);
      if (e === EWOULDBLOCK) return;
      if (e !== 0) { this.abort(); return; }
      if (this.msg.len === 0) { this.close(); return; }
      this.discarded += this.msg.len;
    }
    this.later();
  }
}
