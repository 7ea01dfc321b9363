// http_server: a Node HTTP service whose routes burn CPU in functions named after them, for the
// span tests (each span's flame graph must hold its own route's function and no other's).
//   node --perf-basic-prof --interpreted-frames-native-stack http_server.js PORT
// Prints its pid, then "listening PORT". Routes:
//   /slow       ~200 ms in kilnSlowBurn
//   /fast       ~2 ms in kilnFastWork
//   /checkout   every 10th request ~80 ms in kilnCheckoutSlowPath, the others ~8 ms in
//               kilnCheckoutTypicalPath: a route whose slow requests take another code path
//   /status/N   answers status N
//   /hello      answers at once, no work: what span capture costs per request shows best on it
// With OTEL_EXPORTER_OTLP_ENDPOINT set, the OpenTelemetry Node SDK exports one span per request
// (parented by the request's traceparent) to that endpoint over OTLP/HTTP protobuf.
import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? 0);
let sink = 0;

function kilnHot(n) {
  let x = 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x = (x + i) | 0;
  }
  return x;
}

// Each burns wall time on the CPU in small hot-loop slices, so the burn function stays on the stack.
function kilnSlowBurn(ms) {
  const end = performance.now() + ms;
  while (performance.now() < end) sink ^= kilnHot(20_000);
}
function kilnFastWork(ms) {
  const end = performance.now() + ms;
  while (performance.now() < end) sink ^= kilnHot(20_000);
}
function kilnCheckoutSlowPath(ms) {
  const end = performance.now() + ms;
  while (performance.now() < end) sink ^= kilnHot(20_000);
}
function kilnCheckoutTypicalPath(ms) {
  const end = performance.now() + ms;
  while (performance.now() < end) sink ^= kilnHot(20_000);
}

let checkouts = 0;
function route(path, res) {
  if (path === '/slow') kilnSlowBurn(200);
  else if (path === '/fast') kilnFastWork(2);
  else if (path === '/checkout') {
    if (checkouts++ % 10 === 0) kilnCheckoutSlowPath(80);
    else kilnCheckoutTypicalPath(8);
  } else if (path === '/hello') {
    // no work
  } else if (path.startsWith('/status/')) {
    res.statusCode = Number(path.slice('/status/'.length)) || 500;
  } else res.statusCode = 404;
  res.setHeader('content-type', 'text/plain');
  res.end(`${path} ${sink & 1}\n`);
}

let handle = (req, res) => route(new URL(req.url, 'http://x').pathname, res);
let shutdown = async () => {};

if (process.env.OTEL_EXPORTER_OTLP_ENDPOINT) {
  const { NodeSDK, tracing } = await import('@opentelemetry/sdk-node');
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
  const api = await import('@opentelemetry/api');
  const sdk = new NodeSDK({
    serviceName: 'http-server-otel',
    spanProcessors: [new tracing.SimpleSpanProcessor(new OTLPTraceExporter())],
  });
  sdk.start();
  const tracer = api.trace.getTracer('kiln-http-workload');
  handle = (req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const parent = api.propagation.extract(api.ROOT_CONTEXT, req.headers);
    tracer.startActiveSpan(`handle ${path}`, { kind: api.SpanKind.INTERNAL }, parent, (span) => {
      route(path, res);
      span.end();
    });
  };
  shutdown = () => sdk.shutdown();
}

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => handle(req, res));
});
server.keepAliveTimeout = 30_000;
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`${process.pid}\nlistening ${server.address().port}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  void shutdown().finally(() => process.exit(0));
});
