// sock_setsockopt / sock_getsockopt / sock_ioctl (xnu-sockets.md §3.10, §3.11, §6): values as C
// bytes with XNU's length checks, raw-bit booleans, SO_LINGER ticks vs SO_LINGER_SEC seconds,
// EDOM timevals, ENOBUFS above sb_max, ENOPROTOOPT, EINVAL after SHUT_RDWR, the TCP and IP levels,
// and FIONBIO / FIONREAD / SIOCATMARK.

import { describe, expect, it } from 'vitest';
import {
  ECONNRESET, EDOM, EINVAL, ENOBUFS, ENOPROTOOPT, ENOTSUP, EOPNOTSUPP, FIONBIO, FIONREAD, IPPROTO_IP, IPPROTO_IPV6,
  IPPROTO_TCP, IPV6_UNICAST_HOPS, IPV6_V6ONLY, IP_TOS, IP_TTL, MSG_OOB, SHUT_RDWR, SIOCATMARK, SOCK_DGRAM,
  SOCK_STREAM, SOL_SOCKET, SO_ACCEPTCONN, SO_BROADCAST, SO_DONTROUTE, SO_ERROR, SO_KEEPALIVE, SO_LINGER,
  SO_LINGER_SEC, SO_NOSIGPIPE, SO_NREAD, SO_NWRITE, SO_OOBINLINE, SO_RCVBUF, SO_RCVLOWAT, SO_RCVTIMEO,
  SO_REUSEADDR, SO_REUSEPORT, SO_SNDBUF, SO_SNDLOWAT, SO_SNDTIMEO, SO_TYPE, TCP_CONNECTIONTIMEOUT, PERSIST_TIMEOUT,
  TCP_FASTOPEN, TCP_KEEPALIVE, TCP_KEEPCNT, TCP_KEEPINTVL, TCP_MAXSEG, TCP_NODELAY, TCP_NOTSENT_LOWAT,
  getsockoptInt, getsockoptLinger, getsockoptTimeval, newMsghdr, readSockoptInt, setsockoptInt,
  setsockoptLinger, setsockoptTimeval, sock_getsockopt, sock_ioctl, sock_isnonblocking, sock_send,
  sock_setsockopt, sock_shutdown, sockoptInt, sockoptTimeval, sock_close, SO_LINGER as LINGER, sock_bind,
  sock_listen, sockaddrIn, TCP_INFO,
} from '../../kpi/index.js';
import { sysctlSet } from '../../stack/tcp/tcp-sysctl.js';
import { TCPS_ESTABLISHED, TCPS_LISTEN } from '../../stack/tcp/tcp-fsm.js';
import { kpiWorld, recvNow, runFor, sendAll, sock, tcpPair } from './kpi-harness.js';

const geti = (so: Parameters<typeof getsockoptInt>[0], level: number, name: number): number => {
  const out = { value: -999 };
  expect(getsockoptInt(so, level, name, out)).toBe(0);
  return out.value;
};

describe('SOL_SOCKET', () => {
  it('booleans are set by any non-zero int and read back as their raw bit', () => {
    const kw = kpiWorld();
    const s = sock(kw.ka);
    for (const name of [SO_REUSEADDR, SO_KEEPALIVE, SO_DONTROUTE, SO_BROADCAST, SO_OOBINLINE, SO_REUSEPORT]) {
      expect(geti(s, SOL_SOCKET, name)).toBe(0);
      expect(setsockoptInt(s, SOL_SOCKET, name, 77)).toBe(0);
      expect(geti(s, SOL_SOCKET, name)).toBe(name);
      expect(setsockoptInt(s, SOL_SOCKET, name, 0)).toBe(0);
      expect(geti(s, SOL_SOCKET, name)).toBe(0);
    }
    expect(setsockoptInt(s, SOL_SOCKET, SO_NOSIGPIPE, 1)).toBe(0);
    expect(geti(s, SOL_SOCKET, SO_NOSIGPIPE)).toBe(1);
    expect(geti(s, SOL_SOCKET, SO_TYPE)).toBe(SOCK_STREAM);
    expect(geti(sock(kw.ka, SOCK_DGRAM), SOL_SOCKET, SO_TYPE)).toBe(SOCK_DGRAM);
  });

  it('EINVAL: NULL optval (even with optlen 0), a short value, optlen beyond the array; longer values are truncated', () => {
    const kw = kpiWorld();
    const s = sock(kw.ka);
    expect(sock_setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, null, 0)).toBe(EINVAL);
    expect(sock_setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, new Uint8Array(4), 0)).toBe(EINVAL);
    expect(sock_setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, new Uint8Array([1, 0, 0]), 3)).toBe(EINVAL);
    expect(sock_setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, new Uint8Array(4), 5)).toBe(EINVAL);
    expect(sock_setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, new Uint8Array([1, 0, 0, 0, 9, 9]), 6)).toBe(0);
    expect(geti(s, SOL_SOCKET, SO_KEEPALIVE)).toBe(8);
    expect(sock_getsockopt(s, SOL_SOCKET, SO_KEEPALIVE, null, { value: 4 })).toBe(EINVAL);
    expect(sock_getsockopt(s, SOL_SOCKET, SO_KEEPALIVE, new Uint8Array(4), null)).toBe(EINVAL);
    // getsockopt truncates silently to *optlen and reports the bytes copied.
    const b = new Uint8Array(8).fill(0xaa);
    const len = { value: 2 };
    expect(sock_getsockopt(s, SOL_SOCKET, SO_SNDBUF, b, len)).toBe(0);
    expect(len.value).toBe(2);
    expect(b[2]).toBe(0xaa);
    len.value = 8;
    expect(sock_getsockopt(s, SOL_SOCKET, SO_SNDBUF, b, len)).toBe(0);
    expect(len.value).toBe(4);
    expect(readSockoptInt(b)).toBe(1448 * 256); // tcp_sendspace
  });

  it('ENOPROTOOPT for unknown names and for SO_ACCEPTCONN (not gettable on Darwin)', () => {
    const kw = kpiWorld();
    const s = sock(kw.ka);
    expect(setsockoptInt(s, SOL_SOCKET, 0x7777, 1)).toBe(ENOPROTOOPT);
    expect(getsockoptInt(s, SOL_SOCKET, 0x7777, { value: 0 })).toBe(ENOPROTOOPT);
    expect(getsockoptInt(s, SOL_SOCKET, SO_ACCEPTCONN, { value: 0 })).toBe(ENOPROTOOPT);
  });

  it('SO_SNDBUF/SO_RCVBUF: read back exactly; < 1 is EINVAL; above sb_max (8 MiB) ENOBUFS', () => {
    const kw = kpiWorld();
    const s = sock(kw.ka);
    expect(setsockoptInt(s, SOL_SOCKET, SO_SNDBUF, 10_000)).toBe(0);
    expect(geti(s, SOL_SOCKET, SO_SNDBUF)).toBe(10_000);
    expect(setsockoptInt(s, SOL_SOCKET, SO_RCVBUF, 20_000)).toBe(0);
    expect(geti(s, SOL_SOCKET, SO_RCVBUF)).toBe(20_000);
    expect(setsockoptInt(s, SOL_SOCKET, SO_SNDBUF, 0)).toBe(EINVAL);
    expect(setsockoptInt(s, SOL_SOCKET, SO_SNDBUF, 9 * 1024 * 1024)).toBe(ENOBUFS);
    expect(setsockoptInt(s, SOL_SOCKET, SO_RCVBUF, 9 * 1024 * 1024)).toBe(ENOBUFS);
    expect(geti(s, SOL_SOCKET, SO_SNDBUF)).toBe(10_000);
  });

  it('SO_SNDLOWAT/SO_RCVLOWAT: defaults 2048 / 1, clamped to hiwat, < 1 EINVAL', () => {
    const kw = kpiWorld();
    const s = sock(kw.ka);
    expect(geti(s, SOL_SOCKET, SO_SNDLOWAT)).toBe(2048);
    expect(geti(s, SOL_SOCKET, SO_RCVLOWAT)).toBe(1);
    expect(setsockoptInt(s, SOL_SOCKET, SO_RCVLOWAT, 100)).toBe(0);
    expect(geti(s, SOL_SOCKET, SO_RCVLOWAT)).toBe(100);
    expect(setsockoptInt(s, SOL_SOCKET, SO_SNDBUF, 4096)).toBe(0);
    expect(setsockoptInt(s, SOL_SOCKET, SO_SNDLOWAT, 100_000)).toBe(0);
    expect(geti(s, SOL_SOCKET, SO_SNDLOWAT)).toBe(4096);
    expect(setsockoptInt(s, SOL_SOCKET, SO_RCVLOWAT, 0)).toBe(EINVAL);
  });

  it('SO_SNDTIMEO/SO_RCVTIMEO: a 16-byte timeval; EDOM out of range; EINVAL when short', () => {
    const kw = kpiWorld();
    const s = sock(kw.ka);
    expect(setsockoptTimeval(s, SO_RCVTIMEO, 2, 500_000)).toBe(0);
    const tv = { value: { tv_sec: 0, tv_usec: 0 } };
    expect(getsockoptTimeval(s, SO_RCVTIMEO, tv)).toBe(0);
    expect(tv.value).toEqual({ tv_sec: 2, tv_usec: 500_000 });
    expect(getsockoptTimeval(s, SO_SNDTIMEO, tv)).toBe(0);
    expect(tv.value).toEqual({ tv_sec: 0, tv_usec: 0 });
    expect(setsockoptTimeval(s, SO_SNDTIMEO, 0, 1_000_000)).toBe(EDOM);
    expect(setsockoptTimeval(s, SO_SNDTIMEO, 0, -1)).toBe(EDOM);
    expect(setsockoptTimeval(s, SO_SNDTIMEO, -1, 0)).toBe(EDOM);
    expect(sock_setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, sockoptTimeval(1, 0), 15)).toBe(EINVAL);
    expect(sock_setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, sockoptInt(1), 4)).toBe(EINVAL);
    expect(setsockoptTimeval(s, SO_SNDTIMEO, 0, 0)).toBe(0); // 0: no timeout
  });

  it('SO_LINGER is in ticks (1/100 s), SO_LINGER_SEC in seconds', () => {
    const kw = kpiWorld();
    const s = sock(kw.ka);
    expect(setsockoptLinger(s, SO_LINGER_SEC, 1, 3)).toBe(0);
    const l = { value: { l_onoff: 0, l_linger: 0 } };
    expect(getsockoptLinger(s, SO_LINGER, l)).toBe(0);
    expect(l.value).toEqual({ l_onoff: LINGER, l_linger: 300 });
    expect(setsockoptLinger(s, SO_LINGER, 1, 250)).toBe(0);
    expect(getsockoptLinger(s, SO_LINGER_SEC, l)).toBe(0);
    expect(l.value).toEqual({ l_onoff: LINGER, l_linger: 2 });
    expect(setsockoptLinger(s, SO_LINGER, 0, 0)).toBe(0);
    expect(getsockoptLinger(s, SO_LINGER, l)).toBe(0);
    expect(l.value.l_onoff).toBe(0);
    expect(sock_setsockopt(s, SOL_SOCKET, SO_LINGER, sockoptInt(1), 4)).toBe(EINVAL);
  });

  it('SO_ERROR reads and clears; SO_NREAD counts data, SO_NWRITE the send queue', async () => {
    const kw = kpiWorld();
    const { client, server } = await tcpPair(kw);
    expect(await sendAll(kw, client, 1234)).toEqual([0, 1234]);
    expect(geti(client, SOL_SOCKET, SO_NWRITE)).toBeGreaterThanOrEqual(0);
    await runFor(kw, 10);
    expect(geti(server, SOL_SOCKET, SO_NREAD)).toBe(1234);
    expect(geti(client, SOL_SOCKET, SO_NWRITE)).toBe(0); // acknowledged
    server.so.so_error = 60;
    expect(geti(server, SOL_SOCKET, SO_ERROR)).toBe(60);
    expect(geti(server, SOL_SOCKET, SO_ERROR)).toBe(0);
  });

  it('after SHUT_RDWR every setsockopt is EINVAL', async () => {
    const kw = kpiWorld();
    const { client } = await tcpPair(kw);
    expect(sock_shutdown(client, SHUT_RDWR)).toBe(0);
    expect(setsockoptInt(client, SOL_SOCKET, SO_KEEPALIVE, 1)).toBe(EINVAL);
    expect(setsockoptInt(client, IPPROTO_TCP, TCP_NODELAY, 1)).toBe(EINVAL);
    expect(geti(client, SOL_SOCKET, SO_KEEPALIVE)).toBe(0); // getting still works
  });
});

describe('IPPROTO_TCP', () => {
  it('TCP_NODELAY reads back as the raw bit 4; timers in seconds; unknown names ENOPROTOOPT', () => {
    const kw = kpiWorld();
    const s = sock(kw.ka);
    expect(setsockoptInt(s, IPPROTO_TCP, TCP_NODELAY, 1)).toBe(0);
    expect(geti(s, IPPROTO_TCP, TCP_NODELAY)).toBe(4);
    expect(geti(s, IPPROTO_TCP, TCP_KEEPALIVE)).toBe(7200);
    expect(geti(s, IPPROTO_TCP, TCP_KEEPINTVL)).toBe(75);
    expect(geti(s, IPPROTO_TCP, TCP_KEEPCNT)).toBe(8);
    expect(geti(s, IPPROTO_TCP, TCP_CONNECTIONTIMEOUT)).toBe(75);
    for (const [name, v] of [[TCP_KEEPALIVE, 30], [TCP_KEEPINTVL, 5], [TCP_KEEPCNT, 3], [TCP_CONNECTIONTIMEOUT, 10], [TCP_NOTSENT_LOWAT, 16384]] as const) {
      expect(setsockoptInt(s, IPPROTO_TCP, name, v)).toBe(0);
      expect(geti(s, IPPROTO_TCP, name)).toBe(v);
    }
    expect(setsockoptInt(s, IPPROTO_TCP, TCP_KEEPALIVE, -1)).toBe(EINVAL);
    expect(setsockoptInt(s, IPPROTO_TCP, TCP_NOTSENT_LOWAT, -1)).toBe(EINVAL);
    // TCP_FASTOPEN exists, but only on a listening socket (see its own test below).
    expect(setsockoptInt(s, IPPROTO_TCP, TCP_FASTOPEN, 1)).toBe(EINVAL);
    expect(setsockoptInt(s, IPPROTO_TCP, 0x7777, 1)).toBe(ENOPROTOOPT);
    expect(sock_setsockopt(s, IPPROTO_TCP, TCP_NODELAY, new Uint8Array(2), 2)).toBe(EINVAL);
  });

  it('PERSIST_TIMEOUT (0x40): seconds, default 0 (net.inet.tcp.max_persist_timeout), < 0 EINVAL, short value EINVAL', () => {
    const kw = kpiWorld();
    const s = sock(kw.ka);
    expect(PERSIST_TIMEOUT).toBe(0x40);
    expect(geti(s, IPPROTO_TCP, PERSIST_TIMEOUT)).toBe(0);
    expect(sock_setsockopt(s, IPPROTO_TCP, PERSIST_TIMEOUT, sockoptInt(30), 4)).toBe(0);
    expect(geti(s, IPPROTO_TCP, PERSIST_TIMEOUT)).toBe(30);
    expect(setsockoptInt(s, IPPROTO_TCP, PERSIST_TIMEOUT, -1)).toBe(EINVAL);
    expect(geti(s, IPPROTO_TCP, PERSIST_TIMEOUT)).toBe(30);
    expect(sock_setsockopt(s, IPPROTO_TCP, PERSIST_TIMEOUT, new Uint8Array(2), 2)).toBe(EINVAL);
    expect(setsockoptInt(s, IPPROTO_TCP, PERSIST_TIMEOUT, 0)).toBe(0);
    expect(geti(s, IPPROTO_TCP, PERSIST_TIMEOUT)).toBe(0);
  });

  it('TCP_MAXSEG can only lower the MSS; after a reset, ECONNRESET', async () => {
    const kw = kpiWorld();
    const { client, server } = await tcpPair(kw);
    const mss = geti(client, IPPROTO_TCP, TCP_MAXSEG);
    expect(mss).toBeGreaterThan(1000);
    expect(setsockoptInt(client, IPPROTO_TCP, TCP_MAXSEG, mss + 1)).toBe(EINVAL);
    expect(setsockoptInt(client, IPPROTO_TCP, TCP_MAXSEG, 1000)).toBe(0);
    expect(geti(client, IPPROTO_TCP, TCP_MAXSEG)).toBe(1000);
    expect(setsockoptInt(client, IPPROTO_TCP, TCP_MAXSEG, 100)).toBe(EINVAL); // below tcp_minmss - 40
    setsockoptLinger(server, SO_LINGER, 1, 0);
    sock_close(server);
    await runFor(kw, 10);
    expect(getsockoptInt(client, IPPROTO_TCP, TCP_NODELAY, { value: 0 })).toBe(ECONNRESET);
  });
});

describe('TCP_INFO (0x200, XNU tcp_private.h struct tcp_info, 336 bytes)', () => {
  it('sock_getsockopt fills the struct (optlen = bytes copied, a short buffer truncates); set ENOPROTOOPT; reset ECONNRESET', async () => {
    const kw = kpiWorld();
    const { ls, client, server } = await tcpPair(kw);
    expect(await sendAll(kw, client, 5000)).toEqual([0, 5000]);
    await runFor(kw, 200);
    expect(recvNow(server)[1].length).toBe(5000);
    const buf = new Uint8Array(400).fill(0xee);
    const len = { value: 400 };
    expect(sock_getsockopt(client, IPPROTO_TCP, TCP_INFO, buf, len)).toBe(0);
    expect(len.value).toBe(336);
    expect(buf[336]).toBe(0xee);
    const dv = new DataView(buf.buffer);
    const u64 = (off: number): number => dv.getUint32(off, true) + dv.getUint32(off + 4, true) * 2 ** 32;
    expect(buf[0]).toBe(TCPS_ESTABLISHED);
    expect(dv.getUint32(12, true)).toBe(geti(client, IPPROTO_TCP, TCP_MAXSEG)); // tcpi_snd_mss
    expect(dv.getUint32(40, true)).toBeGreaterThan(0); // tcpi_snd_cwnd
    expect(u64(76)).toBe(5000); // tcpi_txbytes
    expect(u64(92)).toBe(0); // tcpi_txunacked
    expect(u64(100)).toBeGreaterThan(0); // tcpi_rxpackets (the ACKs)
    const sv = new Uint8Array(336);
    expect(sock_getsockopt(server, IPPROTO_TCP, TCP_INFO, sv, { value: 336 })).toBe(0);
    expect(new DataView(sv.buffer).getUint32(108, true)).toBe(5000); // tcpi_rxbytes (low word)
    const short = new Uint8Array(8);
    const sl = { value: 8 };
    expect(sock_getsockopt(client, IPPROTO_TCP, TCP_INFO, short, sl)).toBe(0);
    expect([sl.value, [...short]]).toEqual([8, [...buf.subarray(0, 8)]]);
    const li = new Uint8Array(336).fill(1);
    expect(sock_getsockopt(ls, IPPROTO_TCP, TCP_INFO, li, { value: 336 })).toBe(0);
    expect([li[0], li.subarray(1).every((x) => x === 0)]).toEqual([TCPS_LISTEN, true]);
    expect(sock_setsockopt(client, IPPROTO_TCP, TCP_INFO, new Uint8Array(336), 336)).toBe(ENOPROTOOPT);
    expect(setsockoptInt(client, IPPROTO_TCP, TCP_INFO, 1)).toBe(ENOPROTOOPT);
    setsockoptLinger(server, SO_LINGER, 1, 0);
    sock_close(server);
    await runFor(kw, 10);
    expect(sock_getsockopt(client, IPPROTO_TCP, TCP_INFO, buf, { value: 336 })).toBe(ECONNRESET);
  });
});

describe('TCP_FASTOPEN (XNU tcp_ctloutput; xnu-sockets.md §6.5)', () => {
  it('0 or 1 on a listening socket; EINVAL before listen() or out of range; ENOTSUP when get is not on a listener', () => {
    const kw = kpiWorld();
    const s = sock(kw.kb);
    expect(sock_bind(s, sockaddrIn('0.0.0.0', 7200))).toBe(0);
    expect(setsockoptInt(s, IPPROTO_TCP, TCP_FASTOPEN, 1)).toBe(EINVAL);
    expect(getsockoptInt(s, IPPROTO_TCP, TCP_FASTOPEN, { value: 0 })).toBe(ENOTSUP);
    expect(sock_listen(s, 8)).toBe(0);
    expect(geti(s, IPPROTO_TCP, TCP_FASTOPEN)).toBe(0);
    expect(setsockoptInt(s, IPPROTO_TCP, TCP_FASTOPEN, 2)).toBe(EINVAL);
    expect(setsockoptInt(s, IPPROTO_TCP, TCP_FASTOPEN, -1)).toBe(EINVAL);
    expect(sock_setsockopt(s, IPPROTO_TCP, TCP_FASTOPEN, new Uint8Array(2), 2)).toBe(EINVAL);
    expect(setsockoptInt(s, IPPROTO_TCP, TCP_FASTOPEN, 1)).toBe(0);
    expect(geti(s, IPPROTO_TCP, TCP_FASTOPEN)).toBe(1);
    expect(setsockoptInt(s, IPPROTO_TCP, TCP_FASTOPEN, 0)).toBe(0);
    expect(geti(s, IPPROTO_TCP, TCP_FASTOPEN)).toBe(0);
  });

  it('ENOTSUP for set and get while net.inet.tcp.fastopen has no server bit, before any other check', () => {
    const kw = kpiWorld();
    const stack = kw.w.b.stack;
    const r = sysctlSet(stack.tcp.profile, 'net.inet.tcp.fastopen', '2');
    if (!r.ok) throw new Error(r.message);
    stack.tcp.setProfile(r.profile);
    const s = sock(kw.kb);
    // Even a value too short to read, even on a socket that does not listen: the sysctl comes first.
    expect(sock_setsockopt(s, IPPROTO_TCP, TCP_FASTOPEN, new Uint8Array(2), 2)).toBe(ENOTSUP);
    expect(setsockoptInt(s, IPPROTO_TCP, TCP_FASTOPEN, 1)).toBe(ENOTSUP);
    expect(sock_bind(s, sockaddrIn('0.0.0.0', 7201))).toBe(0);
    expect(sock_listen(s, 8)).toBe(0);
    expect(setsockoptInt(s, IPPROTO_TCP, TCP_FASTOPEN, 1)).toBe(ENOTSUP);
    expect(getsockoptInt(s, IPPROTO_TCP, TCP_FASTOPEN, { value: 0 })).toBe(ENOTSUP);
  });
});

describe('IPPROTO_IP / IPPROTO_IPV6', () => {
  it('IP_TTL, IP_TOS (0..255), IPV6_V6ONLY, IPV6_UNICAST_HOPS (-1..255)', () => {
    const kw = kpiWorld();
    const s = sock(kw.ka, SOCK_DGRAM);
    expect(setsockoptInt(s, IPPROTO_IP, IP_TTL, 17)).toBe(0);
    expect(geti(s, IPPROTO_IP, IP_TTL)).toBe(17);
    expect(setsockoptInt(s, IPPROTO_IP, IP_TOS, 0x10)).toBe(0);
    expect(geti(s, IPPROTO_IP, IP_TOS)).toBe(0x10);
    expect(setsockoptInt(s, IPPROTO_IP, IP_TTL, 256)).toBe(EINVAL);
    const s6 = sock(kw.ka, SOCK_STREAM, 6);
    expect(setsockoptInt(s6, IPPROTO_IPV6, IPV6_V6ONLY, 1)).toBe(0);
    expect(geti(s6, IPPROTO_IPV6, IPV6_V6ONLY)).not.toBe(0);
    expect(setsockoptInt(s6, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 9)).toBe(0);
    expect(geti(s6, IPPROTO_IPV6, IPV6_UNICAST_HOPS)).toBe(9);
    expect(setsockoptInt(s6, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 300)).toBe(EINVAL);
  });
});

describe('sock_ioctl', () => {
  it('FIONBIO toggles nonblocking; FIONREAD counts queued bytes; EINVAL without argp; others go to the protocol', async () => {
    const kw = kpiWorld();
    const { client, server } = await tcpPair(kw);
    expect(sock_ioctl(client, FIONBIO, { value: 5 })).toBe(0);
    expect(sock_isnonblocking(client)).toBe(1);
    expect(sock_ioctl(client, FIONBIO | 0, { value: 0 })).toBe(0); // a signed C long works too
    expect(sock_isnonblocking(client)).toBe(0);
    expect(sock_ioctl(client, FIONBIO, null)).toBe(EINVAL);
    await sendAll(kw, client, 777);
    await runFor(kw, 10);
    const n = { value: 0 };
    expect(sock_ioctl(server, FIONREAD, n)).toBe(0);
    expect(n.value).toBe(777);
    expect(sock_ioctl(server, 0x20006601 /* FIOCLEX */, { value: 0 })).toBe(EOPNOTSUPP);
  });

  it('SIOCATMARK is 1 once the reader reaches the urgent mark', async () => {
    const kw = kpiWorld();
    const { client, server } = await tcpPair(kw);
    const atmark = { value: -1 };
    expect(sock_ioctl(server, SIOCATMARK, atmark)).toBe(0);
    expect(atmark.value).toBe(0);
    expect(sock_send(client, newMsghdr([new Uint8Array([1, 2, 3])]), 0, null)).toBe(0);
    expect(sock_send(client, newMsghdr([new Uint8Array([4, 5, 6, 99])]), MSG_OOB, null)).toBe(0);
    await runFor(kw, 20);
    // Reading stops at the mark (6 bytes before the urgent byte), then SIOCATMARK says so.
    const [e, got] = recvNow(server);
    expect(e).toBe(0);
    expect([...got]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(sock_ioctl(server, SIOCATMARK, atmark)).toBe(0);
    expect(atmark.value).toBe(1);
    sock_close(client);
  });
});
