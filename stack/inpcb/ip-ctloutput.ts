// IP-level socket options kept on the PCB (bsd/netinet/ip_output.c ip_ctloutput,
// netinet6/ip6_output.c ip6_ctloutput), shared by UDP and TCP: IP_TTL, IP_TOS, IP_BOUND_IF,
// IPV6_UNICAST_HOPS, IPV6_TCLASS, IPV6_BOUND_IF, IPV6_V6ONLY. Anything else is ENOPROTOOPT;
// a level that is not the PCB's IP level is EINVAL (what ip_ctloutput answers, e.g. for the
// SOL_SOCKET options the socket layer passes down and then ignores).

import type { InPcb } from './in-pcb.js';
import type { SockOpt } from '../socket/sockopt.js';
import { SOPT_SET, sooptcopyinInt, sooptcopyoutInt } from '../socket/sockopt.js';
import {
  IPPROTO_IP, IPPROTO_IPV6, IPV6_BOUND_IF, IPV6_TCLASS, IPV6_UNICAST_HOPS, IPV6_V6ONLY, IP_BOUND_IF,
  IP_TOS, IP_TTL,
} from '../socket/constants.js';
import { EINVAL, ENOPROTOOPT } from '../socket/errno.js';

/** ip_defttl / ip6_defhlim: what a getter reports for "default". */
export const IP_DEFAULT_TTL = 64;

export function ipCtloutput(pcb: InPcb, sopt: SockOpt): number {
  const level = pcb.family === 4 ? IPPROTO_IP : IPPROTO_IPV6;
  if (sopt.sopt_level !== level) return EINVAL;
  const set = sopt.sopt_dir === SOPT_SET;
  const iv = { value: 0 };
  if (set) {
    const e = sooptcopyinInt(sopt, iv);
    if (e !== 0) return e;
  }
  const v = iv.value;
  if (pcb.family === 4) {
    switch (sopt.sopt_name) {
      case IP_TTL:
        if (!set) return sooptcopyoutInt(sopt, pcb.ttl);
        if (v < 0 || v > 255) return EINVAL;
        pcb.ttl = v;
        return 0;
      case IP_TOS:
        if (!set) return sooptcopyoutInt(sopt, pcb.tos);
        if (v < 0 || v > 255) return EINVAL;
        pcb.tos = v;
        return 0;
      case IP_BOUND_IF:
        if (!set) return sooptcopyoutInt(sopt, pcb.ifscope);
        if (v < 0) return EINVAL;
        pcb.ifscope = v;
        return 0;
      default:
        return ENOPROTOOPT;
    }
  }
  switch (sopt.sopt_name) {
    case IPV6_UNICAST_HOPS:
      if (!set) return sooptcopyoutInt(sopt, pcb.ttl < 0 ? IP_DEFAULT_TTL : pcb.ttl);
      if (v < -1 || v > 255) return EINVAL;
      pcb.ttl = v;
      return 0;
    case IPV6_TCLASS:
      if (!set) return sooptcopyoutInt(sopt, pcb.tos < 0 ? 0 : pcb.tos);
      if (v < -1 || v > 255) return EINVAL;
      pcb.tos = v;
      return 0;
    case IPV6_BOUND_IF:
      if (!set) return sooptcopyoutInt(sopt, pcb.ifscope);
      if (v < 0) return EINVAL;
      pcb.ifscope = v;
      return 0;
    case IPV6_V6ONLY:
      // Always on: there are no v4-mapped addresses in this stack. Turning it off is refused.
      if (!set) return sooptcopyoutInt(sopt, 1);
      return v !== 0 ? 0 : EINVAL;
    default:
      return ENOPROTOOPT;
  }
}

/** The TTL/hop limit to hand to IP output (0 = the stack default). */
export const pcbOutputTtl = (pcb: InPcb): number => (pcb.ttl < 0 ? 0 : pcb.ttl);
/** The TOS/traffic class to hand to IP output. */
export const pcbOutputTos = (pcb: InPcb): number => (pcb.tos < 0 ? 0 : pcb.tos);
