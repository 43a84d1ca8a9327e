// TCP connection states with BSD's numbering (netinet/tcp_fsm.h), so traces and netstat output
// read like XNU's. RFC 9293 §3.3.2 defines the eleven states.

export const TCPS_CLOSED = 0;
export const TCPS_LISTEN = 1;
export const TCPS_SYN_SENT = 2;
export const TCPS_SYN_RECEIVED = 3;
export const TCPS_ESTABLISHED = 4;
export const TCPS_CLOSE_WAIT = 5;
export const TCPS_FIN_WAIT_1 = 6;
export const TCPS_CLOSING = 7;
export const TCPS_LAST_ACK = 8;
export const TCPS_FIN_WAIT_2 = 9;
export const TCPS_TIME_WAIT = 10;

export type TcpState = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10;

export const TCP_NSTATES = 11;

export const tcpStateNames: readonly string[] = [
  'CLOSED', 'LISTEN', 'SYN_SENT', 'SYN_RECEIVED', 'ESTABLISHED', 'CLOSE_WAIT',
  'FIN_WAIT_1', 'CLOSING', 'LAST_ACK', 'FIN_WAIT_2', 'TIME_WAIT',
];

/** TCPS_HAVERCVDSYN: a SYN from the peer has been received. */
export const haveRcvdSyn = (s: number): boolean => s >= TCPS_SYN_RECEIVED;
/** TCPS_HAVEESTABLISHED: the connection was established at some point. */
export const haveEstablished = (s: number): boolean => s >= TCPS_ESTABLISHED;
/** TCPS_HAVERCVDFIN: the peer's FIN has been received (CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT). */
export const haveRcvdFin = (s: number): boolean =>
  s === TCPS_CLOSE_WAIT || s === TCPS_CLOSING || s === TCPS_LAST_ACK || s === TCPS_TIME_WAIT;
