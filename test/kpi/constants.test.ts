// Darwin values of every constant the KPI exports by name (xnu-sockets.md §1), checked against
// the numbers in XNU's headers, and the ioctl encoding macros against the precomputed requests.

import { describe, expect, it } from 'vitest';
import * as K from '../../kpi/index.js';
import * as StackErrno from '../../stack/errno.js';
import * as StackSocketConstants from '../../stack/socket/constants.js';

describe('Darwin constants exported by kpi/', () => {
  it('errno values (bsd/sys/errno.h)', () => {
    expect([K.EPERM, K.EINTR, K.EBADF, K.ENOMEM, K.EINVAL, K.EPIPE, K.EDOM]).toEqual([1, 4, 9, 12, 22, 32, 33]);
    expect([K.EAGAIN, K.EWOULDBLOCK, K.EINPROGRESS, K.EALREADY, K.ENOTSOCK]).toEqual([35, 35, 36, 37, 38]);
    expect([K.EDESTADDRREQ, K.EMSGSIZE, K.EPROTOTYPE, K.ENOPROTOOPT, K.EPROTONOSUPPORT]).toEqual([39, 40, 41, 42, 43]);
    expect([K.ENOTSUP, K.EAFNOSUPPORT, K.EADDRINUSE, K.EADDRNOTAVAIL, K.ENETUNREACH]).toEqual([45, 47, 48, 49, 51]);
    expect([K.ECONNABORTED, K.ECONNRESET, K.ENOBUFS, K.EISCONN, K.ENOTCONN]).toEqual([53, 54, 55, 56, 57]);
    expect([K.ETIMEDOUT, K.ECONNREFUSED, K.EHOSTUNREACH, K.EPROTO, K.EOPNOTSUPP]).toEqual([60, 61, 65, 100, 102]);
    expect(K.ENOTSUP).not.toBe(K.EOPNOTSUPP);
  });

  it('families, types, levels, protocols (bsd/sys/socket.h, netinet/in.h)', () => {
    expect([K.AF_UNSPEC, K.AF_UNIX, K.AF_LOCAL, K.AF_INET, K.AF_ROUTE, K.AF_LINK, K.AF_INET6, K.AF_SYSTEM, K.AF_MULTIPATH, K.AF_MAX])
      .toEqual([0, 1, 1, 2, 17, 18, 30, 32, 39, 41]);
    expect([K.PF_INET, K.PF_INET6, K.PF_ROUTE]).toEqual([2, 30, 17]);
    expect([K.SOCK_STREAM, K.SOCK_DGRAM, K.SOCK_RAW, K.SOCK_RDM, K.SOCK_SEQPACKET]).toEqual([1, 2, 3, 4, 5]);
    expect([K.SOL_SOCKET, K.SOMAXCONN, K.SOCK_MAXADDRLEN]).toEqual([0xffff, 128, 255]);
    expect([K.IPPROTO_IP, K.IPPROTO_ICMP, K.IPPROTO_TCP, K.IPPROTO_UDP, K.IPPROTO_IPV6, K.IPPROTO_ICMPV6, K.IPPROTO_RAW])
      .toEqual([0, 1, 6, 17, 41, 58, 255]);
    expect([K.IP_TOS, K.IP_TTL, K.IPV6_UNICAST_HOPS, K.IPV6_V6ONLY]).toEqual([3, 4, 4, 27]);
  });

  it('SOL_SOCKET option names (bsd/sys/socket.h)', () => {
    expect([K.SO_DEBUG, K.SO_ACCEPTCONN, K.SO_REUSEADDR, K.SO_KEEPALIVE, K.SO_DONTROUTE, K.SO_BROADCAST])
      .toEqual([1, 2, 4, 8, 0x10, 0x20]);
    expect([K.SO_LINGER, K.SO_OOBINLINE, K.SO_REUSEPORT, K.SO_LINGER_SEC]).toEqual([0x80, 0x100, 0x200, 0x1080]);
    expect([K.SO_SNDBUF, K.SO_RCVBUF, K.SO_SNDLOWAT, K.SO_RCVLOWAT, K.SO_SNDTIMEO, K.SO_RCVTIMEO, K.SO_ERROR, K.SO_TYPE])
      .toEqual([0x1001, 0x1002, 0x1003, 0x1004, 0x1005, 0x1006, 0x1007, 0x1008]);
    expect([K.SO_NREAD, K.SO_NOSIGPIPE, K.SO_NWRITE, K.SO_UPCALLCLOSEWAIT]).toEqual([0x1020, 0x1022, 0x1024, 0x1027]);
  });

  it('IPPROTO_TCP option names (bsd/netinet/tcp.h), the stack\'s and the added ones', () => {
    expect([K.TCP_NODELAY, K.TCP_MAXSEG, K.TCP_NOPUSH, K.TCP_NOOPT, K.TCP_KEEPALIVE, K.TCP_CONNECTIONTIMEOUT])
      .toEqual([1, 2, 4, 8, 0x10, 0x20]);
    expect([K.TCP_RXT_CONNDROPTIME, K.TCP_RXT_FINDROP, K.TCP_KEEPINTVL, K.TCP_KEEPCNT, K.TCP_SENDMOREACKS])
      .toEqual([0x80, 0x100, 0x101, 0x102, 0x103]);
    expect([K.TCP_ENABLE_ECN, K.TCP_FASTOPEN, K.TCP_CONNECTION_INFO, K.TCP_INFO, K.TCP_NOTSENT_LOWAT])
      .toEqual([0x104, 0x105, 0x106, 0x200, 0x201]);
    expect([K.TCP_MSS, K.TCP_MINMSS, K.TCP_MAXWIN, K.TCP_MAX_WINSHIFT]).toEqual([512, 216, 65535, 14]);
    // struct tcp_info's bits (tcp_private.h), as getconninfo's conninfo_tcp carries them.
    expect([K.TCPI_OPT_TIMESTAMPS, K.TCPI_OPT_SACK, K.TCPI_OPT_WSCALE, K.TCPI_OPT_ECN]).toEqual([1, 2, 4, 8]);
    expect([K.TCPI_FLAG_LOSSRECOVERY, K.TCPI_FLAG_STREAMING_ON]).toEqual([1, 2]);
  });

  it('MSG_* and SHUT_*', () => {
    expect([K.MSG_OOB, K.MSG_PEEK, K.MSG_DONTROUTE, K.MSG_EOR, K.MSG_TRUNC, K.MSG_CTRUNC, K.MSG_WAITALL, K.MSG_DONTWAIT])
      .toEqual([1, 2, 4, 8, 0x10, 0x20, 0x40, 0x80]);
    expect([K.MSG_EOF, K.MSG_WAITSTREAM, K.MSG_HAVEMORE, K.MSG_RCVMORE, K.MSG_NEEDSA, K.MSG_NBIO, K.MSG_NOSIGNAL])
      .toEqual([0x100, 0x200, 0x2000, 0x4000, 0x10000, 0x20000, 0x80000]);
    expect(K.MSG_USEUPCALL >>> 0).toBe(0x80000000);
    expect([K.SHUT_RD, K.SHUT_WR, K.SHUT_RDWR]).toEqual([0, 1, 2]);
  });

  it('ioctl numbers agree with the _IOC encoding (bsd/sys/ioccom.h)', () => {
    expect(K.FIONREAD).toBe(K._IOR('f', 127, 4));
    expect(K.FIONBIO).toBe(K._IOW('f', 126, 4));
    expect(K.FIOASYNC).toBe(K._IOW('f', 125, 4));
    expect(K.SIOCATMARK).toBe(K._IOR('s', 7, 4));
    expect(K.SIOCSPGRP).toBe(K._IOW('s', 8, 4));
    expect(K.SIOCGPGRP).toBe(K._IOR('s', 9, 4));
    expect([K.FIONREAD, K.FIONBIO, K.SIOCATMARK]).toEqual([0x4004667f, 0x8004667e, 0x40047307]);
    expect(K.SIOCGASSOCIDS).toBe(K._IOWR('s', 150, 16));
    expect(K.SIOCGCONNIDS).toBe(K._IOWR('s', 151, 16));
    expect(K.SIOCGCONNINFO).toBe(K._IOWR('s', 152, 64));
    expect(K.SIOCSCONNORDER).toBe(K._IOWR('s', 153, 8));
    expect(K.SIOCGCONNORDER).toBe(K._IOWR('s', 154, 8));
    expect(K.IOCPARM_LEN(K.SIOCGCONNINFO)).toBe(64);
  });

  it('the upcall waitf is MBUF_DONTWAIT', () => {
    expect(K.SOCK_UPCALL_WAITF).toBe(1);
  });

  it('re-exports every errno and socket constant of the stack (darwin-constants.ts lists them by name)', () => {
    const k = K as Record<string, unknown>;
    const missing = Object.entries({ ...StackErrno, ...StackSocketConstants })
      .filter(([name, v]) => k[name] !== v)
      .map(([name]) => name);
    expect(missing).toEqual([]);
  });
});
