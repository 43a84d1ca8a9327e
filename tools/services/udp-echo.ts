// UDP echo service (RFC 862) over the stack's socket layer: every datagram goes back to its sender.
// Driven by socket events (the upcall hook), never by polling.

import type { Stack } from '../../stack/stack.js';
import type { Socket } from '../../stack/socket/socket.js';
import type { SocketListener } from '../../stack/socket/socket-events.js';
import { Ev } from '../../stack/socket/socket-events.js';
import { SoRecvMsg, soreceive } from '../../stack/socket/so-receive.js';
import { sosend } from '../../stack/socket/so-send.js';
import { sobind, soclose } from '../../stack/socket/so-ops.js';
import { encodeSockaddr } from '../../stack/socket/sockaddr.js';
import { AF_INET, AF_INET6, IPPROTO_UDP, MSG_DONTWAIT, SOCK_DGRAM } from '../../stack/socket/constants.js';
import { IpAddr } from '../../stack/wire/ip-addr.js';
import type { IpFamily } from '../../stack/wire/ip-addr.js';

/** Datagrams handled per wakeup before yielding to the rest of the stack (bounded work). */
const BATCH = 256;

export class UdpEchoService implements SocketListener {
  echoed = 0;
  sendErrors = 0;
  private readonly buf = new Uint8Array(65536);
  private readonly name = new Uint8Array(28);
  private readonly msg = new SoRecvMsg();
  private readonly sent = { value: 0 };

  private constructor(private readonly stack: Stack, readonly so: Socket) {}

  /** Opens the service on `port` of every address of `family`. Returns it, or a Darwin errno. */
  static open(stack: Stack, family: IpFamily, port: number): UdpEchoService | number {
    const r = stack.sockets.socreate(family === 4 ? AF_INET : AF_INET6, SOCK_DGRAM, IPPROTO_UDP);
    if (!r.ok) return r.error;
    const any = family === 4 ? IpAddr.ANY4 : IpAddr.ANY6;
    const e = sobind(r.value, encodeSockaddr({ addr: any, port }));
    if (e !== 0) {
      soclose(r.value, stack.env.clock.now());
      return e;
    }
    const svc = new UdpEchoService(stack, r.value);
    r.value.setListener(svc);
    return svc;
  }

  onSocketEvent(so: Socket, events: number): void {
    if ((events & Ev.In) === 0) return;
    const now = this.stack.env.clock.now();
    for (let i = 0; i < BATCH; i++) {
      this.msg.name = this.name;
      if (soreceive(so, [this.buf], MSG_DONTWAIT, this.msg, now) !== 0) break;
      const to = this.name.subarray(0, this.msg.nameLen);
      const e = sosend(so, to, [this.buf.subarray(0, this.msg.len)], null, null, 0, now, this.sent);
      if (e === 0) this.echoed++;
      else this.sendErrors++;
    }
  }

  close(): void { soclose(this.so, this.stack.env.clock.now()); }
}
