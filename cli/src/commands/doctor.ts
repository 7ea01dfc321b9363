import type { Command } from '../command.js';

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'Probe the BPF facilities of this kernel and print what works and what Kiln does without them.',
  flags: {
    json: { type: 'boolean', help: 'print the report as JSON' },
  },
  async run(values) {
    if (process.getuid?.() !== 0) {
      process.stderr.write('kiln doctor: loading BPF programs needs root (or CAP_BPF + CAP_PERFMON); run it as root\n');
      return 1;
    }
    const { formatDoctorTable, runDoctor } = await import('@kiln/agent');
    const report = await runDoctor();
    process.stdout.write(values.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatDoctorTable(report));
    return report.cpuProfiling ? 0 : 1;
  },
};
