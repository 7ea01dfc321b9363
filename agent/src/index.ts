export { runDoctor, formatDoctorTable, type DoctorReport, type DoctorRow } from './doctor.js';
export { startAgent, AgentStartError, type AgentOptions, type RunningAgent } from './agent.js';
export { Profiler, type ProfilerOptions } from './profiler.js';
export { CpuSampler, type Drained, type ProcessEvent, type SampleBatch } from './sampler.js';
export { PprofBuilder } from './pprof-builder.js';
