// The XNU kernel programming interface over a tunstack Stack: kpi_socket.h (sock_*), kpi_mbuf.h
// (mbuf_*), connectx/disconnectx/peeloff and the association/connection-ID calls, the Darwin
// constants and the sockaddr byte helpers. Everything a KPI client needs comes from here.

// ---- kernel socket KPI, Darwin constants, sockaddr bytes ----
export * from './kpi-socket.js';
export * from './darwin-constants.js';
export * from './sockaddr.js';

// ---- mbuf KPI, connectx & co. (kpi/kpi-mbuf.ts, kpi/mbuf-*.ts, kpi/connectx*.ts, kpi/conninfo*.ts) ----
// Their exports go in this block. Constants already exported above (errno, AF_*, SOCK_*, MSG_*,
// SO_*, TCP_*, the ioctl numbers incl. SIOCGASSOCIDS/SIOCGCONNIDS/SIOCGCONNINFO/SIOCSCONNORDER/
// SIOCGCONNORDER, SOCK_UPCALL_WAITF) come from ./darwin-constants.js: import them, do not redefine
// them, or `export *` reports the name as ambiguous. Types: socket_t, errno_t, Box, msghdr from
// ./kpi-socket.js; mbuf_t is the stack's Mbuf.
// >>> mbuf/connectx exports
export * from './kpi-mbuf.js';
export * from './assoc.js';
export * from './connectx.js';
export { sockaddrList } from './connectx-addrs.js';
export * from './conninfo.js';
export * from './conninfo-tcp.js';
// <<< mbuf/connectx exports
