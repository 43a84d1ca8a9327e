// The sysctl-style configuration surface of a TcpProfile, with BSD names (net.inet.tcp.*,
// kern.ipc.*). sysctlSet returns a NEW profile (profiles are immutable values); sysctlGet reads one.
// Names are in three groups:
//   mapped      a TcpProfile field: get reads it, set replaces it (values in the sysctl's units:
//               ms for the timers, bytes for buffers, 0/1 for booleans)
//   fixed       a knob the stack does not implement as a variable: get answers the value the stack
//               behaves as; set succeeds only with that value, else 'unimplemented'
//   action      a write-only trigger (net.inet.tcp.hostcache.purgenow): set accepts 0/1 and leaves
//               the profile unchanged; the caller performs the action (tools/drill does)
// An unknown name is 'unknown', a value that does not parse or is out of range 'bad-value'.

import type { TcpProfile } from './tcp-profile.js';
import { tcpEcnPolicy } from './tcp-ecn.js';

export type SysctlValue = number | string;

export type SysctlError = { readonly kind: 'unknown' | 'bad-value' | 'unimplemented'; readonly message: string };

export type SysctlSetResult =
  | { readonly ok: true; readonly profile: TcpProfile; readonly action?: 'hostcache-purge' }
  | ({ readonly ok: false } & SysctlError);

export type SysctlGetResult = { readonly ok: true; readonly value: SysctlValue } | ({ readonly ok: false } & SysctlError);

interface Mapped {
  readonly get: (p: TcpProfile) => SysctlValue;
  /** The changes for value `v`, or an error message. */
  readonly set: (v: string, p: TcpProfile) => Partial<Record<keyof TcpProfile, unknown>> | string;
}

const int = (v: string, min: number, max: number): number | string => {
  const n = /^-?(0x[0-9a-f]+|\d+)$/i.test(v.trim()) ? Number(v.trim()) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) return `expected an integer in [${min}, ${max}], got '${v}'`;
  return n;
};

function num<K extends keyof TcpProfile>(field: K, min: number, max: number): Mapped {
  return {
    get: (p) => p[field] as unknown as number,
    set: (v) => { const n = int(v, min, max); return typeof n === 'string' ? n : { [field]: n }; },
  };
}

function bool<K extends keyof TcpProfile>(field: K): Mapped {
  return {
    get: (p) => (p[field] ? 1 : 0),
    set: (v) => { const n = int(v, 0, 1); return typeof n === 'string' ? n : { [field]: n === 1 }; },
  };
}

const INT_MAX = 0x7fffffff;

/** A 0/1 knob that sets or clears `bit` of the fastopen mask. */
function fastopenBit(bit: number): Mapped {
  return {
    get: (p) => ((p.fastopen & bit) !== 0 ? 1 : 0),
    set: (v, p) => {
      const n = int(v, 0, 1);
      return typeof n === 'string' ? n : { fastopen: n === 1 ? p.fastopen | bit : p.fastopen & ~bit };
    },
  };
}

/** BSD name → TcpProfile field. */
const MAPPED: Readonly<Record<string, Mapped>> = {
  'net.inet.tcp.sack.enable': bool('sack'),
  'net.inet.tcp.rfc1323': bool('rfc1323'),
  'net.inet.tcp.recvspace': num('recvSpace', 1, INT_MAX),
  'net.inet.tcp.sendspace': num('sendSpace', 1, INT_MAX),
  'kern.ipc.maxsockbuf': num('maxSockBuf', 512, INT_MAX),
  'net.inet.tcp.blackhole': num('blackhole', 0, 2),
  // ECN (tcp-ecn.ts). XNU's two knobs share one handler, sysctl_change_ecn_setting (xnu-11417
  // tcp_output.c), which reads and writes tcp_ecn_outbound whichever name was used: see xnuEcnSet.
  'net.inet.tcp.ecn_initiate_out': { get: (p) => p.ecnInitiateOut, set: (v, p) => xnuEcnSet(v, p) },
  'net.inet.tcp.ecn_negotiate_in': { get: (p) => p.ecnInitiateOut, set: (v, p) => xnuEcnSet(v, p) },
  // Newer XNU (xnu-12377) folds both into net.inet.tcp.ecn, "0: disable, 1: enable", both ways.
  'net.inet.tcp.ecn': {
    get: (p) => (tcpEcnPolicy(p, false) && tcpEcnPolicy(p, true) ? 1 : 0),
    set: (v) => { const n = int(v, 0, 1); return typeof n === 'string' ? n : { ecnInitiateOut: n, ecnNegotiateIn: n }; },
  },
  // FreeBSD (tcp_ecn.c): 0 off, 1 initiate and accept, 2 accept only. 3 and 4 ask for Accurate ECN,
  // which the stack does not implement. An initiate-only policy (possible with XNU's knobs) reads 1.
  'net.inet.tcp.ecn.enable': {
    get: (p) => (tcpEcnPolicy(p, false) ? 1 : tcpEcnPolicy(p, true) ? 2 : 0),
    set: (v) => {
      const n = int(v, 0, 4);
      if (typeof n === 'string') return n;
      if (n > 2) return `ecn.enable=${n} asks for Accurate ECN, which the stack does not implement`;
      return n === 0 ? { ecnInitiateOut: 0, ecnNegotiateIn: 0 } : n === 1 ? { ecnInitiateOut: 1, ecnNegotiateIn: 1 } : { ecnInitiateOut: 0, ecnNegotiateIn: 1 };
    },
  },
  'net.inet.tcp.insecure_rst': bool('insecureRst'),
  'net.inet.tcp.insecure_syn': bool('insecureSyn'),
  'net.inet.tcp.rexmit_initial': num('rtoInitialMs', 1, INT_MAX),
  'net.inet.tcp.rexmit_min': num('rtoMinMs', 1, INT_MAX),
  'net.inet.tcp.rexmit_slop': num('rexmtSlopMs', 0, INT_MAX),
  // FreeBSD tcp_timer.c: options are dropped from the 4th SYN (t_rxtshift == 3) when set.
  'net.inet.tcp.rexmit_drop_options': {
    get: (p) => (p.synDropOptionsAfter > 0 ? 1 : 0),
    set: (v) => { const n = int(v, 0, 1); return typeof n === 'string' ? n : { synDropOptionsAfter: n === 1 ? 3 : 0 }; },
  },
  'net.inet.tcp.drop_synfin': bool('dropSynFin'),
  'net.inet.tcp.keepinit': num('keepInitMs', 1, INT_MAX),
  'net.inet.tcp.keepidle': num('keepIdleMs', 1, INT_MAX),
  'net.inet.tcp.keepintvl': num('keepIntvlMs', 1, INT_MAX),
  'net.inet.tcp.keepcnt': num('keepCnt', 1, INT_MAX),
  'net.inet.tcp.delacktime': num('delAckMs', 1, INT_MAX),
  'net.inet.tcp.icmp_may_rst': bool('icmpMayRst'),
  'net.inet.tcp.msl': num('mslMs', 1, INT_MAX),
  'net.inet.tcp.mssdflt': num('mssDefault', 88, 65535),
  'net.inet.tcp.v6mssdflt': num('v6MssDefault', 88, 65535),
  'net.inet.tcp.minmss': num('minMss', 0, 65535),
  'net.inet.tcp.cc.algorithm': {
    get: (p) => p.congestionControl,
    set: (v) => (v === 'cubic' || v === 'newreno' ? { congestionControl: v } : `unknown congestion control '${v}' (cubic, newreno)`),
  },
  'net.inet.tcp.initcwnd_segments': num('initialWindowSegments', 1, 1000),
  'net.inet.tcp.rfc3042': bool('limitedTransmit'),
  'net.inet.tcp.newcwv': bool('cwndValidation'),
  'net.inet.tcp.tso': bool('tso'),
  'net.inet.tcp.sendbuf_auto': bool('autoSize'),
  'net.inet.tcp.recvbuf_auto': bool('autoSize'),
  'net.inet.tcp.sendbuf_max': num('autoSendBufMax', 1, INT_MAX),
  'net.inet.tcp.recvbuf_max': num('autoRecvBufMax', 1, INT_MAX),
  'net.inet.tcp.finwait2_timeout': num('finWait2TimeoutMs', 0, INT_MAX),
  'net.inet.tcp.persmin': num('persistMinMs', 1, INT_MAX),
  'net.inet.tcp.persmax': num('persistMaxMs', 1, INT_MAX),
  'net.inet.tcp.reass.maxqueuelen': num('reassMaxSegments', 0, INT_MAX),
  'net.inet.icmp.icmplim': num('rstRateLimit', 0, INT_MAX),
  // RFC 5961 §7 per-connection ACK throttling: XNU's limit and FreeBSD's ack-war pair set the same
  // two fields (profile.challengeAckPolicy says how they are applied).
  'net.inet.tcp.challengeack_limit': num('challengeAckLimit', 0, INT_MAX),
  'net.inet.tcp.ack_war_cnt': num('challengeAckLimit', 0, INT_MAX),
  'net.inet.tcp.ack_war_timewindow': num('challengeAckWindowMs', 0, INT_MAX),
  // XNU sysctl_msec_to_ticks refuses values below one tick: once set it cannot go back to 0.
  'net.inet.tcp.max_persist_timeout': num('maxPersistTimeoutMs', 1, INT_MAX),
  'net.inet.tcp.maxseg_unacked': num('maxsegUnacked', 1, INT_MAX),
  // XNU tcp_timer.c: an int tested for truth (FreeBSD's 2 and 3, one family only, read as on).
  'net.inet.tcp.pmtud_blackhole_detection': {
    get: (p) => (p.pmtudBlackholeDetect ? 1 : 0),
    set: (v) => { const n = int(v, 0, INT_MAX); return typeof n === 'string' ? n : { pmtudBlackholeDetect: n !== 0 }; },
  },
  'net.inet.tcp.pmtud_blackhole_mss': num('pmtudBlackholeMss', 64, 65535),
  'net.inet.tcp.v6pmtud_blackhole_mss': num('v6PmtudBlackholeMss', 0, 65535),
  'net.inet.tcp.enable_tlp': bool('tailLossProbe'),
  // Older XNU's name (tcp_early_rexmt); current XNU has no knob and always does RFC 5827.
  'net.inet.tcp.early_rexmt': bool('earlyRetransmit'),
  // TCP Fast Open (tcp-fastopen.ts). XNU's net.inet.tcp.fastopen is a plain int whose bits 1
  // (server) and 2 (client) are tested; FreeBSD's server_enable / client_enable set those bits.
  'net.inet.tcp.fastopen': num('fastopen', 0, INT_MAX),
  'net.inet.tcp.fastopen_backlog': num('fastopenBacklog', 0, INT_MAX),
  'net.inet.tcp.fastopen.server_enable': fastopenBit(1),
  'net.inet.tcp.fastopen.client_enable': fastopenBit(2),
  // XNU tcp_sysctl_fastopenkey: write-only (a read copies out an empty string); exactly 32 hex
  // digits, else EINVAL.
  'net.inet.tcp.fastopen_key': {
    get: () => '',
    set: (v) => (/^[0-9a-fA-F]{32}$/.test(v) ? { fastopenKey: v.toLowerCase() } : `expected 32 hex digits, got '${v}'`),
  },
};

/**
 * XNU sysctl_change_ecn_setting, the handler of both net.inet.tcp.ecn_initiate_out and
 * ecn_negotiate_in: whichever name is written, the new value i is compared with tcp_ecn_outbound.
 * Changed between 0 and 1: only tcp_ecn_outbound takes it. Otherwise (to or from 2) the interface
 * flags follow (IFEF_ECN_ENABLE set on every non-cellular interface for 2, cleared for 0/1; here
 * that is ecnInitiateOut === 2 itself) and tcp_ecn_outbound = i; then, changed or not, tcp_ecn_inbound
 * takes i when i or it is 2. So writing ecn_negotiate_in moves the outbound setting too, and reading
 * either name answers tcp_ecn_outbound. Values outside 0..2 are refused here (XNU stores any int,
 * and anything but 0 or 1 acts as 2).
 */
function xnuEcnSet(v: string, p: TcpProfile): Partial<Record<keyof TcpProfile, unknown>> | string {
  const i = int(v, 0, 2);
  if (typeof i === 'string') return i;
  const out = p.ecnInitiateOut;
  if (i !== out && out !== 2 && i !== 2) return { ecnInitiateOut: i };
  return { ecnInitiateOut: i, ecnNegotiateIn: i === 2 || p.ecnNegotiateIn === 2 ? i : p.ecnNegotiateIn };
}

/** Knobs the stack has no variable for, with the value it behaves as. */
const FIXED: Readonly<Record<string, SysctlValue>> = {
  'net.inet.tcp.delayed_ack': 1,
  'net.inet.tcp.syncookies': 0,
  'net.inet.tcp.syncookies_only': 0,
  'net.inet.tcp.hostcache.enable': 1,
  'net.inet.tcp.path_mtu_discovery': 1,
  'net.inet.tcp.nolocaltimewait': 0,
  'net.inet.tcp.ts_offset_per_conn': 1,
  'net.inet.tcp.udp_tunneling_port': 0,
  'net.inet.tcp.functions_default': 'freebsd',
  'net.inet.tcp.log_debug': 0,
  'net.inet.tcp.tolerate_missing_ts': 1,
  'net.inet.tcp.abc_l_var': 2,
  'net.inet.tcp.do_prr': 1,
  // XNU sends ECE|CWR on the first SYN only (tcp_send_ecn_flags_on_syn): no retransmission carries them.
  'net.inet.tcp.ecn.maxretries': 0,
};

const ACTIONS: Readonly<Record<string, 'hostcache-purge'>> = {
  'net.inet.tcp.hostcache.purgenow': 'hostcache-purge',
};

/** Every name sysctlGet/sysctlSet knows. */
export function sysctlNames(): string[] {
  return [...Object.keys(MAPPED), ...Object.keys(FIXED), ...Object.keys(ACTIONS)].sort();
}

/** The value of `name` in `profile`. */
export function sysctlGet(profile: TcpProfile, name: string): SysctlGetResult {
  const m = MAPPED[name];
  if (m !== undefined) return { ok: true, value: m.get(profile) };
  const f = FIXED[name];
  if (f !== undefined) return { ok: true, value: f };
  if (ACTIONS[name] !== undefined) return { ok: true, value: 0 };
  return { ok: false, kind: 'unknown', message: `unknown sysctl '${name}'` };
}

/** `profile` with `name` set to `value` (the text after `name=`), or why not. */
export function sysctlSet(profile: TcpProfile, name: string, value: SysctlValue): SysctlSetResult {
  const v = String(value).trim();
  const m = MAPPED[name];
  if (m !== undefined) {
    const ch = m.set(v, profile);
    if (typeof ch === 'string') return { ok: false, kind: 'bad-value', message: `sysctl ${name}: ${ch}` };
    return { ok: true, profile: { ...profile, ...(ch as Partial<TcpProfile>) } };
  }
  const f = FIXED[name];
  if (f !== undefined) {
    if (String(f) === v) return { ok: true, profile };
    return { ok: false, kind: 'unimplemented', message: `sysctl ${name}=${v}: not implemented by the stack (it behaves as ${name}=${f})` };
  }
  const a = ACTIONS[name];
  if (a !== undefined) {
    const n = int(v, 0, 1);
    if (typeof n === 'string') return { ok: false, kind: 'bad-value', message: `sysctl ${name}: ${n}` };
    return n === 1 ? { ok: true, profile, action: a } : { ok: true, profile };
  }
  return { ok: false, kind: 'unknown', message: `unknown sysctl '${name}'` };
}

/** Parses `name=value` (as in `sysctl -w name=value` and `--sysctl name=value`). */
export function parseSysctlAssignment(text: string): { name: string; value: string } | null {
  const eq = text.indexOf('=');
  if (eq <= 0) return null;
  return { name: text.slice(0, eq).trim(), value: text.slice(eq + 1).trim() };
}
