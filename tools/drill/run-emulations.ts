// Drill emulations (reference §10): shell commands (sysctl, sockstat/netstat | grep, tcpdrop) and
// code events (`assert` over the tcp_info of the socket under test, evaluated by evalAssert).

import type { Instant } from '../../stack/time/instant.js';
import type { Tcpcb } from '../../stack/tcp/tcp-var.js';
import { TF_RCVD_SCALE, TF_RCVD_TSTMP, TF_REQ_SCALE, TF_REQ_TSTMP, TF_SACK_PERMIT } from '../../stack/tcp/tcp-var.js';
import { tcpDrop } from '../../stack/tcp/tcp-subr.js';
import { TFO_S_COOKIEREQ_RECV, TFO_S_COOKIE_INVALID, TFO_S_COOKIE_SENT, TFO_S_SYNDATA_RCV } from '../../stack/tcp/tcp-fastopen.js';
import { tcpEcnEnabled } from '../../stack/tcp/tcp-ecn.js';
import type { InPcb } from '../../stack/inpcb/in-pcb.js';
import { sysctlSet } from '../../stack/tcp/tcp-sysctl.js';
import { ECONNABORTED } from '../../kpi/darwin-constants.js';
import type { DrillEvent } from './ast.js';
import { TCP_STATES } from './symbols.js';
import { DrillStop, unsupported, u32 } from './run-base.js';
import { DrillSyscalls } from './run-syscalls.js';

export abstract class DrillEmulations extends DrillSyscalls {
  // ---- shell commands ----

  protected command(ev: DrillEvent, cmd: string): void {
    const line = ev.loc.line;
    const sysctl = /^sysctl\s+(.*)$/.exec(cmd);
    if (sysctl !== null) {
      const words = sysctl[1]!.trim().split(/\s+/).filter((w) => w !== '-w' && w !== '-q');
      if (words.length === 0) throw unsupported(`command \`${cmd}\``, line);
      for (const w of words) {
        if (w.startsWith('-')) throw unsupported(`sysctl option ${w}`, line);
        const eq = w.indexOf('=');
        if (eq < 0) throw unsupported(`sysctl read \`${cmd}\` (only assignments are emulated)`, line);
        this.applySysctl(w.slice(0, eq), w.slice(eq + 1), line);
      }
      return;
    }
    if (/^(sockstat|netstat)\b/.test(cmd) && /\|\s*grep\b/.test(cmd)) {
      const count = this.countStates(cmd, line);
      const cmp = /-(eq|ne|gt|ge|lt|le)\s+(\d+)/.exec(cmd);
      let ok: boolean;
      if (cmp !== null) {
        const n = Number(cmp[2]);
        ok = { eq: count === n, ne: count !== n, gt: count > n, ge: count >= n, lt: count < n, le: count <= n }[cmp[1] as 'eq'];
      } else {
        ok = count > 0;
      }
      if (/^\s*!/.test(cmd) || /\|\s*grep\s+-v/.test(cmd)) ok = !ok;
      this.log(`  (emulated: ${count} connection(s) match)`);
      if (!ok) throw new DrillStop('fail', `command \`${cmd}\` failed (emulated: ${count} matching connection(s))`, line, 'exit 0', `count ${count}`);
      return;
    }
    const drop = /^tcpdrop\s+(.*)$/.exec(cmd);
    if (drop !== null) {
      const s = /-s\s+([A-Z_0-9]+)/.exec(drop[1]!);
      const all = /(^|\s)-a(\s|$)/.test(drop[1]!);
      if (s === null && !all) throw unsupported(`command \`${cmd}\` (tcpdrop -s STATE or -a are emulated)`, line);
      const st = s === null ? null : TCP_STATES[s[1]!];
      if (s !== null && st === undefined) throw new DrillStop('error', `tcpdrop: unknown state ${s[1]}`, line);
      let n = 0;
      for (const tp of this.stack.tcp.tcpcbs()) {
        if (tp.t_state === 1) continue;
        if (st === null || tp.t_state === st) { tcpDrop(this.stack.tcp, tp, ECONNABORTED, this.now as Instant); n++; }
      }
      this.log(`  (emulated: dropped ${n} connection(s))`);
      return;
    }
    throw unsupported(`command \`${cmd}\``, line);
  }

  /** Applies one sysctl to the running stack (see tools/drill/index.ts for when it takes effect). */
  applySysctl(name: string, value: string, line: number | null): void {
    const r = sysctlSet(this.profile, name, value);
    if (!r.ok) {
      if (r.kind === 'bad-value') throw new DrillStop('error', r.message, line);
      throw unsupported(r.message, line);
    }
    this.profile = r.profile;
    // The stack reads tcp.profile live: the new profile applies from the next event on.
    this.stack.tcp.setProfile(r.profile);
    if (r.action === 'hostcache-purge') this.stack.ip.pmtu.clear();
  }

  protected countStates(cmd: string, line: number): number {
    const names = Object.keys(TCP_STATES).sort((x, y) => y.length - x.length);
    const grepPart = cmd.slice(cmd.indexOf('|'));
    let state: number | undefined;
    for (const n of names) if (new RegExp(`\\b${n}\\b`).test(grepPart)) { state = TCP_STATES[n]; break; }
    if (state === undefined) throw unsupported(`command \`${cmd}\` (no TCP state name to count)`, line);
    const pm = /-p\s+(\d+)/.exec(cmd) ?? /[:.](\d+)\b/.exec(grepPart);
    const port = pm === null ? null : Number(pm[1]);
    let n = 0;
    for (const tp of this.stack.tcp.tcpcbs()) {
      if (tp.t_state !== state) continue;
      const pcb = tp.t_inpcb;
      if (port === null || pcb.lport === port || pcb.fport === port) n++;
    }
    return n;
  }

  // ---- code events ----

  protected tcpcbUnderTest(): Tcpcb | null {
    const c = this.cur;
    const all = this.stack.tcp.tcpcbs();
    if (c !== null && c.localPort !== null) {
      for (const tp of all) if (tp.t_inpcb.lport === c.localPort && tp.t_inpcb.fport === c.remotePort) return tp;
    }
    const s = this.sut();
    if (s !== null) {
      const pcb = s.ks.so.so_pcb as InPcb | null;
      const tp = pcb === null ? null : (pcb.ppcb as Tcpcb | null);
      if (tp !== null) return tp;
    }
    return null;
  }

  /** tcp_info of the socket under test, BSD flavour (tcpi_rto, tcpi_rtt in µs; cwnd in bytes). */
  tcpInfo(): Record<string, number> {
    const tp = this.tcpcbUnderTest();
    const ti: Record<string, number> = { tcpi_state: 0 };
    if (tp === null) return ti;
    const f = tp.t_flags;
    let opts = 0;
    if ((f & (TF_REQ_TSTMP | TF_RCVD_TSTMP)) === (TF_REQ_TSTMP | TF_RCVD_TSTMP)) opts |= 1;
    if ((f & TF_SACK_PERMIT) !== 0) opts |= 2;
    const ws = (f & (TF_REQ_SCALE | TF_RCVD_SCALE)) === (TF_REQ_SCALE | TF_RCVD_SCALE);
    if (ws) opts |= 4;
    if (tcpEcnEnabled(tp)) opts |= 8;
    Object.assign(ti, {
      tcpi_state: tp.t_state, tcpi_options: opts, tcpi_snd_wscale: ws ? tp.snd_scale : 0, tcpi_rcv_wscale: ws ? tp.rcv_scale : 0,
      tcpi_rto: tp.t_rxtcur, tcpi_snd_mss: tp.t_maxseg, tcpi_rcv_mss: tp.t_maxseg, tcpi_snd_cwnd: tp.snd_cwnd,
      tcpi_snd_ssthresh: tp.snd_ssthresh, tcpi_snd_wnd: tp.snd_wnd, tcpi_rcv_space: tp.rcv_wnd, tcpi_rtt: tp.rtt.srttUs,
      tcpi_rttvar: tp.rtt.rttvarUs, tcpi_snd_nxt: u32(tp.snd_nxt - tp.iss), tcpi_rcv_nxt: u32(tp.rcv_nxt - tp.irs),
      tcpi_snd_rexmitpack: 0, tcpi_rcv_ooopack: 0, tcpi_snd_zerowin: 0,
      // XNU's tcp_info bits of the TFO server (tcp_fill_info: !!(t_tfo_stats & TFO_S_*)).
      tcpi_tfo_syn_data_rcv: (tp.t_tfo_stats & TFO_S_SYNDATA_RCV) !== 0 ? 1 : 0,
      tcpi_tfo_cookie_req_rcv: (tp.t_tfo_stats & TFO_S_COOKIEREQ_RECV) !== 0 ? 1 : 0,
      tcpi_tfo_cookie_sent: (tp.t_tfo_stats & TFO_S_COOKIE_SENT) !== 0 ? 1 : 0,
      tcpi_tfo_cookie_invalid: (tp.t_tfo_stats & TFO_S_COOKIE_INVALID) !== 0 ? 1 : 0,
    });
    delete ti['tcpi_snd_rexmitpack']; delete ti['tcpi_rcv_ooopack']; delete ti['tcpi_snd_zerowin'];
    return ti;
  }

  protected code(ev: DrillEvent, code: string): void {
    const line = ev.loc.line;
    const vars: Record<string, number> = {
      ...this.tcpInfo(),
      TCPI_OPT_TIMESTAMPS: 1, TCPI_OPT_SACK: 2, TCPI_OPT_WSCALE: 4, TCPI_OPT_ECN: 8, TCPI_OPT_TOE: 16,
    };
    for (const [k, v] of Object.entries(TCP_STATES)) { vars[`TCPI_${k}`] = v; vars[`TCP_${k}`] = v; vars[`TCPS_${k}`] = v; }
    const lines = code.split('\n');
    lines.forEach((raw, i) => {
      const l = raw.trim();
      if (l === '' || l.startsWith('#')) return;
      const m = /^assert\s+(.+)$/.exec(l);
      if (m === null) throw unsupported(`code event line '${l}' (only 'assert EXPR op EXPR' is evaluated)`, line + i);
      const r = evalAssert(m[1]!, vars);
      if (typeof r === 'string') throw unsupported(`code event: ${r}`, line + i);
      if (!r.ok) {
        throw new DrillStop('fail', `assertion failed: ${m[1]} (${r.left} ${r.op} ${r.right} is false)`, line + i, m[1]!, `${r.left} ${r.op} ${r.right}`);
      }
    });
  }
}

// ---- assert evaluator: integers, names, | & + - * / ( ), one comparison ----

export function evalAssert(text: string, vars: Readonly<Record<string, number>>): { ok: boolean; left: number; op: string; right: number } | string {
  const toks = text.match(/\s*(0x[0-9a-fA-F]+|\d+|[A-Za-z_][A-Za-z0-9_]*|==|!=|<=|>=|<|>|[|&+\-*/()])/g);
  if (toks === null || toks.join('').replace(/\s/g, '') !== text.replace(/\s/g, '')) return `cannot evaluate '${text}'`;
  const t = toks.map((x) => x.trim());
  let i = 0;
  const peek = (): string | undefined => t[i];
  const bad = (why: string): never => { throw new Error(why); };
  const primary = (): number => {
    const x = t[i++];
    if (x === undefined) return bad('unexpected end');
    if (x === '(') { const v = orE(); if (t[i++] !== ')') bad('missing )'); return v; }
    if (x === '-') return -primary();
    if (/^(0x[0-9a-fA-F]+|\d+)$/.test(x)) return Number(x);
    if (/^[A-Za-z_]/.test(x)) {
      const v = vars[x];
      if (v === undefined) return bad(`name '${x}' is not available`);
      return v;
    }
    return bad(`unexpected '${x}'`);
  };
  const mul = (): number => { let v = primary(); while (peek() === '*' || peek() === '/') { const o = t[i++]; const r = primary(); v = o === '*' ? v * r : Math.trunc(v / r); } return v; };
  const add = (): number => { let v = mul(); while (peek() === '+' || peek() === '-') { const o = t[i++]; const r = mul(); v = o === '+' ? v + r : v - r; } return v; };
  const andE = (): number => { let v = add(); while (peek() === '&') { i++; v = v & add(); } return v; };
  const orE = (): number => { let v = andE(); while (peek() === '|') { i++; v = v | andE(); } return v; };
  try {
    const left = orE();
    const op = t[i++];
    if (op === undefined) return { ok: left !== 0, left, op: '!=', right: 0 };
    if (!['==', '!=', '<', '<=', '>', '>='].includes(op)) return `unsupported operator '${op}'`;
    const right = orE();
    if (i !== t.length) return `trailing '${t.slice(i).join(' ')}'`;
    const ok = op === '==' ? left === right : op === '!=' ? left !== right : op === '<' ? left < right
      : op === '<=' ? left <= right : op === '>' ? left > right : left >= right;
    return { ok, left, op, right };
  } catch (e) {
    return (e as Error).message;
  }
}
