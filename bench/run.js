// `npm run bench [-- NAME...]`: run the benchmarks (all, or the named ones) against real engines
// on this machine and write their sections into BENCHMARKS.md. A partial run replaces only its own
// sections, so the file always holds the latest figure of every benchmark.
import { writeFileSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import { ROOT, startEngine, stopAllEngines, killAllEnginesSync, fmt } from './lib.js';

const ALL = ['baselines', 'startup', 'exec', 'proxy', 'attach', 'checkpoint', 'scaling', 'sdk', 'load'];

const names = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = names.filter((n) => !ALL.includes(n));
if (unknown.length) {
  console.error(`unknown benchmark: ${unknown.join(', ')}; choose from: ${ALL.join(', ')}`);
  process.exit(2);
}
const selected = names.length ? ALL.filter((n) => names.includes(n)) : ALL;

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    killAllEnginesSync();
    process.exit(130);
  });
}

let shared;
const ctx = {
  /** One engine shared by the benchmarks that do not need a fresh one. */
  engine: () => (shared ??= startEngine()),
  startEngine,
  log: (msg) => console.error(`  ${msg}`),
};

const machine = machineInfo();
console.error(`bench: ${selected.join(', ')} on ${machine.cores} cores, node ${machine.node}`);
const sections = {};
const t0 = Date.now();
try {
  for (const name of selected) {
    const started = Date.now();
    console.error(`- ${name}`);
    let bench = { name, title: name };
    let result;
    try {
      ({ default: bench } = await import(`./${name}.js`));
      result = await bench.run(ctx);
    } catch (err) {
      // A failing workload is reported, never fatal: the rest of the suite still runs.
      console.error(`  ${name} failed: ${err.stack ?? err}`);
      result = { error: String(err.message ?? err).split('\n')[0] };
    }
    result.seconds = (Date.now() - started) / 1000;
    for (const f of result.figures ?? []) console.error(`  ${describe(f)}`);
    sections[name] = render(bench, result, machine);
  }
} finally {
  await stopAllEngines();
}

writeBenchmarks(sections, machine);
console.error(`bench: done in ${((Date.now() - t0) / 1000).toFixed(0)} s; wrote BENCHMARKS.md`);
process.exit(0);

function machineInfo() {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpu: cpus[0]?.model?.trim() ?? 'unknown',
    memGb: (os.totalmem() / 1024 ** 3).toFixed(1),
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    load: os.loadavg().map((l) => l.toFixed(2)).join(' '),
  };
}

function value(unit, v) {
  if (unit === 'ms') return fmt.ms(v);
  if (unit === 'MB/s') return fmt.mbps(v);
  if (unit === 'req/s') return fmt.rate(v);
  if (unit === 'kB') return fmt.mb(v);
  if (unit === 's') return Number.isFinite(v) ? `${v.toFixed(2)} s` : '-';
  return Number.isFinite(v) ? `${v}` : '-';
}

function verdict(f) {
  const t = f.target;
  if (!t) return '';
  const checks = [];
  if (t.max !== undefined) checks.push({ ok: f.ratio <= t.max, text: `≤ ${t.max}×` });
  if (t.min !== undefined) checks.push({ ok: f.ratio >= t.min, text: `≥ ${t.min}×` });
  if (t.oursMax !== undefined) checks.push({ ok: f.ours <= t.oursMax, text: `≤ ${value(f.unit, t.oursMax)}` });
  if (t.oursMin !== undefined) checks.push({ ok: f.ours >= t.oursMin, text: `≥ ${value(f.unit, t.oursMin)}` });
  if (t.ok !== undefined) checks.push({ ok: t.ok, text: t.text });
  const ok = checks.every((c) => c.ok);
  return `${checks.map((c) => c.text).join(', ')}: ${ok ? 'met' : '**missed**'}`;
}

function describe(f) {
  if (f.skipped) return `${f.name}: skipped (${f.skipped})`;
  const base = f.baselineName ? ` vs ${f.baselineName} ${value(f.unit, f.baseline)} = ${fmt.ratio(f.ratio)}` : '';
  const v = verdict(f);
  return `${f.name}: ${value(f.unit, f.ours)}${base}${v ? ` (${v})` : ''}`;
}

function cell(s) {
  return String(s ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function render(bench, result, m) {
  const lines = [`## ${bench.title} (\`npm run bench -- ${bench.name}\`)`, ''];
  lines.push(`Measured ${m.date} on ${m.cores} cores, node ${m.node}, load at start ${m.load}; took ${result.seconds.toFixed(0)} s.`, '');
  if (bench.description) lines.push(bench.description, '');
  if (result.error) lines.push(`**This benchmark failed to run:** ${cell(result.error)}`, '');
  const figures = result.figures ?? [];
  if (figures.length) {
    lines.push('| figure | ours (median) | baseline | baseline (median) | ratio | target | runs | note |', '|---|---:|---|---:|---:|---|---:|---|');
    for (const f of figures) {
      if (f.skipped) {
        lines.push(`| ${cell(f.name)} | — | | | | | | ${cell(f.skipped)} |`);
        continue;
      }
      lines.push(
        `| ${cell(f.name)} | ${value(f.unit, f.ours)} | ${cell(f.baselineName ?? '')} | ${f.baselineName ? value(f.unit, f.baseline) : ''} | ${f.baselineName ? fmt.ratio(f.ratio) : ''} | ${cell(verdict(f))} | ${f.runs ?? ''} | ${cell(f.note ?? '')} |`,
      );
    }
    lines.push('');
  }
  for (const t of result.tables ?? []) {
    lines.push(`**${t.title}**`, '', `| ${t.head.map(cell).join(' | ')} |`, `|${t.head.map(() => '---').join('|')}|`);
    for (const row of t.rows) lines.push(`| ${row.map(cell).join(' | ')} |`);
    lines.push('');
  }
  for (const n of result.notes ?? []) lines.push(`- ${n}`);
  if (result.notes?.length) lines.push('');
  return lines.join('\n');
}

function writeBenchmarks(fresh, m) {
  const file = join(ROOT, 'BENCHMARKS.md');
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const kept = {};
  for (const name of ALL) {
    const match = new RegExp(`<!-- bench:${name} -->\\n([\\s\\S]*?)<!-- /bench:${name} -->`).exec(old);
    if (match) kept[name] = match[1].trimEnd();
  }
  // A hand-written block (before/after records of changes) survives every run.
  const notes = /<!-- notes -->\n[\s\S]*?<!-- \/notes -->/.exec(old)?.[0];
  const body = ALL.filter((n) => fresh[n] ?? kept[n]).map((n) => `<!-- bench:${n} -->\n${(fresh[n] ?? kept[n]).trimEnd()}\n<!-- /bench:${n} -->`);
  const head = [
    '# Benchmarks',
    '',
    'Written by `npm run bench` (all benchmarks) or `npm run bench -- NAME` (one; the other sections are kept).',
    'Every figure is the median of several runs, measured against its baseline in the same run',
    '(interleaved, so drift in machine load hits both alike); ratio = ours / baseline.',
    'MB/s means 10^6 bytes per second. Peak RSS is VmHWM from /proc/PID/status. Figures are noisy on a shared machine: read the ratios.',
    '',
    `Last written ${m.date} by a run of: ${Object.keys(fresh).join(', ')}; ${m.cores} cores (${m.cpu}), ${m.memGb} GB RAM, ${m.os}, node ${m.node}; load average (1/5/15 min) ${m.load} at the start, ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} at the end.`,
    '',
    ...(notes ? [notes, ''] : []),
  ];
  writeFileSync(file, head.join('\n') + '\n' + body.join('\n\n') + '\n');
}
