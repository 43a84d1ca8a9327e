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
