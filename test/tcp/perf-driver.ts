// A lean bulk-transfer driver for measuring TCP's own cost: host a writes `total` bytes in
// `chunk`-sized sends (each its own mbuf chain, so so_snd holds many mbufs) into a socket with a
// large SO_SNDBUF; host b reads everything with soreceivembuf and frees it. No hashing, no
// pattern generation: what remains is socket + TCP + IP + the simulated link.

import { buildSimWorld } from '../../tools/sim-world.js';
import type { SimWorld } from '../../tools/sim-world.js';
import type { Socket } from '../../stack/socket/socket.js';
import { sosend } from '../../stack/socket/so-send.js';
import { SoRecvMsg, soreceivembuf } from '../../stack/socket/so-receive.js';
import { sobind, soconnect } from '../../stack/socket/so-ops.js';
import { soacceptdequeue, solisten } from '../../stack/socket/so-listen.js';
import { encodeSockaddr } from '../../stack/socket/sockaddr.js';
import { SockOpt, sooptInt } from '../../stack/socket/sockopt.js';
import { sosetopt } from '../../stack/socket/so-options.js';
import { AF_INET, IPPROTO_TCP, MSG_DONTWAIT, SOCK_STREAM, SOL_SOCKET, SO_RCVBUF, SO_SNDBUF } from '../../stack/socket/constants.js';
import { mFreem } from '../../stack/mbuf/pool.js';
import { IpAddr } from '../../stack/wire/ip-addr.js';
import type { LinkCaps } from '../../stack/link/link.js';

export interface PerfResult { world: SimWorld; received: number; cpuMs: number; virtualMs: number }

export function perfTransfer(o: { total: number; chunk: number; sndbuf: number; rcvbuf: number; caps?: Partial<LinkCaps> }): PerfResult {
  const w = buildSimWorld({ seed: 5, caps: o.caps, impairments: { delayMs: 1 } });
  const mk = (s: typeof w.a.stack): Socket => {
    const r = s.sockets.socreate(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (!r.ok) throw new Error('socreate');
    return r.value;
  };
  const l = mk(w.b.stack);
  if (o.rcvbuf > 0) sosetopt(l, SockOpt.set(SOL_SOCKET, SO_RCVBUF, sooptInt(o.rcvbuf)));
  sobind(l, encodeSockaddr({ addr: IpAddr.ANY4, port: 7000 }));
  solisten(l, 8);
  const c = mk(w.a.stack);
  if (o.sndbuf > 0) sosetopt(c, SockOpt.set(SOL_SOCKET, SO_SNDBUF, sooptInt(o.sndbuf)));
  const data = new Uint8Array(o.chunk).fill(0x5a);
  const uio = [data];
  const box = { value: 0 };
  const msg = new SoRecvMsg();
  let sent = 0;
  let received = 0;
  let child: Socket | null = null;
  const childBox: { value: Socket | null } = { value: null };
  const now = () => w.sim.clock.now();
  const pump = (): void => {
    while (sent < o.total) {
      const e = sosend(c, null, sent + o.chunk <= o.total ? uio : [data.subarray(0, o.total - sent)], null, null, MSG_DONTWAIT, now(), box);
      if (e !== 0 || box.value === 0) break;
      sent += box.value;
    }
  };
  const drain = (): void => {
    if (child === null) return;
    for (;;) {
      const e = soreceivembuf(child, 1 << 20, MSG_DONTWAIT, msg, now());
      if (e !== 0 || msg.len === 0) break;
      received += msg.len;
      mFreem(msg.data);
      msg.data = null;
    }
  };
  l.setListener({ onSocketEvent: () => {
    if (child === null && soacceptdequeue(l, true, childBox) === 0) {
      child = childBox.value;
      child!.setListener({ onSocketEvent: drain });
      drain();
    }
  } });
  c.setListener({ onSocketEvent: pump });
  const t0 = process.cpuUsage();
  const v0 = w.sim.now;
  soconnect(c, encodeSockaddr({ addr: w.b.v4, port: 7000 }), now());
  w.a.stack.requestWork();
  w.sim.runUntil(() => received >= o.total, 600_000);
  const cu = process.cpuUsage(t0);
  return { world: w, received, cpuMs: (cu.user + cu.system) / 1000, virtualMs: (w.sim.now - v0) / 1000 };
}
