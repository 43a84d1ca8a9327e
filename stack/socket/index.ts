// The socket layer's public surface, for stack.ts and kpi/: the SocketLayer, the Socket, the so*
// operations, socket buffers, the protocol switch, option and address codecs, events.

export * from './socket-layer.js';
export * from './socket.js';
export * from './socket-events.js';
export * from './socket-stats.js';
export * from './sockbuf.js';
export * from './protosw.js';
export * from './sockaddr.js';
export * from './sockopt.js';
export * from './so-ops.js';
export * from './so-listen.js';
export * from './so-send.js';
export * from './so-receive.js';
export * from './so-options.js';
