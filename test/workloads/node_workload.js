// node_workload: JavaScript CPU burnt in a named function, kilnHotLoop, called
// by kilnCaller. Run it the way the agent can see JS frames:
//   node --perf-basic-prof --interpreted-frames-native-stack node_workload.js [SECONDS]
// (0 or absent: forever). Prints its pid. With --perf-basic-prof, V8 writes
// /tmp/perf-<pid>.map, where optimized code appears as e.g.
// "LazyCompile:*kilnHotLoop /path/node_workload.js:12" (names vary by V8 version).

function kilnHotLoop(n) {
  let x = 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x = (x + i) | 0;
  }
  return x;
}

// Called once per slice with a long loop, so kilnCaller stays cold (not
// optimized, hence kilnHotLoop is not inlined into it) while kilnHotLoop gets
// optimized on its own (on-stack replacement) and owns the CPU time.
function kilnCaller(n) {
  return kilnHotLoop(n) ^ 1;
}

const seconds = Number(process.argv[2] ?? 0);
const start = Date.now();
process.stdout.write(`${process.pid}\n`);

let sink = 0;
function tick() {
  // Burn synchronously for ~50 ms at a time, then yield so signals are handled.
  const sliceEnd = Date.now() + 50;
  while (Date.now() < sliceEnd) sink ^= kilnCaller(2_000_000);
  if (seconds > 0 && Date.now() - start >= seconds * 1000) {
    process.exitCode = sink === 0.5 ? 1 : 0;
    return;
  }
  setTimeout(tick, 0);
}
tick();
