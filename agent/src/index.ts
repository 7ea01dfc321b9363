export { runDoctor, formatDoctorTable, type DoctorReport, type DoctorRow } from './doctor.js';
export { startAgent, AgentStartError, type AgentOptions, type RunningAgent } from './agent.js';
export { Profiler, type ProfilerOptions } from './profiler.js';
export { CpuSampler, type Drained, type ProcessEvent, type SampleBatch } from './sampler.js';
export { PprofBuilder } from './pprof-builder.js';
export { native, type NativeSpanSession, type SpanHooks, type SpanSessionOptions, type SpanSessionStats } from './native.js';
export { decodeSocketEvents } from './spans/decode-events.js';
export type { SocketEvent } from './spans/socket-event.js';
export { cgroup2Mount } from './cgroups.js';
