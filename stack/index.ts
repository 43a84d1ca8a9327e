// The public surface of the stack library: the Stack, its environment, addresses, errno values,
// socket constants, links and mbufs. Embedders and tools import from here, not from the folders.

export { Stack } from './stack.js';
export type { StackOptions, AddRouteOptions } from './stack.js';
export type { StackContext, Deferred } from './context.js';
export { simEnv, realEnv, nullLogger } from './env.js';
export type { Env, Logger, LogCategory } from './env.js';
export { IpAddr, IpCidr } from './wire/ip-addr.js';
export type { IpFamily } from './wire/ip-addr.js';
export * from './socket/errno.js';
export * from './socket/constants.js';
export * from './link/index.js';
export * from './mbuf/index.js';
export * from './time/index.js';
export { SeededRng, CryptoRng } from './random/rng.js';
export type { Rng } from './random/rng.js';
export { IpLayer, LOMTU, IP_DEFTTL, ICMP_DEFAULT_RATE, DEFAULT_REASS4_LIMITS, DEFAULT_REASS6_LIMITS } from './ip/ip-layer.js';
export type { IpLayerOptions, AddInterfaceOptions, EchoReply, EchoListener } from './ip/ip-layer.js';
export { Ifnet, IfStats } from './ip/ifnet.js';
export { Route, RouteTable } from './ip/route.js';
export { PmtuCache } from './ip/pmtu.js';
export { IpStats, Ip6Stats, IcmpStats, Icmp6Stats } from './ip/ip-stats.js';
export type { ReassLimits } from './ip/reass.js';
export type { IpInputInfo, IpCtlInfo, IpProtocol, IpOutput, IpOutputParams } from './ip/protocol.js';
export * from './socket/index.js';
export { Udp, UDP_SENDSPACE, UDP_RECVSPACE } from './udp/udp.js';
export type { UdpOptions } from './udp/udp.js';
export { UdpStats } from './udp/udp-stats.js';
export { InPcb, InPcbTable } from './inpcb/in-pcb.js';
export * from './tcp/index.js';
export { ok, err } from './result.js';
export type { Result } from './result.js';
export { INP_INADDR_ANY, INP_ANONPORT, INP_TIMEWAIT, INP_DEAD } from './inpcb/in-pcb.js';
export {
  intotcpcb, TF_ACKNOW, TF_DELACK, TF_NODELAY, TF_NOOPT, TF_SENTFIN, TF_REQ_SCALE, TF_RCVD_SCALE, TF_REQ_TSTMP,
  TF_RCVD_TSTMP, TF_SACK_PERMIT, TF_NEEDFIN, TF_NOPUSH, TF_FORCEDATA, TF_RXWIN0SENT, TF_FASTRECOVERY,
  TF_KEEPALIVE_ARMED, TF_CLOSED, TF_REQ_SACK, TF_CHILD, TF_WINUPDATE, TF_STRETCHACK, TF_STREAMING_ON, TF_MAXSEGSNT,
  TF_SENT_TLPROBE, TF_TLP_IS_RETRANS, TT_REXMT, TT_PERSIST, TT_KEEP, TT_2MSL, TT_DELACK, TT_PTO, TT_NTIMERS,
} from './tcp/tcp-var.js';
