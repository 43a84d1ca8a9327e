// Darwin socket constants (bsd/sys/socket.h, netinet/in.h, netinet/tcp.h) as the stack uses them.
// kpi/ re-exports these; values are Darwin's, not Linux's (AF_INET6 is 30, SOL_SOCKET 0xffff).

export const AF_UNSPEC = 0;
export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 30;
export const AF_MULTIPATH = 39;
export const PF_UNSPEC = AF_UNSPEC;
export const PF_INET = AF_INET;
export const PF_INET6 = AF_INET6;
export const PF_MULTIPATH = AF_MULTIPATH;

export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_SEQPACKET = 5;

/** Protocol numbers are IANA's, defined once in stack/wire; the socket API exposes them under the same names. */
export {
  IPPROTO_HOPOPTS, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_IPV6, IPPROTO_ROUTING, IPPROTO_FRAGMENT,
  IPPROTO_ICMPV6, IPPROTO_NONE, IPPROTO_DSTOPTS,
} from '../wire/ip-proto.js';
/** The IP level for get/setsockopt (shares 0 with IPPROTO_HOPOPTS, as in netinet/in.h). */
export const IPPROTO_IP = 0;
/** Raw IP sockets. */
export const IPPROTO_RAW = 255;

export const SOL_SOCKET = 0xffff;
export const SOMAXCONN = 128;

export const SO_DEBUG = 0x0001;
export const SO_ACCEPTCONN = 0x0002;
export const SO_REUSEADDR = 0x0004;
export const SO_KEEPALIVE = 0x0008;
export const SO_DONTROUTE = 0x0010;
export const SO_BROADCAST = 0x0020;
export const SO_USELOOPBACK = 0x0040;
export const SO_LINGER = 0x0080;
export const SO_OOBINLINE = 0x0100;
export const SO_REUSEPORT = 0x0200;
export const SO_TIMESTAMP = 0x0400;
export const SO_TIMESTAMP_MONOTONIC = 0x0800;
export const SO_DONTTRUNC = 0x2000;
export const SO_WANTMORE = 0x4000;
export const SO_WANTOOBFLAG = 0x8000;
export const SO_SNDBUF = 0x1001;
export const SO_RCVBUF = 0x1002;
export const SO_SNDLOWAT = 0x1003;
export const SO_RCVLOWAT = 0x1004;
export const SO_SNDTIMEO = 0x1005;
export const SO_RCVTIMEO = 0x1006;
export const SO_ERROR = 0x1007;
export const SO_TYPE = 0x1008;
export const SO_NREAD = 0x1020;
export const SO_NKE = 0x1021;
export const SO_NOSIGPIPE = 0x1022;
export const SO_NOADDRERR = 0x1023;
export const SO_NWRITE = 0x1024;
export const SO_REUSESHAREUID = 0x1025;
export const SO_NOTIFYCONFLICT = 0x1026;
export const SO_UPCALLCLOSEWAIT = 0x1027;
export const SO_LINGER_SEC = 0x1080;
export const SO_RANDOMPORT = 0x1082;
export const SO_NP_EXTENSIONS = 0x1083;
export const SO_NUMRCVPKT = 0x1112;

export const IP_TOS = 3;
export const IP_TTL = 4;
export const IP_RECVDSTADDR = 7;
export const IP_RECVIF = 20;
export const IP_BOUND_IF = 25;
export const IP_PKTINFO = 26;
export const IPV6_UNICAST_HOPS = 4;
export const IPV6_V6ONLY = 27;
export const IPV6_TCLASS = 36;
export const IPV6_BOUND_IF = 125;

export const MSG_OOB = 0x1;
export const MSG_PEEK = 0x2;
export const MSG_DONTROUTE = 0x4;
export const MSG_EOR = 0x8;
export const MSG_TRUNC = 0x10;
export const MSG_CTRUNC = 0x20;
export const MSG_WAITALL = 0x40;
export const MSG_DONTWAIT = 0x80;
export const MSG_EOF = 0x100;
export const MSG_WAITSTREAM = 0x200;
export const MSG_HAVEMORE = 0x2000;
export const MSG_RCVMORE = 0x4000;
export const MSG_NEEDSA = 0x10000;
export const MSG_NBIO = 0x20000;
export const MSG_NOSIGNAL = 0x80000;
export const MSG_USEUPCALL = 0x80000000;

export const SHUT_RD = 0;
export const SHUT_WR = 1;
export const SHUT_RDWR = 2;

/** Ephemeral port range (ipport_firstauto..ipport_lastauto, bsd/netinet/in_pcb.c). */
export const IPPORT_FIRSTAUTO = 49152;
export const IPPORT_LASTAUTO = 65535;
export const IPPORT_RESERVED = 1024;

// so_state bits (bsd/sys/socketvar.h)
export const SS_NOFDREF = 0x1;
export const SS_ISCONNECTED = 0x2;
export const SS_ISCONNECTING = 0x4;
export const SS_ISDISCONNECTING = 0x8;
export const SS_CANTSENDMORE = 0x10;
export const SS_CANTRCVMORE = 0x20;
export const SS_RCVATMARK = 0x40;
export const SS_PRIV = 0x80;
export const SS_NBIO = 0x100;
export const SS_ASYNC = 0x200;
export const SS_ISCONFIRMING = 0x400;
export const SS_ISDISCONNECTED = 0x2000;

// ---- added by the socket layer (values from bsd/sys/socketvar.h, filio.h, sockio.h) ----

export const SO_NOWAKEFROMSLEEP = 0x10000;
export const SO_TRAFFIC_CLASS = 0x1086;

/** sockbuf flags (sb_flags, bsd/sys/socketvar.h). */
export const SB_LOCK = 0x1;
export const SB_NOINTR = 0x2;
export const SB_RECV = 0x4;
export const SB_SEL = 0x8;
export const SB_ASYNC = 0x10;
export const SB_UPCALL = 0x20;
export const SB_KNOTE = 0x40;
export const SB_DROP = 0x80;
export const SB_UNIX = 0x100;
export const SB_USRSIZE = 0x200;
export const SB_AUTOSIZE = 0x400;
export const SB_TRIM = 0x800;
export const SB_NOCOMPRESS = 0x1000;
/** sb_max: the largest socket buffer (SB_MAX, bsd/sys/socketvar.h: 8 MiB). */
export const SB_MAX = 8 * 1024 * 1024;
/** sb_efficiency: sb_mbmax = min(hiwat × 8, sb_max). */
export const SB_EFFICIENCY = 8;
/** Kernel clock ticks per second (bsd/kern/kern_clock.c hz); SO_LINGER is in ticks. */
export const HZ = 100;

/** so_flags bits (bsd/sys/socketvar.h). */
export const SOF_NOSIGPIPE = 0x1;
export const SOF_NOADDRAVAIL = 0x2;
export const SOF_PCBCLEARING = 0x4;
export const SOF_DEFUNCT = 0x8;
export const SOF_CLOSEWAIT = 0x10;
export const SOF_REUSESHAREUID = 0x40;
export const SOF_NOTIFYCONFLICT = 0x400;
export const SOF_UPCALLCLOSEWAIT = 0x800;
export const SOF_BINDRANDOMPORT = 0x1000;
export const SOF_NPX_SETOPTSHUT = 0x2000;
export const SOF_NOTSENT_LOWAT = 0x80000;

/** struct so_np_extensions npx_flags / npx_mask (SO_NP_EXTENSIONS). */
export const SONPX_SETOPTSHUT = 0x1;
export const SONPX_MASK_VALID = SONPX_SETOPTSHUT;

/** Event hints (sock_catchevents). */
export const SO_FILT_HINT_CONNRESET = 0x2;
export const SO_FILT_HINT_CANTRCVMORE = 0x4;
export const SO_FILT_HINT_CANTSENDMORE = 0x8;
export const SO_FILT_HINT_TIMEOUT = 0x10;
export const SO_FILT_HINT_CONNECTED = 0x1000;
export const SO_FILT_HINT_DISCONNECTED = 0x2000;
export const SO_FILT_HINT_CONNINFO_UPDATED = 0x4000;

/** ioctl requests (bsd/sys/filio.h, sockio.h). */
export const FIONREAD = 0x4004667f;
export const FIONBIO = 0x8004667e;
export const FIOASYNC = 0x8004667d;
export const FIOSETOWN = 0x8004667c;
export const FIOGETOWN = 0x4004667b;
export const SIOCATMARK = 0x40047307;
export const SIOCSPGRP = 0x80047308;
export const SIOCGPGRP = 0x40047309;

/** Darwin sockaddr sizes (sin_len / sin6_len). */
export const SOCKADDR_IN_LEN = 16;
export const SOCKADDR_IN6_LEN = 28;
export const SOCK_MAXADDRLEN = 255;
export const INADDR_ANY = 0;
export const INADDR_LOOPBACK = 0x7f000001;
export const INADDR_BROADCAST = 0xffffffff;

/** so_state bits of queued children of a listener (bsd/sys/socketvar.h). */
export const SS_INCOMP = 0x800;
export const SS_COMP = 0x1000;
