// The TCP protocol's public surface: the Tcp object the Stack owns, its options, counters, the
// control block, states, profiles, congestion-control plug-ins and the IPPROTO_TCP option names.

export { Tcp } from './tcp.js';
export type { TcpOptions } from './tcp.js';
export { TcpStats } from './tcp-stats.js';
export { Tcpcb } from './tcp-var.js';
export * from './tcp-fsm.js';
export { XNU_PROFILE, withProfile } from './tcp-profile.js';
export type { TcpProfile, SynOptionItem } from './tcp-profile.js';
export type { CongestionControl, CcConn, CcSignal } from './tcp-cc.js';
export { ccByName, CC_NAMES } from './tcp-cc-registry.js';
export {
  TCP_NODELAY, TCP_MAXSEG, TCP_NOPUSH, TCP_NOOPT, TCP_KEEPALIVE, TCP_CONNECTIONTIMEOUT, TCP_KEEPINTVL,
  TCP_KEEPCNT, TCP_NOTSENT_LOWAT, TCP_FASTOPEN, PERSIST_TIMEOUT, TCP_RXT_CONNDROPTIME, TCP_ENABLE_ECN,
  TCP_CONNECTION_INFO, TCP_INFO, TCP_NOTIMEWAIT, tcpcbOf,
} from './tcp-usrreq.js';
export { TCP_FASTOPEN_SERVER, TCP_FASTOPEN_CLIENT } from './tcp-fastopen.js';
export { tcpEcnEnabled } from './tcp-ecn.js';
export {
  TCPI_OPT_TIMESTAMPS, TCPI_OPT_SACK, TCPI_OPT_WSCALE, TCPI_OPT_ECN, TCPI_FLAG_LOSSRECOVERY, TCPI_FLAG_STREAMING_ON,
  tcpInfoOptions, tcpInfoFlags, tcpInfoRtoMs,
} from './tcp-info.js';
