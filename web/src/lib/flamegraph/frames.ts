// What a frame name says about itself: function, file:line, binary, and which kind of code it is
// (kernel, native, JIT/managed, language runtime), so frames can be coloured by kind and package.
//
// The server's names are strings; file, line and binary may also come beside them, in the API's
// `metadata.frames`, which the decoded tree keeps (frameInfo). The shapes recognised in names are
// the common ones:
//   "func"                              "func (file.c:12)"        "func file.c:12"
//   "func [binary]"  "[binary] func"    "binary!func"             "func @ binary"
//   "[k] func" "func [kernel.kallsyms]" (kernel)                  "[unknown] binary+0x12"
//   "JS:*fib /app/x.js:3:10"  "LazyCompile:~f file.js:1"  (V8 perf map)  "pkg/path.Func" (Go)

import type { FlameTree } from './tree';

export type FrameKind = 'root' | 'kernel' | 'native' | 'jit' | 'runtime' | 'unknown';

export const FRAME_KINDS: readonly FrameKind[] = ['kernel', 'native', 'jit', 'runtime', 'unknown'];

export const FRAME_KIND_LABEL: Record<FrameKind, string> = {
  root: 'total',
  kernel: 'kernel',
  native: 'native',
  jit: 'JIT / managed (JS, JVM…)',
  runtime: 'runtime (V8, Node, libc, Go…)',
  unknown: 'unknown',
};

export interface FrameInfo {
  /** The function name without location or binary. */
  fn: string;
  /** "file:line" (or "file:line:col") when the name carries one. */
  location?: string;
  /** Binary, shared object or kernel image when the name carries one. */
  binary?: string;
  kind: FrameKind;
  /** What the colour shade is keyed on: binary, else file, else the name's package prefix. */
  pkg: string;
}

const KERNEL_BINARIES = /^(\[?kernel(\.kallsyms)?\]?|vmlinux|\[k\]|\[kernel\])$/i;
const KERNEL_PREFIXES =
  /^(entry_SYSCALL|do_syscall_64|__x64_sys_|__ia32_sys_|__arm64_sys_|__se_sys_|__do_sys_|x64_sys_call|asm_(exc|sysvec|common)|__schedule|schedule(_hrtimeout|_timeout)?$|ret_from_fork|secondary_startup|start_kernel|__do_softirq|__softirq|irq_exit|_raw_spin_|native_safe_halt|default_idle|cpu_startup_entry|do_idle|el0_|el1_|__arm64_|invoke_syscall|page_fault|exc_page_fault|handle_mm_fault|__handle_mm_fault|ksys_|vfs_|__vfs_|tcp_v4_|__tcp_|ip_finish_output|__netif_|__napi_|net_rx_action|smp_call_function|futex_wait|do_futex|__x64_)/;
const JIT_PREFIX = /^(JS|LazyCompile|Function|Script|InterpretedFunction|RegExp|Eval|Code|Baseline|Maglev|Turbofan|Sparkplug):\s*[*~^+-]?/;
const MANAGED_FILE = /\.(m?js|cjs|ts|mts|tsx|jsx|java|kt|scala|py|rb|php|lua|cs)(:\d+)*$/;
const RUNTIME_PREFIXES =
  /^(Builtins_|Builtin:|v8::|node::|uv_|uv__|runtime\.|runtime_|__libc_|__GI_|_dl_|_start$|__clone|start_thread|clone3?$|__pthread|pthread_|malloc|free$|calloc|realloc|__memcpy|__memmove|__memset|memcpy|memmove|memset|__strlen|Interpreter|StubRoutines|JavaThread|java_start|thread_native_entry|_PyEval|PyEval_|_PyObject|PyObject_|_PyFunction|rb_|vm_exec)/;
const RUNTIME_BINARIES =
  /(^|\/)(node|nodejs|libnode\.so[.\d]*|libjvm\.so|libc\.so[.\d]*|libc-[\d.]+\.so|ld-linux[-\w.]*\.so[.\d]*|libpthread\.so[.\d]*|libstdc\+\+\.so[.\d]*|libm\.so[.\d]*|libpython[\d.]+\.so[.\d]*|python[\d.]*|ruby|libruby\.so[.\d]*)$/;

/** Where the server says one frame comes from (an entry of its `metadata.frames`). */
export interface FrameSource {
  file: string;
  line: number;
  binary: string;
}

/** The source the server sent for name `nameIndex` of `tree`, if it sent one. */
export function frameSource(tree: FlameTree, nameIndex: number): FrameSource | undefined {
  const frames = tree.frames;
  if (frames === undefined) return undefined;
  const file = frames.files[nameIndex] ?? '';
  const binary = frames.binaries[nameIndex] ?? '';
  if (file === '' && binary === '') return undefined;
  return { file, line: frames.lines[nameIndex] ?? 0, binary };
}

/** The frame of name `nameIndex` of `tree`: the name parsed, completed by the server's source for it. */
export function frameInfo(tree: FlameTree, nameIndex: number): FrameInfo {
  return parseFrame(tree.names[nameIndex]!, frameSource(tree, nameIndex));
}

// Memoised by everything the result depends on (the name and its source): the same frames come
// back on every refresh.
const cache = new Map<string, FrameInfo>();

/** Parses a frame name; `source` adds the file:line and binary the name does not carry. */
export function parseFrame(name: string, source?: FrameSource): FrameInfo {
  const key = source === undefined ? name : `${name}\0${source.file}\0${source.line}\0${source.binary}`;
  let info = cache.get(key);
  if (info === undefined) {
    info = parseUncached(name, source);
    if (cache.size > 200_000) cache.clear();
    cache.set(key, info);
  }
  return info;
}

function parseUncached(raw: string, source: FrameSource | undefined): FrameInfo {
  let fn = raw.trim();
  let location: string | undefined;
  let binary: string | undefined;
  let kernelMark = false;

  if (fn === 'total') return { fn, kind: 'root', pkg: 'total' };
  if (fn === 'other' || fn === '[other]') return { fn, kind: 'unknown', pkg: 'other' };

  // "[k] func", "[kernel.kallsyms] func", "[binary] func"
  let m = /^\[([^\]]+)\]\s+(.+)$/.exec(fn);
  if (m && m[1] !== 'unknown') {
    if (m[1] === 'k' || KERNEL_BINARIES.test(m[1]!)) kernelMark = true;
    else binary = m[1];
    fn = m[2]!;
  }
  // "func [binary]" / "func [k]"
  m = /^(.+?)\s+\[([^\]]+)\]$/.exec(fn);
  if (m) {
    if (m[2] === 'k' || KERNEL_BINARIES.test(m[2]!)) kernelMark = true;
    else binary = m[2];
    fn = m[1]!;
  }
  // "func @ binary"
  m = /^(.+?)\s+@\s+(\S+)$/.exec(fn);
  if (m) {
    binary = m[2];
    fn = m[1]!;
  }
  // "binary!func"
  m = /^([^\s!()]+\.(so[.\d]*|exe|dll|node)|[^\s!():]+)!(.+)$/.exec(fn);
  if (m && !fn.startsWith('!')) {
    binary = m[1];
    fn = m[3]!;
  }
  // "func (file:line)"
  m = /^(.+?)\s+\(([^()]+?:\d+(?::\d+)?)\)$/.exec(fn);
  if (m) {
    location = m[2];
    fn = m[1]!;
  } else {
    // "func file:line" (the last space-separated token is a path with a line number)
    m = /^(.+?)\s+((?:[\w.@~+-]*\/)*[\w.@~+-]+\.[A-Za-z]\w*(?::\d+){1,2})$/.exec(fn);
    if (m) {
      location = m[2];
      fn = m[1]!;
    }
  }
  if (source !== undefined) {
    if (location === undefined && source.file !== '') location = source.line > 0 ? `${source.file}:${source.line}` : source.file;
    if (binary === undefined && source.binary !== '') binary = source.binary;
  }
  if (binary !== undefined && KERNEL_BINARIES.test(binary)) {
    kernelMark = true;
    binary = undefined;
  }

  let kind: FrameKind;
  if (raw.startsWith('[unknown]') || fn === '[unknown]') kind = 'unknown';
  else if (kernelMark) kind = 'kernel';
  else if (JIT_PREFIX.test(fn) || (location !== undefined && MANAGED_FILE.test(location)) || /perf-\d+\.map$/.test(binary ?? ''))
    kind = 'jit';
  else if (RUNTIME_PREFIXES.test(fn) || (binary !== undefined && RUNTIME_BINARIES.test(binary))) kind = 'runtime';
  else if (binary === undefined && location === undefined && KERNEL_PREFIXES.test(fn)) kind = 'kernel';
  else kind = 'native';

  const info: FrameInfo = { fn, kind, pkg: packageOf(fn, location, binary, kind) };
  if (location !== undefined) info.location = location;
  if (binary !== undefined) info.binary = kernelMark ? 'kernel' : binary;
  else if (kernelMark) info.binary = 'kernel';
  return info;
}

function packageOf(fn: string, location: string | undefined, binary: string | undefined, kind: FrameKind): string {
  if (kind === 'kernel') {
    const m = /^_*([a-z0-9]+)_/.exec(fn);
    return `kernel:${m?.[1] ?? fn}`;
  }
  if (binary !== undefined) return binary.replace(/^.*\//, '');
  if (location !== undefined) return location.replace(/:\d+(:\d+)?$/, '').replace(/^.*\//, '');
  const stripped = fn.replace(JIT_PREFIX, '');
  // C++ / Rust: "ns::Class::method" → "ns"
  const cxx = /^([A-Za-z_]\w*)::/.exec(stripped);
  if (cxx) return cxx[1]!;
  // Go: "github.com/x/y.(*T).Method" → "github.com/x/y"
  const go = /^((?:[\w.-]+\/)*[\w-]+)\.[\w(*)]/.exec(stripped);
  if (go && (go[1]!.includes('/') || /^[a-z]/.test(go[1]!))) return go[1]!;
  const word = /^_*([A-Za-z]+?)(?:_|[A-Z]|$)/.exec(stripped);
  return word?.[1]?.toLowerCase() ?? stripped;
}

/** A shorter label for narrow frames: no package path, no argument list. */
export function shortName(fn: string): string {
  let s = fn.replace(JIT_PREFIX, '');
  const paren = s.indexOf('(');
  if (paren > 0 && !s.startsWith('(')) s = s.slice(0, paren);
  const slash = s.lastIndexOf('/');
  if (slash >= 0 && slash < s.length - 1) s = s.slice(slash + 1);
  return s;
}
