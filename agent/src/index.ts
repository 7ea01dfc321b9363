export { runDoctor, formatDoctorTable, type DoctorReport, type DoctorRow } from './doctor.js';
export { detectCgroups, type CgroupInfo } from './cgroups.js';
export { startAgent, AgentStartError, type AgentOptions, type RunningAgent } from './agent.js';
