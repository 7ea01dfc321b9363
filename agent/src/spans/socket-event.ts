// One socket event from the kernel (struct socket_event in bpf/spans.h), decoded: the input of the
// protocol parsers and of the tracker that pairs requests with responses.

export type SocketEventKind = 'read' | 'write' | 'close';
/** server: this process accepted the connection (or read before it wrote); client: it connected. */
export type ConnRole = 'server' | 'client' | 'unknown';

export interface SocketEvent {
  kind: SocketEventKind;
  /** CLOCK_MONOTONIC nanoseconds at the syscall's exit (bpf_ktime_get_ns). */
  tsNs: bigint;
  /** Unique per connection (a reused fd gets a new one). */
  connId: bigint;
  /**
   * Server read that began a request: the kernel's new span id (the one CPU samples are stamped
   * with). Server write: the span answered. Client write: the span the thread was serving (the
   * parent), 0n when none.
   */
  spanId: bigint;
  /** This read (server) or write (client) began a new request, as the kernel sees it. */
  requestStart: boolean;
  pid: number;
  tid: number;
  fd: number;
  role: ConnRole;
  /** Bytes the syscall moved; more than payload.length when the capture was cut. */
  bytes: number;
  /** The first bytes moved (up to the capture size: 256 by default, 1 KiB at most). */
  payload: Uint8Array;
  family: 4 | 6;
  localAddr: string;
  localPort: number;
  remoteAddr: string;
  remotePort: number;
}
