// Numbers as people read them: values in the profile's unit, shares as percentages.

/** "1,234 samples", "1.23 s", "12.5 MB". */
export function formatValue(value: number, units: string): string {
  switch (units) {
    case 'nanoseconds':
      return formatDuration(value / 1e9);
    case 'microseconds':
      return formatDuration(value / 1e6);
    case 'milliseconds':
      return formatDuration(value / 1e3);
    case 'seconds':
      return formatDuration(value);
    case 'bytes':
      return formatBytes(value);
    case 'samples':
      return `${formatCount(value)} samples`;
    default:
      return units === '' ? formatCount(value) : `${formatCount(value)} ${units}`;
  }
}

export function formatCount(value: number): string {
  if (Math.abs(value) >= 1e9) return `${(value / 1e9).toFixed(2)} G`;
  if (Math.abs(value) >= 1e6) return `${(value / 1e6).toFixed(2)} M`;
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  return value.toLocaleString('en-US', { maximumFractionDigits: 2 });
}

export function formatDuration(seconds: number): string {
  const a = Math.abs(seconds);
  if (a >= 3600) return `${(seconds / 3600).toFixed(2)} h`;
  if (a >= 60) return `${(seconds / 60).toFixed(2)} min`;
  if (a >= 1) return `${seconds.toFixed(2)} s`;
  if (a >= 1e-3) return `${(seconds * 1e3).toFixed(2)} ms`;
  if (a === 0) return '0 s';
  return `${(seconds * 1e6).toFixed(1)} µs`;
}

export function formatBytes(bytes: number): string {
  const a = Math.abs(bytes);
  if (a >= 1 << 30) return `${(bytes / (1 << 30)).toFixed(2)} GiB`;
  if (a >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(2)} MiB`;
  if (a >= 1 << 10) return `${(bytes / (1 << 10)).toFixed(2)} KiB`;
  return `${bytes} B`;
}

/** "12.34%" (two significant decimals below 10%). */
export function formatPercent(share: number): string {
  const p = share * 100;
  if (!Number.isFinite(p)) return '–';
  if (p !== 0 && Math.abs(p) < 0.01) return p < 0 ? '>-0.01%' : '<0.01%';
  return `${p.toFixed(Math.abs(p) < 10 ? 2 : 1)}%`;
}

/** "+12.3 pp" style signed percentage-point delta. */
export function formatDelta(pp: number): string {
  const s = pp > 0 ? '+' : pp < 0 ? '−' : '±';
  return `${s}${Math.abs(pp).toFixed(Math.abs(pp) < 10 ? 2 : 1)} pp`;
}
