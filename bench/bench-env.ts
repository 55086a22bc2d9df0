// Conditions printed next to every figure: Node version, CPU, load, date.
import { cpus, loadavg } from 'node:os';

export function benchConditions(): Record<string, string | number> {
  return {
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    loadavg1: Number(loadavg()[0]!.toFixed(2)),
    date: new Date().toISOString(),
  };
}
