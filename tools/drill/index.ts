// tunstack drill: a packetdrill-compatible script runner (spec: /work/shared/reference/packetdrill.md).
//
// ---- Programmatic API (for test suites) --------------------------------------------------------
//
//   import { runDrillFile, runDrillScript, formatResult } from '../../tools/drill/index.js';
//
//   const r = await runDrillFile('test/drill/foo.pkt', { profile: 'freebsd', defines: ['FreeBSD'] });
//   expect(r.status, formatResult(r)).toBe('pass');
//
//   const r2 = await runDrillScript(text, { file: 'inline', sysctls: ['net.inet.tcp.msl=5000'] });
//
// DrillOptions (all optional):
//   profile     'xnu' (default) | 'freebsd' | a TcpProfile object
//   sysctls     ['name=value', ...] applied to the profile before the run (an unknown name: the run
//               ends 'unsupported'; a bad value: 'error')
//   defines     names for #ifdef (default: STANDARD, TUNSTACK and the profile's OS name: XNU / FreeBSD)
//   options     header options as if given first in the script: { tolerance_usecs: '10000', ... };
//               the script's own header options override them
//   seed        RNG seed of the stack (default 1); ISNs, ports and TS clocks come from it
//   verbose     fill result.trace with every event and its virtual time
//
// DrillResult: { file, status: 'pass'|'fail'|'unsupported'|'error', line, column, event, message,
//   expected, actual, warnings, trace, endTimeUs }. formatResult(r) is the CLI's text.
// Exit-code helper: exitCodeFor(results) → 0 all pass, 1 any fail/error, 3 only unsupported besides passes.
//
// ---- Semantics worth knowing --------------------------------------------------------------------
// * Each script runs on a fresh Stack (name 'drill') on a capture link, virtual clock from 0.
//   Local 192.168.0.1 / fd3d:fa7b:d17d::1, remote 192.0.2.1 / 2001:db8::1, ports 8080.
// * Sysctls (`sysctl -w` lines, --sysctl, DrillOptions.sysctls) replace the stack's TcpProfile at
//   once. The stack reads `tcp.profile` live, so a knob takes effect from the next event on, for
//   every connection (buffer sizes: for sockets created afterwards, as tcp_attach reads them).
//   Setting an unimplemented knob to the stack's value succeeds; to another value: 'unsupported'.
// * Command emulations: `sysctl [-w] n=v ...`; `sockstat|netstat ... | grep [-c] STATE` with optional
//   `-p PORT` and `[ ... -eq N ]`-style comparisons (count from the stack's tcpcbs);
//   `tcpdrop -s STATE` / `tcpdrop -a`. Anything else: 'unsupported'.
// * Code events: lines `assert EXPR op EXPR` over tcp_info of the socket under test, BSD flavour:
//   tcpi_state (BSD numbers), tcpi_options (TCPI_OPT_*), tcpi_rto and tcpi_rtt/rttvar in µs,
//   tcpi_snd_cwnd/ssthresh in bytes, tcpi_snd_mss, tcpi_rcv_mss, tcpi_snd/rcv_wscale, tcpi_snd_wnd,
//   tcpi_rcv_space, tcpi_snd_nxt/rcv_nxt (relative), XNU's TFO server bits tcpi_tfo_syn_data_rcv,
//   tcpi_tfo_cookie_req_rcv, tcpi_tfo_cookie_sent, tcpi_tfo_cookie_invalid (0/1). Constants
//   TCPI_OPT_*, TCPI_<STATE>, TCP_<STATE>.
// * TCP options `FO [hex cookie]` (kind 34; no cookie = a request) and `FOEXP [hex cookie]` (kind
//   254 with the magic 0xF989) both ways; an outbound cookie must match byte for byte.
// * Packet routing (reference §6): a SYN starts a new connection only while the socket under test
//   is the listener itself (no connection started since its socket() call); every later packet,
//   a later SYN included, goes to the current connection. Peer ISNs are those of the connection's
//   first SYN (a later SYN is sent as written but does not move the translation base). A further
//   connection to a listener comes from another peer address: `< addr[caddrN] > addr[saddr0] S ...`
//   (§6/§11; caddrN = the remote address + N, with a fresh port; unprefixed packets then belong to
//   the most recently addressed connection; outbound `> addr[saddr0] > addr[caddrN]` checks the
//   destination). Extra local addresses (saddrN, N > 0) and addr[ep=...] literals: 'unsupported'.
// * Unsupported (reported, never ignored): MPTCP, md5 options, explicit sockaddr literals,
//   getsockopt(TCP_INFO), unknown syscalls/symbols/options/header options, python other than assert.

import { readFile } from 'node:fs/promises';
import type { TcpProfile } from '../../stack/tcp/tcp-profile.js';
import { FREEBSD_PROFILE, XNU_PROFILE } from '../../stack/tcp/tcp-profile.js';
import { sysctlSet } from '../../stack/tcp/tcp-sysctl.js';
import { DrillSyntaxError, parseScript } from './parse.js';
import { applyOption, DEFAULT_CONFIG, DrillRunner, DrillStop } from './run.js';
import type { DrillConfig, DrillResult } from './run.js';

export type { DrillResult, DrillStatus, DrillConfig } from './run.js';
export { parseScript, preprocess, DrillSyntaxError } from './parse.js';
export { evalAssert } from './run.js';
export type * from './ast.js';

export interface DrillOptions {
  readonly file?: string;
  readonly profile?: 'xnu' | 'freebsd' | TcpProfile;
  readonly sysctls?: readonly string[];
  readonly defines?: readonly string[];
  readonly options?: Readonly<Record<string, string>>;
  readonly seed?: number;
  readonly verbose?: boolean;
}

export const PROFILES: Readonly<Record<string, TcpProfile>> = { xnu: XNU_PROFILE, freebsd: FREEBSD_PROFILE };

function resolveProfile(p: DrillOptions['profile']): TcpProfile {
  if (p === undefined) return XNU_PROFILE;
  if (typeof p === 'string') {
    const r = PROFILES[p];
    if (r === undefined) throw new Error(`unknown profile '${p}' (xnu, freebsd)`);
    return r;
  }
  return p;
}

function defaultDefines(profile: TcpProfile): string[] {
  return ['STANDARD', 'TUNSTACK', profile.name === 'freebsd' ? 'FreeBSD' : profile.name === 'xnu' ? 'XNU' : profile.name];
}

/** Parses and runs one script. Never throws for script problems: they are in the result. */
export async function runDrillScript(text: string, o: DrillOptions = {}): Promise<DrillResult> {
  const file = o.file ?? '<script>';
  let profile = resolveProfile(o.profile);
  const base = { file, line: null, column: null, event: null, message: null, expected: null, actual: null, warnings: [], trace: [], endTimeUs: 0 };
  const stop = (s: DrillStop, extra: Partial<DrillResult> = {}): DrillResult => ({
    ...base, status: s.status, line: s.line, column: s.column, message: s.message, expected: s.expected, actual: s.actual, ...extra,
  });
  let script;
  try {
    script = parseScript(text, new Set(o.defines ?? defaultDefines(profile)));
  } catch (e) {
    if (e instanceof DrillSyntaxError) return { ...base, status: 'error', line: e.line, column: e.col, message: `syntax error: ${e.reason}` };
    throw e;
  }
  const cfg: DrillConfig = { ...DEFAULT_CONFIG, nonFatal: new Set() };
  try {
    for (const s of o.sysctls ?? []) {
      const eq = s.indexOf('=');
      if (eq <= 0) throw new DrillStop('error', `--sysctl needs name=value, got '${s}'`, null);
      const r = sysctlSet(profile, s.slice(0, eq), s.slice(eq + 1));
      if (!r.ok) throw new DrillStop(r.kind === 'bad-value' ? 'error' : 'unsupported', r.message, null);
      profile = r.profile;
    }
    for (const [k, v] of Object.entries(o.options ?? {})) applyOption(cfg, k, v, null);
    for (const h of script.options) applyOption(cfg, h.name, h.value, h.loc.line);
  } catch (e) {
    if (e instanceof DrillStop) return stop(e);
    throw e;
  }
  let runner: DrillRunner;
  try {
    runner = new DrillRunner({ profile, config: cfg, seed: o.seed ?? 1, verbose: o.verbose ?? false });
  } catch (e) {
    if (e instanceof DrillStop) return stop(e);
    throw e;
  }
  const eventAt = (line: number | null): string | null =>
    line === null ? null : script.events.find((ev) => ev.loc.line === line)?.text ?? null;
  try {
    await runner.run(script);
    return { ...base, status: 'pass', warnings: runner.warnings, trace: runner.trace, endTimeUs: runner.now };
  } catch (e) {
    if (e instanceof DrillStop) {
      return stop(e, { event: eventAt(e.line), warnings: runner.warnings, trace: runner.trace, endTimeUs: runner.now });
    }
    const msg = e instanceof Error ? e.stack ?? e.message : String(e);
    return { ...base, status: 'error', message: `internal error: ${msg}`, warnings: runner.warnings, trace: runner.trace, endTimeUs: runner.now };
  } finally {
    await runner.teardown();
  }
}

/** Reads and runs a script file. */
export async function runDrillFile(path: string, o: DrillOptions = {}): Promise<DrillResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    return {
      file: path, status: 'error', line: null, column: null, event: null, message: `cannot read: ${(e as Error).message}`,
      expected: null, actual: null, warnings: [], trace: [], endTimeUs: 0,
    };
  }
  return runDrillScript(text, { ...o, file: path });
}

const LABEL: Readonly<Record<DrillResult['status'], string>> = { pass: 'PASS', fail: 'FAIL', unsupported: 'UNSUPPORTED', error: 'ERROR' };

/** The CLI's text for one result (several lines unless it passed). */
export function formatResult(r: DrillResult): string {
  const where = r.line === null ? '' : `:${r.line}${r.column !== null ? `:${r.column}` : ''}`;
  const lines = [`${LABEL[r.status]} ${r.file}${where}${r.message !== null ? `: ${r.message}` : ''}`];
  if (r.event !== null) lines.push(`  event:    ${r.event}`);
  if (r.expected !== null) lines.push(`  expected: ${r.expected}`);
  if (r.actual !== null) lines.push(`  actual:   ${r.actual}`);
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  return lines.join('\n');
}

/** 0 when all passed; 1 when any failed or errored; 3 when the rest passed but some were unsupported. */
export function exitCodeFor(results: readonly DrillResult[]): number {
  if (results.some((r) => r.status === 'fail' || r.status === 'error')) return 1;
  if (results.some((r) => r.status === 'unsupported')) return 3;
  return 0;
}
