// Public face of stack/wire: stateless header views and codecs. Other layers import from here.

export * from './wire-error.js';
export * from './bytes.js';
export * from './byte-view.js';
export * from './checksum.js';
export * from './seq.js';
export * from './ip-addr.js';
export * from './ip-proto.js';
export * from './ipv4.js';
export * from './ipv6.js';
export * from './icmp-header.js';
export * from './icmpv4.js';
export * from './icmpv6.js';
export * from './udp.js';
export * from './tcp-options.js';
export * from './tcp.js';
