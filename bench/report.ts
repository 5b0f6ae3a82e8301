// Bench output: one JSON object per line ({"bench","metric","value","unit"}), then a readable table.
export interface Row {
  bench: string;
  metric: string;
  value: number;
  unit: string;
}

const rows: Row[] = [];

export function record(bench: string, metric: string, value: number, unit: string): void {
  const row = { bench, metric, value: Number(value.toFixed(3)), unit };
  rows.push(row);
  console.log(JSON.stringify(row));
}

export function printTable(): void {
  const w = [5, 6, 5].map((n, i) => Math.max(n, ...rows.map((r) => [r.bench, r.metric, String(r.value)][i]!.length)));
  console.log('');
  console.log(`${'bench'.padEnd(w[0]!)}  ${'metric'.padEnd(w[1]!)}  ${'value'.padStart(w[2]!)}  unit`);
  for (const r of rows) console.log(`${r.bench.padEnd(w[0]!)}  ${r.metric.padEnd(w[1]!)}  ${String(r.value).padStart(w[2]!)}  ${r.unit}`);
}
