// bench/passwords/splice.mjs — puts the "Password sign-in" section (bench/passwords/render.mjs) from
// OUT/results-passwords.json into an existing docs/benchmarks.md: between the passwords markers if
// the report has them, else before the storage section (its begin marker), else before the
// hand-written profiles ("## What bounds each figure"), else at the end. The rest of the report is
// left byte for byte.
//   node bench/passwords/splice.mjs <OUT dir> <report.md>
import fs from 'node:fs';
import path from 'node:path';
import { passwordSection, BEGIN_MARK, END_MARK } from './render.mjs';

const [dir, report] = process.argv.slice(2);
if (!dir || !report) {
  console.error('usage: node bench/passwords/splice.mjs <results dir> <report.md>');
  process.exit(2);
}
const doc = JSON.parse(fs.readFileSync(path.join(dir, 'results-passwords.json'), 'utf8'));
const section = passwordSection(doc);
const old = fs.existsSync(report) ? fs.readFileSync(report, 'utf8') : '';
let out;
const a = old.indexOf(BEGIN_MARK);
const b = old.indexOf(END_MARK);
if (a >= 0 && b > a) {
  let end = b + END_MARK.length;
  if (old[end] === '\n') end += 1;
  out = old.slice(0, a) + section + old.slice(end);
} else {
  const s = old.indexOf('\n<!-- storage:begin');
  const p = s >= 0 ? s : old.indexOf('\n## What bounds each figure');
  out = p >= 0 ? `${old.slice(0, p + 1)}${section}\n${old.slice(p + 1)}` : `${old}${old.endsWith('\n') || !old ? '' : '\n'}\n${section}`;
}
fs.writeFileSync(`${report}.tmp`, out);
fs.renameSync(`${report}.tmp`, report);
console.error(`bench/passwords: wrote the password section into ${report}`);
