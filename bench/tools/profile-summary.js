// Summarise a .cpuprofile (from `node --cpu-prof`): self time per package or file, biggest first.
//   node bench/tools/profile-summary.js FILE.cpuprofile [--by file|package] [--top N]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { by: { type: 'string', default: 'package' }, top: { type: 'string', default: '25' } } });
const profile = JSON.parse(readFileSync(positionals[0], 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map();
const dt = profile.timeDeltas;
for (let i = 0; i < profile.samples.length; i++) self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + (dt[i] ?? 0));
const key = (node) => {
  const url = node.callFrame.url || `(${node.callFrame.functionName || 'native'})`;
  if (values.by === 'file') return url.replace(/^file:\/\//, '');
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  if (/\/(dist|bin)\//.test(url)) return 'ours: ' + url.replace(/.*\/(dist|bin)\//, '$1/');
  return url;
};
const totals = new Map();
let all = 0;
for (const [id, us] of self) {
  const k = key(byId.get(id));
  totals.set(k, (totals.get(k) ?? 0) + us);
  all += us;
}
console.log(`total sampled ${(all / 1000).toFixed(1)} ms`);
for (const [k, us] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) console.log(`${(us / 1000).toFixed(1).padStart(8)} ms  ${k}`);
