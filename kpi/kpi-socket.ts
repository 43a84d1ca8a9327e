// kpi_socket.h: the kernel socket KPI under its C names and argument order (bsd/kern/kpi_socket.c).
// This file is the public surface; the implementation is split by concern:
//   sock-core.ts    KpiKernel/kpiKernel (the stack handle; sock_socket), socket_t, sock_upcall,
//                   msghdr, sleeping (blocking calls as Promises) and upcall delivery
//   sock-conn.ts    bind, connect, connectwait, listen, accept, shutdown, close, retain/release,
//                   getsockname/getpeername, getaddr/freeaddr, gettype, isconnected/isnonblocking, setpriv,
//                   nointerrupt, sock_interrupt (port-specific signal stand-in)
//   sock-io.ts      send, sendmbuf, receive, receivembuf
//   sock-opt.ts     getsockopt/setsockopt, ioctl, typed option helpers
//   sock-upcall.ts  setupcall, setupcalls, catchevents
//   sock-sim.ts     kpiRunUntil/kpiRun: `await`-style KPI code on a simulated network
//   sock-poll.ts    sock_poll and the POLL* bits (readiness without reaching into the socket layer)
//   kpi-timer.ts    kpiTimer: a callback at an instant of the kernel's clock (virtual in a simulation)
// See README.md "Kernel socket KPI" for the API shape, the blocking design and the documented-vs-XNU table.

export type {
  errno_t, KpiResult, Box, sock_upcall, sock_evupcall, msghdr, socket_t, KpiBehaviour, KpiKernelOptions,
} from './sock-core.js';
export { KpiKernel, KpiSocket, KpiStats, kpiKernel, newMsghdr } from './sock-core.js';
export type { timeval } from './sock-conn.js';
export {
  sock_accept, sock_bind, sock_close, sock_connect, sock_connectwait, sock_freeaddr, sock_getaddr,
  sock_getpeername, sock_getsockname,
  sock_gettype, sock_interrupt, sock_isconnected, sock_isnonblocking, sock_listen, sock_nointerrupt,
  sock_release, sock_retain, sock_setpriv, sock_shutdown,
} from './sock-conn.js';
export { sock_receive, sock_receivembuf, sock_send, sock_sendmbuf } from './sock-io.js';
export {
  sock_getsockopt, sock_ioctl, sock_setsockopt, sockoptInt, sockoptLinger, sockoptTimeval, readSockoptInt,
  readSockoptLinger, readSockoptTimeval, setsockoptInt, getsockoptInt, setsockoptTimeval, getsockoptTimeval,
  setsockoptLinger, getsockoptLinger,
} from './sock-opt.js';
export { sock_catchevents, sock_setupcall, sock_setupcalls } from './sock-upcall.js';
export { kpiRun, kpiRunUntil } from './sock-sim.js';
export type { SimulationLike } from './sock-sim.js';
export { sock_poll, POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP, POLLNVAL } from './sock-poll.js';
export { KpiTimer, kpiTimer } from './kpi-timer.js';
