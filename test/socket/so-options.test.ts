import { describe, expect, it } from 'vitest';
import type { Socket } from '../../stack/socket/socket.js';
import { sogetopt, sosetopt } from '../../stack/socket/so-options.js';
import { SockOpt, readInt, readLinger, readTimeval, sooptInt, sooptLinger, sooptTimeval } from '../../stack/socket/sockopt.js';
import { sobind, soconnect, soioctl, soshutdown } from '../../stack/socket/so-ops.js';
import {
  FIONBIO, FIONREAD, IPPROTO_IP, IPPROTO_IPV6, IPV6_V6ONLY, IP_TTL, SB_USRSIZE, SHUT_RDWR, SIOCATMARK,
  SOL_SOCKET, SO_ACCEPTCONN, SO_BROADCAST, SO_DONTTRUNC, SO_ERROR, SO_KEEPALIVE, SO_LINGER,
  SO_LINGER_SEC, SO_NOSIGPIPE, SO_NP_EXTENSIONS, SO_NREAD, SO_NUMRCVPKT, SO_NWRITE, SO_RANDOMPORT,
  SO_RCVBUF, SO_RCVLOWAT, SO_RCVTIMEO, SO_REUSEADDR, SO_REUSEPORT, SO_SNDBUF, SO_SNDLOWAT,
  SO_SNDTIMEO, SO_TYPE, SO_UPCALLCLOSEWAIT, SOCK_DGRAM, SS_NBIO,
} from '../../stack/socket/constants.js';
import { EDOM, EINVAL, ENOBUFS, ENOPROTOOPT, EOPNOTSUPP } from '../../stack/socket/errno.js';
import { AF_INET6, bytes, inject, sa, setup, udpSocket } from '../udp/helpers.js';
import type { Harness } from '../udp/helpers.js';

function getInt(so: Socket, name: number, level = SOL_SOCKET): number | string {
  const o = SockOpt.get(level, name, 4);
  const e = sogetopt(so, o);
  return e !== 0 ? `errno ${e}` : readInt(o.result(), 0);
}

const setInt = (so: Socket, name: number, v: number, level = SOL_SOCKET): number =>
  sosetopt(so, SockOpt.set(level, name, sooptInt(v)));

function fresh(): { h: Harness; so: Socket } {
  const h = setup();
  return { h, so: udpSocket(h) };
}

describe('SOL_SOCKET options (§6.1)', () => {
  it('boolean options read back as the raw option bit, and any non-zero int turns them on', () => {
    const { so } = fresh();
    for (const [name, bit] of [[SO_REUSEADDR, 4], [SO_KEEPALIVE, 8], [SO_BROADCAST, 0x20], [SO_REUSEPORT, 0x200], [SO_DONTTRUNC, 0x2000]] as const) {
      expect(getInt(so, name)).toBe(0);
      expect(setInt(so, name, 12345)).toBe(0);
      expect(getInt(so, name)).toBe(bit);
      expect(setInt(so, name, 0)).toBe(0);
      expect(getInt(so, name)).toBe(0);
    }
    // so_flags options return their flag bit too.
    setInt(so, SO_NOSIGPIPE, 1);
    setInt(so, SO_UPCALLCLOSEWAIT, 7);
    setInt(so, SO_RANDOMPORT, 1);
    expect(getInt(so, SO_NOSIGPIPE)).toBe(1);
    expect(getInt(so, SO_UPCALLCLOSEWAIT)).toBe(0x800);
    expect(getInt(so, SO_RANDOMPORT)).toBe(0x1000);
    expect(setInt(so, SO_KEEPALIVE, 1) === 0 && sosetopt(so, SockOpt.set(SOL_SOCKET, SO_KEEPALIVE, bytes(1, 0)))).toBe(EINVAL);
  });

  it('SO_SNDBUF/SO_RCVBUF: EINVAL below 1, ENOBUFS above sb_max, exact value read back, user-sized', () => {
    const { so } = fresh();
    expect(setInt(so, SO_SNDBUF, 0)).toBe(EINVAL);
    expect(setInt(so, SO_RCVBUF, -5)).toBe(EINVAL);
    expect(setInt(so, SO_RCVBUF, 8 * 1024 * 1024 + 1)).toBe(ENOBUFS);
    expect(setInt(so, SO_RCVBUF, 8 * 1024 * 1024)).toBe(0);
    expect(setInt(so, SO_SNDBUF, 12345)).toBe(0);
    expect(getInt(so, SO_SNDBUF)).toBe(12345);
    expect(getInt(so, SO_RCVBUF)).toBe(8 * 1024 * 1024);
    expect(so.so_snd.sb_flags & SB_USRSIZE).toBe(SB_USRSIZE);
  });

  it('SO_SNDLOWAT/SO_RCVLOWAT: EINVAL below 1, clamped to hiwat', () => {
    const { so } = fresh();
    expect(setInt(so, SO_RCVLOWAT, 0)).toBe(EINVAL);
    expect(setInt(so, SO_SNDLOWAT, 100000)).toBe(0);
    expect(getInt(so, SO_SNDLOWAT)).toBe(9216);
    expect(setInt(so, SO_RCVLOWAT, 10)).toBe(0);
    expect(getInt(so, SO_RCVLOWAT)).toBe(10);
  });

  it('SO_SNDTIMEO/SO_RCVTIMEO take a timeval: EINVAL when short, EDOM out of range, stored in µs', () => {
    const { so } = fresh();
    expect(sosetopt(so, SockOpt.set(SOL_SOCKET, SO_RCVTIMEO, new Uint8Array(8)))).toBe(EINVAL);
    expect(sosetopt(so, SockOpt.set(SOL_SOCKET, SO_RCVTIMEO, sooptTimeval(1, 1_000_000)))).toBe(EDOM);
    expect(sosetopt(so, SockOpt.set(SOL_SOCKET, SO_RCVTIMEO, sooptTimeval(-1, 0)))).toBe(EDOM);
    expect(sosetopt(so, SockOpt.set(SOL_SOCKET, SO_RCVTIMEO, sooptTimeval(1, -1)))).toBe(EDOM);
    expect(sosetopt(so, SockOpt.set(SOL_SOCKET, SO_RCVTIMEO, sooptTimeval(2, 500_000)))).toBe(0);
    expect(so.so_rcv.sb_timeo).toBe(2_500_000);
    const o = SockOpt.get(SOL_SOCKET, SO_RCVTIMEO, 16);
    expect(sogetopt(so, o)).toBe(0);
    expect(readTimeval(o.result())).toEqual({ sec: 2, usec: 500_000 });
    const s = SockOpt.get(SOL_SOCKET, SO_SNDTIMEO, 16);
    sogetopt(so, s);
    expect(readTimeval(s.result())).toEqual({ sec: 0, usec: 0 });
  });

  it('SO_LINGER is in ticks, SO_LINGER_SEC in seconds; l_onoff reads back as the raw SO_LINGER bit', () => {
    const { so } = fresh();
    expect(sosetopt(so, SockOpt.set(SOL_SOCKET, SO_LINGER, sooptLinger(1, 250)))).toBe(0);
    expect(so.so_linger).toBe(250);
    const o = SockOpt.get(SOL_SOCKET, SO_LINGER_SEC, 8);
    sogetopt(so, o);
    expect(readLinger(o.result())).toEqual({ onoff: 0x80, linger: 2 });
    expect(sosetopt(so, SockOpt.set(SOL_SOCKET, SO_LINGER_SEC, sooptLinger(1, 3)))).toBe(0);
    expect(so.so_linger).toBe(300);
    const t = SockOpt.get(SOL_SOCKET, SO_LINGER, 8);
    sogetopt(so, t);
    expect(readLinger(t.result())).toEqual({ onoff: 0x80, linger: 300 });
    expect(sosetopt(so, SockOpt.set(SOL_SOCKET, SO_LINGER, sooptInt(1)))).toBe(EINVAL);
  });

  it('SO_ERROR returns the pending error and clears it; SO_TYPE; ENOPROTOOPT for SO_ACCEPTCONN and unknown names', () => {
    const { so } = fresh();
    so.so_error = 61;
    expect(getInt(so, SO_ERROR)).toBe(61);
    expect(getInt(so, SO_ERROR)).toBe(0);
    expect(getInt(so, SO_TYPE)).toBe(SOCK_DGRAM);
    expect(getInt(so, SO_ACCEPTCONN)).toBe(`errno ${ENOPROTOOPT}`);
    expect(getInt(so, 0x7777)).toBe(`errno ${ENOPROTOOPT}`);
    expect(setInt(so, SO_TYPE, 1)).toBe(ENOPROTOOPT);
    expect(setInt(so, 0x7777, 1)).toBe(ENOPROTOOPT);
    expect(sosetopt(so, new SockOpt(1, SOL_SOCKET, SO_KEEPALIVE, null, 0))).toBe(EINVAL);
  });

  it('getsockopt truncates silently to the caller size and reports the copied size', () => {
    const { so } = fresh();
    so.so_error = 0x0102;
    const o = SockOpt.get(SOL_SOCKET, SO_ERROR, 2);
    expect(sogetopt(so, o)).toBe(0);
    expect(o.sopt_valsize).toBe(2);
    expect(Array.from(o.result())).toEqual([0x02, 0x01]);
  });

  it('FIONREAD counts address bytes of every datagram; SO_NREAD only the first payload; SO_NUMRCVPKT the count', () => {
    const { h, so } = fresh();
    expect(sobind(so, sa('0.0.0.0:5000'))).toBe(0);
    inject(h, { src: '198.18.0.1', dst: '198.18.0.2', sport: 1, dport: 5000, payload: new Uint8Array(10) });
    inject(h, { src: '198.18.0.1', dst: '198.18.0.2', sport: 1, dport: 5000, payload: new Uint8Array(20) });
    const d = { value: 0 };
    expect(soioctl(so, FIONREAD, d)).toBe(0);
    expect(d.value).toBe(16 + 10 + 16 + 20);
    expect(getInt(so, SO_NREAD)).toBe(10);
    expect(getInt(so, SO_NUMRCVPKT)).toBe(2);
    expect(getInt(so, SO_NWRITE)).toBe(0);
    const v6 = udpSocket(h, AF_INET6);
    sobind(v6, sa('[::]:5000'));
    inject(h, { src: '2001:db8::1', dst: '2001:db8::2', sport: 1, dport: 5000, payload: new Uint8Array(3) });
    soioctl(v6, FIONREAD, d);
    expect(d.value).toBe(28 + 3);
  });

  it('setsockopt fails with EINVAL once both directions are shut, unless SO_NP_EXTENSIONS allowed it', () => {
    const { so } = fresh();
    soconnect(so, sa('198.18.0.1:53'), 0);
    expect(soshutdown(so, SHUT_RDWR, 0)).toBe(0);
    expect(setInt(so, SO_KEEPALIVE, 1)).toBe(EINVAL);
    expect(setInt(so, IP_TTL, 1, IPPROTO_IP)).toBe(EINVAL);
    expect(getInt(so, SO_KEEPALIVE)).toBe(0); // getters still work
    const { so: so2 } = fresh();
    const npx = new Uint8Array(8);
    npx[0] = 1; npx[4] = 1;
    expect(sosetopt(so2, SockOpt.set(SOL_SOCKET, SO_NP_EXTENSIONS, npx))).toBe(0);
    soconnect(so2, sa('198.18.0.1:53'), 0);
    soshutdown(so2, SHUT_RDWR, 0);
    expect(setInt(so2, SO_KEEPALIVE, 1)).toBe(0);
  });

  it('IP-level options go to the protocol: IP_TTL defaults to 64, range-checked; IPV6_V6ONLY is always on', () => {
    const { h, so } = fresh();
    expect(getInt(so, IP_TTL, IPPROTO_IP)).toBe(64);
    expect(setInt(so, IP_TTL, 300, IPPROTO_IP)).toBe(EINVAL);
    expect(setInt(so, IP_TTL, 7, IPPROTO_IP)).toBe(0);
    expect(getInt(so, IP_TTL, IPPROTO_IP)).toBe(7);
    expect(getInt(so, 99, IPPROTO_IP)).toBe(`errno ${ENOPROTOOPT}`);
    expect(getInt(so, IPV6_V6ONLY, IPPROTO_IPV6)).toBe(`errno ${EINVAL}`); // wrong level for AF_INET
    const v6 = udpSocket(h, AF_INET6);
    expect(getInt(v6, IPV6_V6ONLY, IPPROTO_IPV6)).toBe(1);
    expect(setInt(v6, IPV6_V6ONLY, 0, IPPROTO_IPV6)).toBe(EINVAL);
    expect(setInt(v6, IPV6_V6ONLY, 1, IPPROTO_IPV6)).toBe(0);
  });

  it('ioctls: FIONBIO toggles SS_NBIO, SIOCATMARK, unknown requests go to the protocol (EOPNOTSUPP)', () => {
    const { so } = fresh();
    const d = { value: 1 };
    expect(soioctl(so, FIONBIO, d)).toBe(0);
    expect(so.so_state & SS_NBIO).toBe(SS_NBIO);
    d.value = 0;
    soioctl(so, FIONBIO, d);
    expect(so.so_state & SS_NBIO).toBe(0);
    expect(soioctl(so, SIOCATMARK, d)).toBe(0);
    expect(d.value).toBe(0);
    expect(soioctl(so, 0xc0206911, d)).toBe(EOPNOTSUPP);
  });
});
