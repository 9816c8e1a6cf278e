// bench/peer/trace.mjs — ONE sign-in flow against an already running IdP + target, every hop
// printed (the harness's bench/trace.mjs with the hooks of lib/flow.mjs). From the harness copy:
//   TARGET=./targets/latchkey.mjs PEER_PORT=8080 node bench/trace-latchkey.mjs [loginHint]
import path from 'node:path';
import { CookieJar, runFlow } from '../lib/flow-latchkey.mjs';

const HERE = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const target = (await import(path.resolve(HERE, process.env.TARGET || './targets/latchkey.mjs'))).default({ port: Number(process.env.PEER_PORT || 8080) });
const IDP = `http://127.0.0.1:${process.env.IDP_PORT || 4000}`;
const jar = new CookieJar();
const r = await runFlow({
  jar, idpOrigin: IDP, trace: true, start: target.start(process.argv[2] || 'trace-user'),
  stopAfter: target.isCallback, verify: { url: target.sessionUrl, ok: target.sessionOk },
  firstUrl: target.firstUrl, after: target.after,
});
console.log(r.hops.map((h, i) => `${i + 1}. ${h}`).join('\n'));
console.log(`ok=${r.ok} ms=${r.ms.toFixed(1)}${r.error ? ` error=${r.error}` : ''}`);
if (r.final?.text) console.log(`session: ${r.final.text.slice(0, 300)}`);
process.exit(r.ok ? 0 : 1);
