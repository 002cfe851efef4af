// TCP and HTTP endpoints for the proxy and loopback benchmarks, run as their own processes so the
// bench process never sits on the data path. Each client mode prints one JSON line with its timing.
//
//   node tcp.js serve                       listen on 127.0.0.1, print {"sink","source","http","echo"} ports
//   node tcp.js send PORT BYTES             push "BYTES\n" and BYTES to a sink, wait for its count: {"ms","bytes"}
//   node tcp.js recv PORT BYTES             ask a source for BYTES and read them all: {"ms","bytes"}
//   node tcp.js http PORT SECONDS CONC MODE small GETs for SECONDS with CONC workers, MODE keep-alive|close
//   node tcp.js hold PORT N                 open N echo connections at once, check each echoes, hold them
//                                           until stdin closes: {"ok","failed","ms"}
import net from 'node:net';
import http from 'node:http';

const [mode, ...args] = process.argv.slice(2);
const now = () => Number(process.hrtime.bigint()) / 1e6;
const CHUNK = Buffer.alloc(1024 * 1024);
const done = (obj) => {
  process.stdout.write(JSON.stringify(obj) + '\n');
  process.exit(0);
};
const fail = (msg) => {
  process.stderr.write(`tcp.js ${mode}: ${msg}\n`);
  process.exit(1);
};

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

async function serve() {
  // The sender announces its length first ("N\n"), so the count comes back without waiting for
  // EOF: tunnels that do not carry a half-close (the SDK's) still complete.
  const sink = net.createServer((s) => {
    let head = '';
    let expected = -1;
    let n = 0;
    s.on('error', () => {});
    s.on('data', (c) => {
      if (expected < 0) {
        head += c.toString('latin1');
        const nl = head.indexOf('\n');
        if (nl < 0) return;
        expected = Number(head.slice(0, nl));
        n = head.length - nl - 1;
      } else n += c.length;
      if (n >= expected) s.end(`${n}\n`);
    });
  });
  const source = net.createServer((s) => {
    let line = '';
    s.on('error', () => {});
    s.on('data', function onData(c) {
      line += c.toString();
      if (!line.includes('\n')) return;
      s.off('data', onData);
      let left = Number(line.split('\n')[0]);
      const pump = () => {
        while (left > 0) {
          const piece = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
          left -= piece.length;
          if (!s.write(piece)) return void s.once('drain', pump);
        }
        s.end();
      };
      pump();
    });
  });
  const echo = net.createServer((s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
  const body = Buffer.from('ok\n');
  const web = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
    res.end(body);
  });
  web.keepAliveTimeout = 30_000;
  const ports = { sink: await listen(sink), source: await listen(source), http: await listen(web), echo: await listen(echo) };
  for (const srv of [sink, source, echo, web]) srv.maxConnections = 10_000;
  process.stdout.write(JSON.stringify(ports) + '\n');
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

function send(port, bytes) {
  const start = now();
  const s = net.connect(port, '127.0.0.1');
  s.setNoDelay(true);
  let left = bytes;
  let reply = '';
  s.on('error', (e) => fail(e.message));
  s.on('data', (c) => (reply += c));
  s.on('end', () => {
    const got = Number(reply.trim());
    if (got !== bytes) fail(`sink counted ${reply.trim() || 'nothing'}, sent ${bytes}`);
    done({ ms: now() - start, bytes });
  });
  const pump = () => {
    while (left > 0) {
      const piece = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
      left -= piece.length;
      if (!s.write(piece)) return void s.once('drain', pump);
    }
  };
  s.on('connect', () => {
    s.write(`${bytes}\n`);
    pump();
  });
}

function recv(port, bytes) {
  const start = now();
  const s = net.connect(port, '127.0.0.1');
  let n = 0;
  s.on('error', (e) => fail(e.message));
  s.on('connect', () => s.write(`${bytes}\n`));
  s.on('data', (c) => (n += c.length));
  s.on('end', () => {
    if (n !== bytes) fail(`received ${n} of ${bytes} bytes`);
    done({ ms: now() - start, bytes: n });
  });
}

async function httpLoad(port, seconds, conc, how) {
  const keepAlive = how === 'keep-alive';
  const agent = new http.Agent({ keepAlive, maxSockets: conc });
  const until = now() + seconds * 1000;
  let ok = 0;
  let failed = 0;
  const one = () =>
    new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/', agent, headers: keepAlive ? {} : { connection: 'close' } }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => {
          if (res.statusCode === 200 && body === 'ok\n') ok++;
          else failed++;
          resolve();
        });
        res.on('error', () => {
          failed++;
          resolve();
        });
      });
      req.on('error', () => {
        failed++;
        resolve();
      });
    });
  const start = now();
  await Promise.all(
    Array.from({ length: conc }, async () => {
      while (now() < until) await one();
    }),
  );
  const ms = now() - start;
  agent.destroy();
  done({ ms, ok, failed, rate: ok / (ms / 1000) });
}

async function hold(port, n) {
  const start = now();
  const sockets = [];
  const results = await Promise.all(
    Array.from(
      { length: n },
      (_, i) =>
        new Promise((resolve) => {
          const s = net.connect(port, '127.0.0.1');
          sockets.push(s);
          const msg = `hello ${i}\n`;
          let got = '';
          const timer = setTimeout(() => resolve(false), 30_000);
          s.on('error', () => {
            clearTimeout(timer);
            resolve(false);
          });
          s.on('connect', () => s.write(msg));
          s.on('data', (c) => {
            got += c;
            if (got === msg) {
              clearTimeout(timer);
              resolve(true);
            }
          });
        }),
    ),
  );
  const ok = results.filter(Boolean).length;
  process.stdout.write(JSON.stringify({ ok, failed: n - ok, ms: now() - start }) + '\n');
  process.stdin.resume();
  process.stdin.on('end', () => {
    for (const s of sockets) s.destroy();
    process.exit(0);
  });
}

const num = (s) => {
  const v = Number(s);
  if (!Number.isFinite(v)) fail(`not a number: ${s}`);
  return v;
};

if (mode === 'serve') await serve();
else if (mode === 'send') send(num(args[0]), num(args[1]));
else if (mode === 'recv') recv(num(args[0]), num(args[1]));
else if (mode === 'http') await httpLoad(num(args[0]), num(args[1]), num(args[2]), args[3]);
else if (mode === 'hold') await hold(num(args[0]), num(args[1]));
else fail('usage: serve | send PORT BYTES | recv PORT BYTES | http PORT SECONDS CONC keep-alive|close | hold PORT N');
