// One fuzz run: the arena of a seed (fuzz-world.ts), legitimate sessions from a to b (workload.ts)
// and, interleaved with short simulation steps, attacks from the generator (generator.ts) aimed at
// what is live at that moment; after every step the invariants (invariants.ts); at the end the
// sessions' verdicts, then everything closed and drained and the mbuf pools back to their baseline.
//
// inject attack → sim.runFor(small dt) → taps deliver one packet at a time (audits) → invariants
//   → … → stop injecting → sessions finish (bounded) → close all → TCP PCBs gone (bounded) → leaks
//
// Every failure names the seed and the command that replays it; an exception escaping the stack
// also names the packet being processed (hex) and the last attacks sent.

import { errnoName } from '../../stack/errno.js';
import { FuzzRng } from './fuzz-rng.js';
import { buildArena } from './fuzz-world.js';
import type { Arena } from './fuzz-world.js';
import { GenCtx } from './gen-context.js';
import { generate } from './generator.js';
import type { GeneratorName } from './generator.js';
import { snapshotTargets } from './live-targets.js';
import { boundProblems, conservationProblems } from './invariants.js';
import { UNTOUCHED_OK_ERRNOS, Workload } from './workload.js';
import type { SessionResult } from './workload.js';
import { StormBreaker } from './storm-breaker.js';
import { layoutOf } from './packet-layout.js';
import { hex, IPPROTO_TCP } from './wire-build.js';

export interface FuzzOptions {
  readonly seed: number;
  /** Packets to inject. */
  readonly packets: number;
  /** Concurrent legitimate sessions (default 5). */
  readonly sessions?: number;
  /** Only this generator (targeted runs); default: the weighted mix. */
  readonly only?: GeneratorName;
  /** Progress lines (the long run prints them); the first line always names the seed. */
  readonly log?: (line: string) => void;
  /** Print a progress line every this many packets (0: never). */
  readonly progressEvery?: number;
}

export interface FuzzReport {
  readonly seed: number;
  readonly packets: number;
  readonly setup: string;
  readonly virtualMs: number;
  readonly steps: number;
  /** ok; failed with an errno allowed untouched; disturbed by attacks on their 4-tuple. */
  readonly sessions: { ok: number; errno: number; disturbed: number; total: number };
  readonly audited: number;
  /** Packets injected by generator path (its first three parts). */
  readonly kinds: Record<string, number>;
  /** Everything that went wrong; empty for a passing run. */
  readonly violations: string[];
  /** The command that replays this run. */
  readonly replay: string;
}

/** Most violations kept per run (the first ones matter). */
const MAX_VIOLATIONS = 30;
/** After injection stops: how long sessions may take to end (beyond their own 900 s bound). */
const FINISH_BOUND_MS = 1_000_000;
/** After everything is closed: how long until every TCP PCB must be gone (FIN_WAIT_2, keepinit, 2MSL). */
const CLOSE_BOUND_MS = 1_800_000;

export function replayCommand(seed: number, packets: number, only?: GeneratorName): string {
  if (only !== undefined) return `npx vitest run test/fuzz/packet-fuzz.test.ts -t 'only the ${only} generator'`;
  return `TUNSTACK_FUZZ_SEED=${seed} TUNSTACK_FUZZ_ITERS=${packets} npx vitest run test/fuzz/packet-fuzz.test.ts -t 'short run'`;
}

export function runFuzz(o: FuzzOptions): FuzzReport {
  const replay = replayCommand(o.seed, o.packets, o.only);
  o.log?.(`packet fuzz: seed ${o.seed}, ${o.packets} packets${o.only !== undefined ? ` (${o.only} only)` : ''} — replay: ${replay}`);
  const r = new FuzzRng(o.seed);
  const arena = buildArena(r, (o.seed ^ 0x5eed5eed) >>> 0);
  const { world, attacker, taps } = arena;
  const sim = world.sim;
  const g = new GenCtx(new FuzzRng((o.seed * 2654435761) >>> 0), arena.wire);
  const workload = new Workload(world, new FuzzRng((o.seed + 0x9e3779b9) >>> 0), o.sessions ?? 5);
  const storms = sim.add(new StormBreaker([world.a.stack, world.b.stack]));
  const hosts = [
    { name: 'a' as const, stack: world.a.stack, v4: arena.wire.a.v4, v6: arena.wire.a.v6 },
    { name: 'b' as const, stack: world.b.stack, v4: arena.wire.b.v4, v6: arena.wire.b.v6 },
  ];
  const taints = new Set<string>();
  const kinds: Record<string, number> = {};
  for (const t of taps) t.onTaint = (key) => taints.add(key);
  const recent: string[] = [];
  const violations: string[] = [];
  const violate = (msg: string): void => { if (violations.length < MAX_VIOLATIONS) violations.push(msg); };
  let injected = 0, steps = 0;

  // Each broken law is reported once, when first seen (it would otherwise repeat at every step).
  const broken = new Set<string>();
  const checkInvariants = (): void => {
    for (const h of hosts) {
      for (const p of [...conservationProblems(h.stack), ...boundProblems(h.stack)]) {
        const law = p.replace(/\d+/g, '#');
        if (broken.has(law)) continue;
        broken.add(law);
        violate(`t=${sim.now}us, after ${injected} packets (last: ${recent[recent.length - 1] ?? 'none'}): ${p}`);
      }
    }
  };
  const explain = (e: unknown, phase: string): Error => {
    const inFlight = taps.map((t) => (t.packetInFlight === null ? null : `${t.host} ← ${t.packetInFlight}`)).filter((x) => x !== null);
    const err = e instanceof Error ? e : new Error(String(e));
    return new Error(
      `packet fuzz seed ${o.seed}: exception during ${phase} at t=${sim.now}us after ${injected} packets: ${err.message}\n` +
      `  packet being processed: ${inFlight.length > 0 ? inFlight.join('\n  ') : '(none: a timer or an API call)'}\n` +
      `  last attacks:\n    ${recent.join('\n    ')}\n  setup: ${arena.setup}\n  replay: ${replay}\n${err.stack ?? ''}`,
    );
  };

  // ---- attack phase ----
  try {
    while (injected < o.packets) {
      workload.step(sim.now, true);
      g.targets = snapshotTargets(hosts, sim.now);
      const pkts = generate(g, o.only);
      const now = sim.now;
      for (const [i, p] of pkts.entries()) {
        arena.forged.add(p.bytes, p.audit, p.judge === true || isTcp(p.bytes));
        for (const k of p.taints) taints.add(k);
        const kind = p.kind.split('+')[0]!.split('/').slice(0, 3).join('/');
        kinds[kind] = (kinds[kind] ?? 0) + 1;
        recent.push(`#${injected + i} → ${p.to} ${p.kind}: ${hex(p.bytes, 96)}`);
        if (recent.length > 12) recent.shift();
      }
      attacker.send(pkts.map((p) => p.bytes), now);
      injected += pkts.length;
      // Mostly short steps (attacks land amid the transfers), sometimes long ones (timers run: delayed
      // ACK, retransmission, persist, keepalive, reassembly timeouts of 30 and 60 s, TIME_WAIT).
      sim.runFor(g.rng.weighted([[25, 0.05], [25, 0.3], [25, 1], [15, 5], [7, 20], [2.5, 200], [0.4, 2000], [0.1, 35_000]] as const));
      steps++;
      checkInvariants();
      if (violations.length >= MAX_VIOLATIONS) break;
      const every = o.progressEvery ?? 0;
      if (every > 0 && Math.floor(injected / every) !== Math.floor((injected - pkts.length) / every)) {
        o.log?.(`  seed ${o.seed}: ${injected}/${o.packets} packets, t=${(sim.now / 1e6).toFixed(1)}s, ${workload.results.length} sessions done`);
      }
    }
  } catch (e) {
    throw explain(e, 'the attack phase');
  }

  // ---- sessions finish, everything closes, nothing is left ----
  try {
    const start = sim.now, end = start + FINISH_BOUND_MS * 1000;
    while (workload.running > 0 && sim.now < end) {
      // Fine steps while sessions are still busy, coarse ones once only slow timers are left.
      sim.runFor(sim.now - start < 20_000_000 ? 10 : 1000);
      workload.step(sim.now, false);
      checkInvariants();
    }
    workload.stopAll(sim.now, 'still running after the attack phase and its bound');
    arena.services.close();
    const allGone = (): boolean => {
      for (const h of hosts) if (h.stack.tcp.pcbs.size !== 0) return false;
      return true;
    };
    const gone = sim.runUntil(allGone, CLOSE_BOUND_MS);
    checkInvariants();
    if (!gone) {
      for (const h of hosts) {
        const states = h.stack.tcp.tcpcbs().map((tp) => `${tp.t_state}:${tp.t_inpcb.lport}->${tp.t_inpcb.fport}`);
        if (states.length > 0) violate(`${h.name}: ${states.length} TCP PCBs left ${CLOSE_BOUND_MS / 1000} s after everything closed: ${states.slice(0, 10).join(' ')}`);
      }
    }
    sim.runUntilIdle(700_000);
  } catch (e) {
    throw explain(e, 'the closing phase');
  }
  leakCheck(arena, violate);

  // ---- verdicts ----
  const s = { ok: 0, errno: 0, disturbed: 0, total: workload.results.length };
  for (const st of storms.storms) violate(`ACK storm (the connection was dropped to go on): ${st.what}`);
  for (const res of workload.results) {
    const touched = res.key !== null && taints.has(res.key);
    if (res.status === 'ok') s.ok++;
    else if (touched) s.disturbed++;
    else if (res.status === 'errno' && UNTOUCHED_OK_ERRNOS.includes(res.errno)) s.errno++;
    else violate(`session ${describe(res)} failed although no attack touched its 4-tuple`);
  }
  if (o.packets >= 500 && s.ok === 0) violate(`no session completed in ${s.total}: the legitimate traffic made no progress`);
  for (const t of taps) for (const f of t.report.auditFailures) violate(`counted drop missing: ${f}`);
  const audited = taps.reduce((n, t) => n + t.report.audited, 0);
  return {
    seed: o.seed, packets: injected, setup: arena.setup, virtualMs: Math.round(sim.now / 1000), steps, sessions: s, audited, kinds,
    violations: violations.map((v) => `${v}\n    (seed ${o.seed}, ${arena.setup}; replay: ${replay})`), replay,
  };
}

/** An unfragmented TCP segment (judged on arrival, whatever generator made it). */
function isTcp(p: Uint8Array): boolean {
  const l = layoutOf(p);
  return l !== null && !l.fragment && l.proto === IPPROTO_TCP;
}

function describe(r: SessionResult): string {
  const why = r.status === 'errno' ? errnoName(r.errno) : r.status;
  return `${r.kind} IPv${r.family} ${r.key ?? '(no tuple)'} [${r.startUs}..${r.endUs}us]: ${why}: ${r.detail}`;
}

/** After a full drain, every mbuf is back in its pool and no socket is left. */
function leakCheck(arena: Arena, violate: (msg: string) => void): void {
  const { world } = arena;
  for (const h of [world.a, world.b]) {
    h.stack.drain();
    const [mb, cl] = h.name === 'a' ? arena.baseline.a : arena.baseline.b;
    const st = h.stack.pool.stats;
    if (st.mbufsInUse !== mb || st.clusterBytesInUse !== cl) {
      violate(`${h.name}: mbuf pool not back to its baseline after drain: ${st.mbufsInUse} mbufs (baseline ${mb}), ${st.clusterBytesInUse} cluster bytes (baseline ${cl})`);
    }
    let live = 0;
    for (const _ of h.stack.sockets.sockets()) live++;
    if (live !== 0) violate(`${h.name}: ${live} sockets still live after everything closed`);
    if (h.stack.ip.reass4.engine.queueCount + h.stack.ip.reass6.engine.queueCount !== 0) violate(`${h.name}: reassembly queues left after drain`);
  }
  if (world.net.inFlight !== 0 || world.net.pool.stats.mbufsInUse !== 0) {
    violate(`network: ${world.net.inFlight} packets in flight, ${world.net.pool.stats.mbufsInUse} mbufs in use after idle`);
  }
  if (arena.attacker.pool.stats.mbufsInUse !== 0) violate(`attacker: ${arena.attacker.pool.stats.mbufsInUse} mbufs in use`);
}
