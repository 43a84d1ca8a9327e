// getconninfo's TCP aux data (CIAUX_TCP): struct conninfo_tcp { pid_t tcpci_peer_pid; struct
// tcp_info tcpci_tcp_info; } (bsd/netinet/tcp.h, tcp_usrreq.c tcp_getconninfo/tcp_fill_info), as an
// object with Darwin's field names and units (times in ms). Fields tcp_fill_info fills and the
// stack has no source for are absent (README.md "The mbuf KPI and the connectx family").

import type { Socket, InPcb } from '../stack/index.js';
import {
  TCPS_LISTEN, TCPI_OPT_WSCALE, intotcpcb, tcpInfoFlags, tcpInfoOptions, tcpInfoRtoMs,
} from '../stack/index.js';

// tcpi_options / tcpi_flags bits (tcp_private.h): the stack's, which fills TCP_INFO with the same.
export {
  TCPI_OPT_TIMESTAMPS, TCPI_OPT_SACK, TCPI_OPT_WSCALE, TCPI_OPT_ECN, TCPI_FLAG_LOSSRECOVERY, TCPI_FLAG_STREAMING_ON,
} from '../stack/index.js';

/** struct tcp_info (Darwin), the fields this stack can fill. */
export interface tcp_info {
  /** TCPS_* (Darwin's numbering: CLOSED 0 ... ESTABLISHED 4 ... TIME_WAIT 10). */
  tcpi_state: number;
  /** TCPI_OPT_* negotiated. */
  tcpi_options: number;
  tcpi_snd_wscale: number;
  tcpi_rcv_wscale: number;
  /** TCPI_FLAG_*. */
  tcpi_flags: number;
  /** Current RTO in ms while the retransmit timer runs, else 0. */
  tcpi_rto: number;
  tcpi_snd_mss: number;
  tcpi_rcv_mss: number;
  /** Latest RTT sample, smoothed RTT, RTT variance, best RTT: ms. */
  tcpi_rttcur: number;
  tcpi_srtt: number;
  tcpi_rttvar: number;
  tcpi_rttbest: number;
  tcpi_snd_ssthresh: number;
  tcpi_snd_cwnd: number;
  /** Receive window advertised. */
  tcpi_rcv_space: number;
  tcpi_snd_wnd: number;
  tcpi_snd_nxt: number;
  tcpi_rcv_nxt: number;
  /** Index of the interface the connection last sent on (0 = none). */
  tcpi_last_outif: number;
  /** Bytes in the send buffer. */
  tcpi_snd_sbbytes: number;
  tcpi_txpackets: number;
  tcpi_txbytes: number;
  tcpi_rxpackets: number;
  tcpi_rxbytes: number;
}

/** struct conninfo_tcp. */
export interface conninfo_tcp {
  /** The local peer's pid for a connection to this host (0: processes are not modelled). */
  tcpci_peer_pid: number;
  tcpci_tcp_info: tcp_info;
}

const ms = (us: number): number => Math.floor(us / 1000);

/** tcp_getconninfo: the TCP info of a socket's connection (`lastOutif` computed by the caller). */
export function tcpGetConninfo(so: Socket, lastOutif: number): conninfo_tcp {
  const pcb = so.so_pcb as InPcb | null;
  const tp = intotcpcb(pcb);
  const ti: tcp_info = {
    tcpi_state: 0, tcpi_options: 0, tcpi_snd_wscale: 0, tcpi_rcv_wscale: 0, tcpi_flags: 0, tcpi_rto: 0,
    tcpi_snd_mss: 0, tcpi_rcv_mss: 0, tcpi_rttcur: 0, tcpi_srtt: 0, tcpi_rttvar: 0, tcpi_rttbest: 0,
    tcpi_snd_ssthresh: 0, tcpi_snd_cwnd: 0, tcpi_rcv_space: 0, tcpi_snd_wnd: 0, tcpi_snd_nxt: 0, tcpi_rcv_nxt: 0,
    tcpi_last_outif: 0, tcpi_snd_sbbytes: 0, tcpi_txpackets: 0, tcpi_txbytes: 0, tcpi_rxpackets: 0, tcpi_rxbytes: 0,
  };
  if (tp !== null) {
    ti.tcpi_state = tp.t_state;
    if (tp.t_state > TCPS_LISTEN) {
      ti.tcpi_options = tcpInfoOptions(tp);
      if ((ti.tcpi_options & TCPI_OPT_WSCALE) !== 0) {
        ti.tcpi_snd_wscale = tp.snd_scale;
        ti.tcpi_rcv_wscale = tp.rcv_scale;
      }
      ti.tcpi_flags = tcpInfoFlags(tp);
      ti.tcpi_rto = tcpInfoRtoMs(tp);
      ti.tcpi_snd_mss = tp.t_maxseg;
      ti.tcpi_rcv_mss = tp.t_maxseg;
      ti.tcpi_rttcur = ms(tp.rtt.lastRttUs);
      ti.tcpi_srtt = ms(tp.rtt.srttUs);
      ti.tcpi_rttvar = ms(tp.rtt.rttvarUs);
      ti.tcpi_rttbest = ms(tp.rtt.minRttUs);
      ti.tcpi_snd_ssthresh = tp.snd_ssthresh;
      ti.tcpi_snd_cwnd = tp.snd_cwnd;
      ti.tcpi_snd_sbbytes = so.so_snd.sb_cc;
      ti.tcpi_rcv_space = tp.rcv_wnd;
      ti.tcpi_snd_wnd = tp.snd_wnd;
      ti.tcpi_snd_nxt = tp.snd_nxt >>> 0;
      ti.tcpi_rcv_nxt = tp.rcv_nxt >>> 0;
      ti.tcpi_last_outif = lastOutif;
      const c = so.counters;
      ti.tcpi_txpackets = c.txpackets;
      ti.tcpi_txbytes = c.txbytes;
      ti.tcpi_rxpackets = c.rxpackets;
      ti.tcpi_rxbytes = c.rxbytes;
    }
  }
  return { tcpci_peer_pid: 0, tcpci_tcp_info: ti };
}
