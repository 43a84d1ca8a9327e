// Clean-up hooks of a bench run: whatever the bench set up (a TUN device and its namespace, a
// client process, a CPU affinity) registers how to undo it here; the hooks run on SIGINT,
// SIGTERM, SIGHUP (then the process exits 130) and on exit, so a run that is interrupted or
// crashes still removes its namespace. Each hook runs at most once.

type Hook = () => void;
const hooks = new Set<Hook>();
let installed = false;

function runAll(): void {
  for (const h of [...hooks].reverse()) {
    hooks.delete(h);
    try { h(); } catch { /* keep cleaning */ }
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      process.stderr.write(`bench: ${sig}: cleaning up\n`);
      runAll();
      process.exit(130);
    });
  }
  process.on('exit', runAll);
}

/** Registers `h`; returns a function that unregisters it (without running it). */
export function onCleanup(h: Hook): () => void {
  install();
  hooks.add(h);
  return () => { hooks.delete(h); };
}
