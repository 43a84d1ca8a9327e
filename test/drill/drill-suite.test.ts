// Runs every packetdrill script under test/drill/ through the drill runner in-process (virtual
// time, XNU profile) and expects each to pass. One test per script; a failure prints the runner's
// message (line, event, expected vs actual).
//
// Scripts that expose a known stack bug are listed in KNOWN_BUGS and run with `it.fails`: the suite
// stays green while the bug exists, and the test turns red (so the entry must be removed) once the
// stack is fixed and the script passes. Only real stack bugs belong there, never script mistakes.

import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatResult, runDrillFile } from '../../tools/drill/index.js';

const ROOT = dirname(fileURLToPath(import.meta.url));

/** Script (relative to test/drill) → the stack bug it exposes. */
const KNOWN_BUGS: Readonly<Record<string, string>> = {
  // tcp-output.ts recomputes `idle` (snd_max == snd_una) for every segment of one tcpOutput call
  // and has no TF_MAXSEGSNT: XNU computes idle once before `again:` and lets a runt follow a
  // full-sized segment, so the sub-MSS tail of a multi-segment write leaves at once; the stack
  // holds it until the next ACK (one RTT, or the peer's delayed-ACK time, of extra latency).
  'data/send-segmentation-psh.pkt': 'Nagle holds the tail of a multi-segment write (no TF_MAXSEGSNT)',
  'nagle/nagle-runt-after-full-segment.pkt': 'Nagle holds a runt after a full-sized segment (no TF_MAXSEGSNT)',
  // tcp-timers.ts tcpTimerRexmt uses profile.synBackoff in SYN_RECEIVED too; XNU's tcp_timers
  // uses tcp_syn_backoff only in SYN_SENT, so SYN-ACKs back off 1, 2, 4 s (resent at 1, 3, 7 s),
  // not 1, 1, 1 s (resent at 1, 2, 3 s).
  'rto/synack-retransmit-schedule.pkt': 'SYN-ACK retransmissions use the SYN backoff table',
  // icmp.ts updatePmtu4 lowers the host PMTU cache from every needfrag before tcpCtlinput checks
  // the quoted sequence number (RFC 5927 §4.1); the next full segment then fails in ip_output with
  // EMSGSIZE and tcp-output-seg.ts calls tcpMtudisc, so a blind ICMP still shrinks the MSS.
  'icmp/needfrag-out-of-window-ignored.pkt': 'out-of-window ICMP needfrag still lowers the path MTU',
  // tcp-input-sync.ts tcpInputSyn strips the duplicate SYN of the peer's SYN-ACK in SYN_RECEIVED
  // before trimming, so todrop is 0 and no ACK is sent; XNU trims it in the todrop block
  // (todrop 1 → 0 == tlen) and sets TF_ACKNOW, so the simultaneous open ends with our ACK.
  'handshake/simultaneous-open.pkt': 'no ACK for the SYN-ACK completing a simultaneous open',
};

/**
 * Script → a bug of the drill runner (tools/drill), not of the stack. Same mechanism, so the entry
 * must go when the runner is fixed.
 */
const RUNNER_BUGS: Readonly<Record<string, string>> = {
};

function findScripts(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findScripts(p));
    else if (name.endsWith('.pkt')) out.push(p);
  }
  return out;
}

const scripts = findScripts(ROOT);

describe('packetdrill suite (test/drill)', () => {
  it('has at least 80 scripts', () => {
    expect(scripts.length).toBeGreaterThanOrEqual(80);
  });

  for (const file of scripts) {
    const name = relative(ROOT, file).split('\\').join('/');
    const bug = KNOWN_BUGS[name] ?? (RUNNER_BUGS[name] !== undefined ? `runner: ${RUNNER_BUGS[name]}` : undefined);
    const run = async (): Promise<void> => {
      const r = await runDrillFile(file);
      expect(r.status, formatResult(r)).toBe('pass');
    };
    if (bug !== undefined) it.fails(`${name} (known bug: ${bug})`, run);
    else it(name, run);
  }
});
