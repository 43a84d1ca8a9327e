// connectx(2) on kernel sockets, non-multipath (seeds/connectx.2 is the specification): every entry
// of its ERRORS list that a TCP/UDP socket can produce, each in the situation the man page describes,
// plus the address-list rules (several sockaddrs back to back, the first of the socket's family
// chosen), ifscope, the connid box, and blocking vs nonblocking results. Two simulated hosts,
// virtual time: a = 198.18.0.1 / 2001:db8::1, b = 198.18.0.2 / 2001:db8::2, one interface each.

import { describe, expect, it } from 'vitest';
import {
  ASSOCID_ALL, ASSOCID_ANY, EACCES, EADDRINUSE, EADDRNOTAVAIL, EAFNOSUPPORT, EALREADY, EBADF, ECONNREFUSED,
  ECONNRESET, EFAULT, EHOSTUNREACH, EINPROGRESS, EINTR, EINVAL, EISCONN, ENETDOWN, ENETUNREACH, ENOTSOCK, ENXIO,
  EOPNOTSUPP, ETIMEDOUT, FIONBIO, IPPROTO_TCP, SOCK_DGRAM, SOL_SOCKET, SO_BROADCAST, TCP_CONNECTIONTIMEOUT,
  connectx, getsockoptInt, setsockoptInt, sock_bind, sock_close, sock_getsockname, sock_interrupt, sock_ioctl,
  sock_isconnected, sockaddrIn, sockaddrIn6, sockaddrList, readSockaddr, SO_ERROR, IpAddr,
} from '../../kpi/index.js';
import { tcpcbOf } from '../../stack/index.js';
import type { Box, KpiResult, socket_t } from '../../kpi/index.js';
import { addrB, isPending, kpiWorld, listener, raw, run, runFor, runUntil, sock, PORT } from './kpi-harness.js';

/** connectx with one destination buffer and no source: the common shape. */
function cx(s: socket_t | null, dst: Uint8Array | null, opts: { src?: Uint8Array; ifscope?: number; aid?: number; cid?: Box<number> } = {}): KpiResult {
  const src = opts.src ?? null;
  return connectx(s, src, src?.length ?? 0, dst, dst?.length ?? 0, opts.ifscope ?? 0, opts.aid ?? ASSOCID_ANY, opts.cid ?? null);
}

const nonblocking = (s: socket_t): void => { expect(sock_ioctl(s, FIONBIO, { value: 1 })).toBe(0); };
const localName = (s: socket_t): string => {
  const b = new Uint8Array(28);
  expect(sock_getsockname(s, b, 28)).toBe(0);
  const r = readSockaddr(b.subarray(0, b[0]));
  return r.ok ? `${r.value.addr.toString()}:${r.value.port}` : '?';
};

describe('connectx: arguments', () => {
  it('EBADF for no socket or a closed one, ENOTSOCK for something that is not a socket_t', () => {
    const kw = kpiWorld();
    expect(cx(null, addrB(kw))).toBe(EBADF);
    const s = sock(kw.ka);
    sock_close(s);
    expect(cx(s, addrB(kw))).toBe(EBADF);
    expect(cx({ so: {} } as unknown as socket_t, addrB(kw))).toBe(ENOTSOCK);
  });

  it('EINVAL for a missing destination, zero lengths, malformed entries, associd other than ASSOCID_ANY', () => {
    const kw = kpiWorld();
    const s = sock(kw.ka);
    const cid = { value: 77 };
    const d = addrB(kw);
    expect(connectx(s, null, 0, null, 0, 0, ASSOCID_ANY, cid)).toBe(EINVAL);
    expect(cid.value).toBe(0); // SAE_CONNID_ANY after a failure
    expect(connectx(s, null, 0, d, 0, 0, ASSOCID_ANY, null)).toBe(EINVAL);
    expect(connectx(s, sockaddrIn('198.18.0.1', 0), 0, d, 16, 0, ASSOCID_ANY, null)).toBe(EINVAL); // src given, length 0
    const trailing = sockaddrList(d, new Uint8Array(10)); // fewer than sizeof(struct sockaddr) left
    expect(connectx(s, null, 0, trailing, trailing.length, 0, ASSOCID_ANY, null)).toBe(EINVAL);
    for (const saLen of [0, 1, 17, 200]) {
      const bad = new Uint8Array(256);
      bad.set(d);
      bad[0] = saLen;
      expect(connectx(s, null, 0, bad, saLen === 200 ? 256 : 16, 0, ASSOCID_ANY, null), `sa_len ${saLen}`).toBe(EINVAL);
    }
    // sa_len fits the buffer but not the family (in_pcbconnect: "sa_len != sizeof(struct sockaddr_in)")
    const long = new Uint8Array(20);
    long.set(d);
    long[0] = 20;
    expect(cx(s, long)).toBe(EINVAL);
    // an address family that is no family at all
    const odd = d.slice();
    odd[1] = 99;
    expect(cx(s, odd)).toBe(EINVAL);
    // connectx.2: "The parameter associd must always be set to ASSOCID_ANY" on a non-multipath socket
    expect(cx(s, d, { aid: 5 })).toBe(EINVAL);
    expect(cx(s, d, { aid: ASSOCID_ALL })).toBe(EINVAL);
    expect(raw(s).so_state & 0x4).toBe(0); // nothing started
  });

  it('EFAULT when a length runs past its buffer', () => {
    const kw = kpiWorld();
    const s = sock(kw.ka);
    const d = addrB(kw);
    expect(connectx(s, null, 0, d, 32, 0, ASSOCID_ANY, null)).toBe(EFAULT);
    expect(connectx(s, sockaddrIn('198.18.0.1', 0), 17, d, 16, 0, ASSOCID_ANY, null)).toBe(EFAULT);
  });

  it('EAFNOSUPPORT when no address of the socket\'s family is given (destination or source), or TCP to multicast', () => {
    const kw = kpiWorld();
    const s = sock(kw.ka);
    expect(cx(s, addrB(kw, PORT, 6))).toBe(EAFNOSUPPORT);
    expect(cx(s, addrB(kw), { src: sockaddrIn6('2001:db8::1', 0) })).toBe(EAFNOSUPPORT);
    expect(cx(s, sockaddrIn('224.0.0.1', 80))).toBe(EAFNOSUPPORT);
    const s6 = sock(kw.ka, undefined, 6);
    expect(cx(s6, addrB(kw))).toBe(EAFNOSUPPORT);
  });
});

describe('connectx: address lists and binding', () => {
  it('picks the first destination of the socket\'s family from a list (IPv4 and IPv6 sockets)', async () => {
    const kw = kpiWorld();
    listener(kw, PORT, 4);
    listener(kw, PORT + 1, 6);
    const s4 = sock(kw.ka);
    const list = sockaddrList(addrB(kw, 9, 6), addrB(kw, PORT, 4), addrB(kw, 9, 4));
    const cid = { value: 0 };
    const p = connectx(s4, null, 0, list, list.length, 0, ASSOCID_ANY, cid);
    expect(isPending(p)).toBe(true);
    expect(cid.value).toBe(1);
    expect(await run(kw, p)).toBe(0);
    expect(sock_isconnected(s4)).toBe(1);
    const s6 = sock(kw.ka, undefined, 6);
    const list6 = sockaddrList(addrB(kw, PORT + 1, 4), addrB(kw, PORT + 1, 6), addrB(kw, 9, 6));
    expect(await run(kw, connectx(s6, null, 0, list6, list6.length, 0, ASSOCID_ANY, null))).toBe(0);
    // the first matching one is taken, even when a later one would work
    const s3 = sock(kw.ka);
    const refused = sockaddrList(addrB(kw, 9, 4), addrB(kw, PORT, 4));
    expect(await run(kw, connectx(s3, null, 0, refused, refused.length, 0, ASSOCID_ANY, null))).toBe(ECONNREFUSED);
  });

  it('binds to the first source of the family (as bind(2)) and to ifscope', async () => {
    const kw = kpiWorld();
    listener(kw);
    const s = sock(kw.ka);
    const srcs = sockaddrList(sockaddrIn6('2001:db8::1', 4000), sockaddrIn('198.18.0.1', 40001), sockaddrIn('198.18.0.1', 40002));
    const d = addrB(kw);
    expect(await run(kw, connectx(s, srcs, srcs.length, d, d.length, 1, ASSOCID_ANY, null))).toBe(0);
    expect(localName(s)).toBe('198.18.0.1:40001');
    expect((raw(s).so_pcb as { ifscope: number }).ifscope).toBe(1);
  });

  it('EADDRINUSE and EADDRNOTAVAIL from the source bind; EADDRNOTAVAIL for port 0', () => {
    const kw = kpiWorld();
    const other = sock(kw.ka);
    expect(sock_bind(other, sockaddrIn('198.18.0.1', 6000))).toBe(0);
    expect(cx(sock(kw.ka), addrB(kw), { src: sockaddrIn('198.18.0.1', 6000) })).toBe(EADDRINUSE);
    expect(cx(sock(kw.ka), addrB(kw), { src: sockaddrIn('198.18.0.77', 0) })).toBe(EADDRNOTAVAIL);
    expect(cx(sock(kw.ka, SOCK_DGRAM), addrB(kw, 0))).toBe(EADDRNOTAVAIL);
  });

  it('ENXIO for an ifscope no interface has; ENETDOWN when that interface is down', () => {
    const kw = kpiWorld();
    expect(cx(sock(kw.ka), addrB(kw), { ifscope: 9 })).toBe(ENXIO);
    expect(cx(sock(kw.ka), addrB(kw), { ifscope: -1 })).toBe(ENXIO);
    const ifp = kw.w.a.stack.ip.ifnet(1)!;
    ifp.up = false;
    try {
      expect(cx(sock(kw.ka, SOCK_DGRAM), addrB(kw, 53), { ifscope: 1 })).toBe(ENETDOWN);
    } finally {
      ifp.up = true;
    }
  });

  it('EACCES for a broadcast destination without SO_BROADCAST; with it a datagram socket connects', () => {
    const kw = kpiWorld();
    const u = sock(kw.ka, SOCK_DGRAM);
    expect(cx(u, sockaddrIn('198.18.0.255', 9))).toBe(EACCES);
    expect(cx(u, sockaddrIn('255.255.255.255', 9))).toBe(EACCES);
    expect(setsockoptInt(u, SOL_SOCKET, SO_BROADCAST, 1)).toBe(0);
    expect(cx(u, sockaddrIn('198.18.0.255', 9))).toBe(0);
  });
});

describe('connectx: connection state errors', () => {
  it('EOPNOTSUPP on a listening socket', () => {
    const kw = kpiWorld();
    const ls = listener(kw);
    expect(cx(ls, sockaddrIn('198.18.0.1', 80))).toBe(EOPNOTSUPP);
  });

  it('nonblocking: EINPROGRESS with connid 1, EALREADY while connecting, EISCONN once connected', async () => {
    const kw = kpiWorld({ impairments: { delayMs: 10 } });
    listener(kw);
    const s = sock(kw.ka);
    nonblocking(s);
    const cid = { value: 0 };
    expect(cx(s, addrB(kw), { cid })).toBe(EINPROGRESS);
    expect(cid.value).toBe(1);
    expect(cx(s, addrB(kw))).toBe(EALREADY);
    await runFor(kw, 50);
    expect(sock_isconnected(s)).toBe(1);
    expect(cx(s, addrB(kw))).toBe(EISCONN);
  });

  it('blocking: EISCONN while connecting and once connected (a stream socket connects only once)', async () => {
    const kw = kpiWorld({ impairments: { delayMs: 10 } });
    listener(kw);
    const s = sock(kw.ka);
    const p = cx(s, addrB(kw));
    expect(isPending(p)).toBe(true);
    expect(cx(s, addrB(kw))).toBe(EISCONN);
    expect(await run(kw, p)).toBe(0);
    expect(cx(s, addrB(kw))).toBe(EISCONN);
  });

  it('a connected datagram socket must disconnectx first: EISCONN', () => {
    const kw = kpiWorld();
    const u = sock(kw.ka, SOCK_DGRAM);
    const cid = { value: 0 };
    const r = cx(u, addrB(kw, 53), { cid });
    expect(r).toBe(0); // UDP: at once, a number
    expect(cid.value).toBe(1);
    expect(cx(u, addrB(kw, 54))).toBe(EISCONN);
  });

  it('so_error left from before does not fail connectx (connectx_nocancel clears it)', async () => {
    const kw = kpiWorld();
    listener(kw);
    const s = sock(kw.ka);
    raw(s).so_error = ECONNREFUSED;
    expect(await run(kw, cx(s, addrB(kw)))).toBe(0);
  });
});

describe('connectx: asynchronous outcomes (the blocking Promise)', () => {
  it('ECONNREFUSED: nobody listens', async () => {
    const kw = kpiWorld();
    const cid = { value: 0 };
    expect(await run(kw, cx(sock(kw.ka), addrB(kw, 9), { cid }))).toBe(ECONNREFUSED);
    expect(cid.value).toBe(1); // the connect was initiated
  });

  it('ETIMEDOUT after TCP_CONNECTIONTIMEOUT of virtual time', async () => {
    const kw = kpiWorld();
    const s = sock(kw.ka);
    expect(setsockoptInt(s, IPPROTO_TCP, TCP_CONNECTIONTIMEOUT, 2)).toBe(0);
    const t0 = kw.w.sim.now;
    expect(await run(kw, cx(s, sockaddrIn('198.18.0.99', 80)), 30_000)).toBe(ETIMEDOUT);
    expect((kw.w.sim.now - t0) / 1e6).toBeGreaterThanOrEqual(2);
  });

  it('ENETUNREACH: no route to the destination network, or none through ifscope (at once)', () => {
    const kw = kpiWorld();
    expect(cx(sock(kw.ka), sockaddrIn('203.0.113.1', 80))).toBe(ENETUNREACH);
    expect(cx(sock(kw.ka, SOCK_DGRAM), sockaddrIn('203.0.113.1', 53))).toBe(ENETUNREACH);
    expect(cx(sock(kw.ka, SOCK_DGRAM, 6), sockaddrIn6('2001:db8:1::1', 53), { ifscope: 1 })).toBe(ENETUNREACH);
  });

  it('EHOSTUNREACH: an ICMP host unreachable for the SYN, then the connection times out', async () => {
    const kw = kpiWorld();
    const s = sock(kw.ka);
    expect(setsockoptInt(s, IPPROTO_TCP, TCP_CONNECTIONTIMEOUT, 2)).toBe(0);
    const p = cx(s, sockaddrIn('198.18.0.99', 80));
    expect(isPending(p)).toBe(true);
    await runFor(kw, 10);
    const tp = tcpcbOf(raw(s))!;
    const quoted = new Uint8Array(8);
    new DataView(quoted.buffer).setUint32(4, tp.iss >>> 0);
    const pcb = tp.t_inpcb;
    // what a router on the path answers (tcp_ctlinput → t_softerror, reported at the timeout)
    kw.w.a.stack.tcp.ctlinput({
      family: 4, kind: 'unreach-host', icmpType: 3, icmpCode: 1, mtu: 0,
      src: pcb.laddr, dst: IpAddr.of('198.18.0.99'), srcPort: pcb.lport, dstPort: 80, quoted,
    }, kw.w.sim.now);
    expect(await run(kw, p, 30_000)).toBe(EHOSTUNREACH);
  });

  it('ECONNRESET: the peer resets the connection request (listener closed with the request queued)', async () => {
    const kw = kpiWorld({ impairments: { delayMs: 10 } });
    const ls = listener(kw);
    const s = sock(kw.ka);
    const p = cx(s, addrB(kw));
    // b answered the SYN (SYN-ACK in flight); closing the listener now resets the queued request,
    // and the RST follows the SYN-ACK in the same delivery.
    expect(await runUntil(kw, () => raw(ls).so_incqlen === 1, 1000)).toBe(true);
    sock_close(ls);
    expect(await run(kw, p)).toBe(ECONNRESET);
    const err = { value: -1 };
    expect(getsockoptInt(s, SOL_SOCKET, SO_ERROR, err)).toBe(0);
    expect(err.value).toBe(0); // taken by connectx
  });

  it('EINTR: sock_interrupt ends the wait, the connect carries on', async () => {
    const kw = kpiWorld({ impairments: { delayMs: 20 } });
    listener(kw);
    const s = sock(kw.ka);
    const p = cx(s, addrB(kw));
    await runFor(kw, 5);
    expect(sock_interrupt(s)).toBe(1);
    expect(await p).toBe(EINTR);
    await runFor(kw, 100);
    expect(sock_isconnected(s)).toBe(1);
  });

  it('EBADF when the socket is closed under a blocking connectx', async () => {
    const kw = kpiWorld({ impairments: { delayMs: 20 } });
    const s = sock(kw.ka);
    const p = cx(s, addrB(kw));
    await runFor(kw, 5);
    sock_close(s);
    expect(await p).toBe(EBADF);
  });
});
