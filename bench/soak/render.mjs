// bench/soak/render.mjs — the "Soak" section of docs/benchmarks.md from bench/soak/run.mjs's JSON.
//   node bench/soak/render.mjs <results-soak.json> <report.md>   splices the section into the report
//                                                               (between its soak markers, else
//                                                               before the storage section, else at
//                                                               the end); the rest stays as it is.
import fs from 'node:fs';

export const BEGIN_MARK = '<!-- soak:begin (bench/soak.sh) -->';
export const END_MARK = '<!-- soak:end -->';

export function soakSection(r) {
  const ops = ['sign_up', 'sign_in', 'check', 'refresh', 'sign_out'];
  const head = `| window | errors | ${ops.map((o) => `${o} n / p50 / p99 ms`).join(' | ')} |`;
  const sep = `|---|---|${ops.map(() => '---|').join('')}`;
  const rows = r.windows.map((w) => `| ${w.window} | ${w.errors} | ${ops.map((o) => `${w[o].n} / ${w[o].p50_ms} / ${w[o].p99_ms}`).join(' | ')} |`);
  return `${BEGIN_MARK}
## Soak (one node, SQLite)

\`${r.command}\` (${r.duration_s} s${r.duration_s < 600 ? ', a short run' : ''}): the capacity of the mix (closed loop
at c=${r.concurrency}) was **${r.capacity_ops_s} ops/s**; the soak ran it as an open loop at ${Math.round(r.load * 100)} % of that
(${r.target_ops_s} ops/s targeted, **${r.achieved_ops_s} achieved**, ${r.dropped} arrivals dropped at the in-flight cap) for
${r.ops} operations: **${r.errors} errors**. Mix: email + password sign-up with the email code (test
mode's \`+clerk_test\` address and 424242), password sign-in, \`GET /v1/client\`, token refresh,
sign-out (weights 8/12/50/25/5). ${r.users_created} users created; ${r.signed_in_browsers} signed-in browsers at the end.

- RSS: ${r.rss_mib.start} MiB before, median ${r.rss_mib.median_last_window} MiB in the last window, ${r.rss_mib.max} MiB at most;
  slope of the per-window medians over the second half **${r.rss_mib.slope_per_min} MiB/min** (argon2id takes
  19 MiB per hash in flight, so single samples swing by that much).
- Open descriptors at rest: **${r.fds.at_rest_before} before, ${r.fds.at_rest_after} after**; at most ${r.fds.max_under_load} under load.

${head}
${sep}
${rows.join('\n')}
${END_MARK}
`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [json, report] = process.argv.slice(2);
  if (!json || !report) {
    console.error('usage: node bench/soak/render.mjs <results-soak.json> <report.md>');
    process.exit(2);
  }
  const section = soakSection(JSON.parse(fs.readFileSync(json, 'utf8')));
  const old = fs.existsSync(report) ? fs.readFileSync(report, 'utf8') : '';
  const a = old.indexOf(BEGIN_MARK);
  const b = old.indexOf(END_MARK);
  let out;
  if (a >= 0 && b > a) {
    let end = b + END_MARK.length;
    if (old[end] === '\n') end += 1;
    out = old.slice(0, a) + section + old.slice(end);
  } else {
    const s = old.indexOf('\n<!-- storage:begin');
    out = s >= 0 ? `${old.slice(0, s + 1)}${section}\n${old.slice(s + 1)}` : `${old}\n${section}`;
  }
  fs.writeFileSync(`${report}.tmp`, out);
  fs.renameSync(`${report}.tmp`, report);
  console.error(`bench/soak: wrote the soak section into ${report}`);
}
