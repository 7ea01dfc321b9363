const units: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `500ms`, `10s`, `5m`, `2h`, `7d` (and combinations like `1h30m`) into milliseconds. */
export function parseDuration(text: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let end = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    total += Number(m[1]) * (units[m[2] ?? ''] ?? 0);
    end = re.lastIndex;
  }
  if (text.length === 0 || end !== text.length) {
    throw new Error(`invalid duration "${text}": use forms like 500ms, 10s, 5m, 2h, 7d`);
  }
  return total;
}
