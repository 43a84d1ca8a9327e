// IPPROTO_TCP socket options per xnu-sockets.md §6.5: raw-bit booleans, TCP_MAXSEG only lowers,
// time options in seconds, TCP_NOTSENT_LOWAT writability, ECONNRESET once the tcpcb is gone.

import { describe, expect, it } from 'vitest';
import { PacketHost, PEER } from './harness.js';
import { sa, tcpSocket } from './helpers.js';
import { soconnect } from '../../stack/socket/so-ops.js';
import { sogetopt, sosetopt } from '../../stack/socket/so-options.js';
import { SockOpt, readInt, sooptInt } from '../../stack/socket/sockopt.js';
import { IPPROTO_TCP } from '../../stack/socket/constants.js';
import { ECONNRESET, EINVAL, ENOPROTOOPT } from '../../stack/socket/errno.js';
import type { Socket } from '../../stack/socket/socket.js';
import {
  TCP_CONNECTIONTIMEOUT, TCP_KEEPALIVE, TCP_KEEPCNT, TCP_KEEPINTVL, TCP_MAXSEG, TCP_NODELAY,
  TCP_NOTSENT_LOWAT,
} from '../../stack/tcp/tcp-usrreq.js';

const set = (so: Socket, name: number, v: number) => sosetopt(so, SockOpt.set(IPPROTO_TCP, name, sooptInt(v)));
function get(so: Socket, name: number): { e: number; v: number } {
  const o = SockOpt.get(IPPROTO_TCP, name, 4);
  const e = sogetopt(so, o);
  return { e, v: e === 0 ? readInt(o.result(), 0) : -1 };
}

describe('IPPROTO_TCP options', () => {
  it('TCP_NODELAY returns the raw bit 4; defaults come from the profile in seconds', () => {
    const h = new PacketHost();
    const so = tcpSocket(h.stack);
    expect(get(so, TCP_NODELAY).v).toBe(0);
    expect(set(so, TCP_NODELAY, 1)).toBe(0);
    expect(get(so, TCP_NODELAY).v).toBe(4);
    expect(get(so, TCP_KEEPALIVE).v).toBe(7200);
    expect(get(so, TCP_KEEPINTVL).v).toBe(75);
    expect(get(so, TCP_KEEPCNT).v).toBe(8);
    expect(get(so, TCP_CONNECTIONTIMEOUT).v).toBe(75);
    expect(set(so, TCP_KEEPALIVE, 30)).toBe(0);
    expect(get(so, TCP_KEEPALIVE).v).toBe(30);
    expect(set(so, TCP_KEEPINTVL, 0)).toBe(EINVAL);
    expect(get(so, 0x7777).e).toBe(ENOPROTOOPT);
  });

  it('TCP_MAXSEG is 512 before negotiation and can only be lowered (not below minmss - 40)', () => {
    const h = new PacketHost();
    const so = tcpSocket(h.stack);
    expect(get(so, TCP_MAXSEG).v).toBe(512);
    expect(set(so, TCP_MAXSEG, 1000)).toBe(EINVAL);
    expect(set(so, TCP_MAXSEG, 175)).toBe(EINVAL);
    expect(set(so, TCP_MAXSEG, 400)).toBe(0);
    expect(get(so, TCP_MAXSEG).v).toBe(400);
  });

  it('TCP_NOTSENT_LOWAT gates writability only; options on a reset connection give ECONNRESET', () => {
    const h = new PacketHost();
    const so = tcpSocket(h.stack);
    expect(set(so, TCP_NOTSENT_LOWAT, 1000)).toBe(0);
    expect(get(so, TCP_NOTSENT_LOWAT).v).toBe(1000);
    soconnect(so, sa(PEER, 80), h.now);
    h.poll();
    const syn = h.one();
    h.inject({ sport: 80, dport: syn.sport, flags: 0x14, seq: 0, ack: syn.seq + 1 });
    expect(get(so, TCP_NODELAY).e).toBe(ECONNRESET);
    // Both directions are shut now: the socket layer refuses any set first (§3.10).
    expect(set(so, TCP_NODELAY, 1)).toBe(EINVAL);
  });
});
