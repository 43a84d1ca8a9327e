// TCP discard service (RFC 863): everything received is thrown away; after the peer's FIN we
// close (FIN), so a client that half-closes sees the connection end cleanly.

import { soreceive } from '../../stack/socket/so-receive.js';
import { MSG_DONTWAIT } from '../../stack/socket/constants.js';
import { EWOULDBLOCK } from '../../stack/errno.js';
import { TcpConnection } from './tcp-server.js';

/** Receives per wakeup before yielding to the event loop. */
const MAX_READS = 256;

/** Reads into the server's shared scratch buffer: nothing is kept, so nothing per connection. */
export class TcpDiscardConnection extends TcpConnection {
  discarded = 0;

  protected onEvents(_events: number): void {
    const iov = this.server.scratchIov;
    const msg = this.server.recvMsg;
    for (let i = 0; i < MAX_READS; i++) {
      const e = soreceive(this.so, iov, MSG_DONTWAIT, msg, this.now);
      if (e === EWOULDBLOCK) return;
      if (e !== 0) { this.abort(); return; }
      if (msg.len === 0) { this.close(); return; }
      this.discarded += msg.len;
    }
    this.later();
  }
}
