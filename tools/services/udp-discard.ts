// UDP discard service (RFC 863): every datagram is read and thrown away. Driven by socket events
// like udp-echo.ts beside it.

import type { Stack } from '../../stack/stack.js';
import type { Socket } from '../../stack/socket/socket.js';
import type { SocketListener } from '../../stack/socket/socket-events.js';
import { Ev } from '../../stack/socket/socket-events.js';
import { SoRecvMsg, soreceive } from '../../stack/socket/so-receive.js';
import { sobind, soclose } from '../../stack/socket/so-ops.js';
import { encodeSockaddr } from '../../stack/socket/sockaddr.js';
import { AF_INET, AF_INET6, IPPROTO_UDP, MSG_DONTWAIT, SOCK_DGRAM } from '../../stack/socket/constants.js';
import { IpAddr } from '../../stack/wire/ip-addr.js';
import type { IpFamily } from '../../stack/wire/ip-addr.js';

/** Datagrams read per wakeup before yielding (bounded work). */
const BATCH = 256;

export class UdpDiscardService implements SocketListener {
  discarded = 0;
  bytes = 0;
  private readonly buf = new Uint8Array(65536);
  private readonly msg = new SoRecvMsg();

  private constructor(private readonly stack: Stack, readonly so: Socket) {}

  /** Opens the service on `port` of every address of `family`. Returns it, or a Darwin errno. */
  static open(stack: Stack, family: IpFamily, port: number): UdpDiscardService | number {
    const r = stack.sockets.socreate(family === 4 ? AF_INET : AF_INET6, SOCK_DGRAM, IPPROTO_UDP);
    if (!r.ok) return r.error;
    const e = sobind(r.value, encodeSockaddr({ addr: family === 4 ? IpAddr.ANY4 : IpAddr.ANY6, port }));
    if (e !== 0) {
      soclose(r.value, stack.env.clock.now());
      return e;
    }
    const svc = new UdpDiscardService(stack, r.value);
    r.value.setListener(svc);
    return svc;
  }

  onSocketEvent(so: Socket, events: number): void {
    if ((events & Ev.In) === 0) return;
    const now = this.stack.env.clock.now();
    for (let i = 0; i < BATCH; i++) {
      if (soreceive(so, [this.buf], MSG_DONTWAIT, this.msg, now) !== 0) break;
      this.discarded++;
      this.bytes += this.msg.len;
    }
  }

  close(): void { soclose(this.so, this.stack.env.clock.now()); }
}
