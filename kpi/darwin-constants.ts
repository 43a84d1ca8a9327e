// Darwin constants of the kernel socket KPI (bsd/sys/errno.h, socket.h, socket_private.h,
// netinet/in.h, netinet/tcp.h, sys/ioccom.h, filio.h, sockio.h; xnu-sockets.md §1): every value is
// Darwin's (AF_INET6 30, SOL_SOCKET 0xffff, EOPNOTSUPP 102 ≠ ENOTSUP 45, MSG_DONTWAIT 0x80).
//
// The stack already defines most of them (stack/errno.ts, stack/socket/constants.ts, the TCP_*
// option names in stack/tcp/tcp-usrreq.ts); they are re-exported here by name from the stack's
// public entry (stack/index.ts), never redefined, and only what the stack lacks is added below.
// test/kpi/constants.test.ts checks that every errno and socket constant of the stack is listed.
// MBUF_* belong to kpi/kpi-mbuf.ts; the connectx structures' constants (SAE_*, CIF_*, CONNECT_*) to
// kpi/connectx*.ts.

// errno values (stack/errno.ts)
export {
  EPERM, ENOENT, ESRCH, EINTR, EIO, ENXIO, EBADF, ENOMEM, EACCES, EFAULT, EBUSY, EEXIST, EINVAL, ENFILE,
  EMFILE, ENOTTY, EPIPE, EDOM, ERANGE, EAGAIN, EWOULDBLOCK, EINPROGRESS, EALREADY, ENOTSOCK, EDESTADDRREQ,
  EMSGSIZE, EPROTOTYPE, ENOPROTOOPT, EPROTONOSUPPORT, ESOCKTNOSUPPORT, ENOTSUP, EPFNOSUPPORT, EAFNOSUPPORT,
  EADDRINUSE, EADDRNOTAVAIL, ENETDOWN, ENETUNREACH, ENETRESET, ECONNABORTED, ECONNRESET, ENOBUFS, EISCONN,
  ENOTCONN, ESHUTDOWN, ETOOMANYREFS, ETIMEDOUT, ECONNREFUSED, EHOSTDOWN, EHOSTUNREACH, EOVERFLOW, ECANCELED,
  EPROTO, EOPNOTSUPP, ENOPOLICY, EQFULL, errnoName,
} from '../stack/index.js';
// socket constants (stack/socket/constants.ts)
export {
  AF_UNSPEC, AF_UNIX, AF_INET, AF_INET6, AF_MULTIPATH, PF_UNSPEC, PF_INET, PF_INET6, PF_MULTIPATH,
  SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_SEQPACKET, IPPROTO_IP, IPPROTO_RAW, SOL_SOCKET, SOMAXCONN,
  SO_DEBUG, SO_ACCEPTCONN, SO_REUSEADDR, SO_KEEPALIVE, SO_DONTROUTE, SO_BROADCAST, SO_USELOOPBACK, SO_LINGER,
  SO_OOBINLINE, SO_REUSEPORT, SO_TIMESTAMP, SO_TIMESTAMP_MONOTONIC, SO_DONTTRUNC, SO_WANTMORE,
  SO_WANTOOBFLAG, SO_SNDBUF, SO_RCVBUF, SO_SNDLOWAT, SO_RCVLOWAT, SO_SNDTIMEO, SO_RCVTIMEO, SO_ERROR,
  SO_TYPE, SO_NREAD, SO_NKE, SO_NOSIGPIPE, SO_NOADDRERR, SO_NWRITE, SO_REUSESHAREUID, SO_NOTIFYCONFLICT,
  SO_UPCALLCLOSEWAIT, SO_LINGER_SEC, SO_RANDOMPORT, SO_NP_EXTENSIONS, SO_NUMRCVPKT, IP_TOS, IP_TTL,
  IP_RECVDSTADDR, IP_RECVIF, IP_BOUND_IF, IP_PKTINFO, IPV6_UNICAST_HOPS, IPV6_V6ONLY, IPV6_TCLASS,
  IPV6_BOUND_IF, MSG_OOB, MSG_PEEK, MSG_DONTROUTE, MSG_EOR, MSG_TRUNC, MSG_CTRUNC, MSG_WAITALL, MSG_DONTWAIT,
  MSG_EOF, MSG_WAITSTREAM, MSG_HAVEMORE, MSG_RCVMORE, MSG_NEEDSA, MSG_NBIO, MSG_NOSIGNAL, MSG_USEUPCALL,
  SHUT_RD, SHUT_WR, SHUT_RDWR, IPPORT_FIRSTAUTO, IPPORT_LASTAUTO, IPPORT_RESERVED, SS_NOFDREF,
  SS_ISCONNECTED, SS_ISCONNECTING, SS_ISDISCONNECTING, SS_CANTSENDMORE, SS_CANTRCVMORE, SS_RCVATMARK,
  SS_PRIV, SS_NBIO, SS_ASYNC, SS_ISCONFIRMING, SS_ISDISCONNECTED, SO_NOWAKEFROMSLEEP, SO_TRAFFIC_CLASS,
  SB_LOCK, SB_NOINTR, SB_RECV, SB_SEL, SB_ASYNC, SB_UPCALL, SB_KNOTE, SB_DROP, SB_UNIX, SB_USRSIZE,
  SB_AUTOSIZE, SB_TRIM, SB_NOCOMPRESS, SB_MAX, SB_EFFICIENCY, HZ, SOF_NOSIGPIPE, SOF_NOADDRAVAIL,
  SOF_PCBCLEARING, SOF_DEFUNCT, SOF_CLOSEWAIT, SOF_REUSESHAREUID, SOF_NOTIFYCONFLICT, SOF_UPCALLCLOSEWAIT,
  SOF_BINDRANDOMPORT, SOF_NPX_SETOPTSHUT, SOF_NOTSENT_LOWAT, SONPX_SETOPTSHUT, SONPX_MASK_VALID,
  SO_FILT_HINT_CONNRESET, SO_FILT_HINT_CANTRCVMORE, SO_FILT_HINT_CANTSENDMORE, SO_FILT_HINT_TIMEOUT,
  SO_FILT_HINT_CONNECTED, SO_FILT_HINT_DISCONNECTED, SO_FILT_HINT_CONNINFO_UPDATED, FIONREAD, FIONBIO,
  FIOASYNC, FIOSETOWN, FIOGETOWN, SIOCATMARK, SIOCSPGRP, SIOCGPGRP, SOCKADDR_IN_LEN, SOCKADDR_IN6_LEN,
  SOCK_MAXADDRLEN, INADDR_ANY, INADDR_LOOPBACK, INADDR_BROADCAST, SS_INCOMP, SS_COMP, IPPROTO_HOPOPTS,
  IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_IPV6, IPPROTO_ROUTING, IPPROTO_FRAGMENT, IPPROTO_ICMPV6,
  IPPROTO_NONE, IPPROTO_DSTOPTS,
} from '../stack/index.js';
// IPPROTO_TCP option names (stack/tcp/tcp-usrreq.ts)
export {
  TCP_NODELAY, TCP_MAXSEG, TCP_NOPUSH, TCP_NOOPT, TCP_KEEPALIVE, TCP_CONNECTIONTIMEOUT, TCP_KEEPINTVL,
  TCP_KEEPCNT, TCP_NOTSENT_LOWAT, TCP_FASTOPEN, PERSIST_TIMEOUT, TCP_RXT_CONNDROPTIME, TCP_ENABLE_ECN,
  TCP_CONNECTION_INFO, TCP_INFO, TCP_NOTIMEWAIT,
} from '../stack/index.js';

// ---- address families and socket types the stack does not define (bsd/sys/socket.h) ----

export const AF_LOCAL = 1;
export const AF_ROUTE = 17;
export const AF_LINK = 18;
export const AF_SYSTEM = 32;
export const AF_MAX = 41;
export const PF_UNIX = 1;
export const PF_LOCAL = 1;
export const PF_ROUTE = AF_ROUTE;
export const PF_LINK = AF_LINK;
export const PF_SYSTEM = AF_SYSTEM;
export const PF_MAX = AF_MAX;
export const SOCK_RDM = 4;
/** sizeof(struct sockaddr_storage). */
export const SOCKADDR_STORAGE_LEN = 128;

// ---- IPPROTO_TCP option names the stack does not implement (bsd/netinet/tcp.h, tcp_private.h) ----
// Setting or getting them answers ENOPROTOOPT, as tcp_ctloutput does for an unknown name (the
// implemented ones are re-exported from the stack above).
export const TCP_RXT_FINDROP = 0x100;
export const TCP_SENDMOREACKS = 0x103;
export const TCP_ADAPTIVE_READ_TIMEOUT = 0x205;
export const TCP_ADAPTIVE_WRITE_TIMEOUT = 0x207;

/** Protocol limits (bsd/netinet/tcp.h): default MSS, minimum MSS, largest unscaled window, largest shift. */
export const TCP_MSS = 512;
export const TCP_MINMSS = 216;
export const TCP_MAXWIN = 65535;
export const TCP_MAX_WINSHIFT = 14;

// ---- ioctl encoding (bsd/sys/ioccom.h) ----

export const IOCPARM_MASK = 0x1fff;
export const IOC_VOID = 0x20000000;
export const IOC_OUT = 0x40000000;
export const IOC_IN = 0x80000000;
export const IOC_INOUT = IOC_IN | IOC_OUT;

/** _IOC(inout, group, num, len) as an unsigned 32-bit number. */
export const _IOC = (inout: number, group: string | number, num: number, len: number): number =>
  (inout | ((len & IOCPARM_MASK) << 16) | ((typeof group === 'string' ? group.charCodeAt(0) : group) << 8) | num) >>> 0;
export const _IO = (g: string | number, n: number): number => _IOC(IOC_VOID, g, n, 0);
export const _IOR = (g: string | number, n: number, len: number): number => _IOC(IOC_OUT, g, n, len);
export const _IOW = (g: string | number, n: number, len: number): number => _IOC(IOC_IN, g, n, len);
export const _IOWR = (g: string | number, n: number, len: number): number => _IOC(IOC_INOUT, g, n, len);
/** IOCPARM_LEN(x): the argument size encoded in a request. */
export const IOCPARM_LEN = (x: number): number => (x >>> 16) & IOCPARM_MASK;

// ---- multipath ioctls (bsd/sys/sockio_private.h, LP64 struct sizes; xnu-sockets.md §1.6) ----
// Numbers only: kpi/connectx*.ts and kpi/conninfo*.ts implement what they do.

/** _IOWR('s', 150, struct so_aidreq) (16 bytes). */
export const SIOCGASSOCIDS = 0xc0107396;
/** _IOWR('s', 151, struct so_cidreq) (16 bytes). */
export const SIOCGCONNIDS = 0xc0107397;
/** _IOWR('s', 152, struct so_cinforeq) (64 bytes). */
export const SIOCGCONNINFO = 0xc0407398;
/** _IOWR('s', 153, struct so_cordreq) (8 bytes). */
export const SIOCSCONNORDER = 0xc0087399;
/** _IOWR('s', 154, struct so_cordreq) (8 bytes). */
export const SIOCGCONNORDER = 0xc008739a;

/** sock_upcall's waitf: always MBUF_DONTWAIT (M_DONTWAIT = 1), the callback must not block. */
export const SOCK_UPCALL_WAITF = 1;
