// Node.js peer of the side-by-side server benchmark.
//
// The ordinary `http` module hello world: one process, Node's defaults
// (keep-alive, pipelined requests answered in order, Date header, a 5 s
// keep-alive timeout), except the listen backlog, which is the same for
// every peer. `GET /` and `GET /plaintext` answer `Hello, World!`
// (text/plain); anything else 404.
//
// Usage: node server.js [--host 127.0.0.1] [--port 8080]. Runs until killed.
'use strict';

const http = require('node:http');

// Listen backlog, the same for every peer (Node's default is 511).
const BACKLOG = 4096;

function parseArgs(argv) {
  const opts = { host: '127.0.0.1', port: 8080 };
  for (let i = 0; i < argv.length; i += 2) {
    const [name, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${name} needs a value`);
    if (name === '--host') opts.host = value;
    else if (name === '--port') opts.port = Number(value);
    else throw new Error(`unknown argument ${name}`);
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
    throw new Error('--port must be 0..65535');
  }
  return opts;
}

let opts;
try {
  opts = parseArgs(process.argv.slice(2));
} catch (err) {
  console.error(`node server: ${err.message}\nusage: node server.js [--host H] [--port P]`);
  process.exit(2);
}

const HELLO = Buffer.from('Hello, World!');

const server = http.createServer((req, res) => {
  if (req.url === '/' || req.url === '/plaintext') {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': HELLO.length });
    res.end(HELLO);
  } else {
    res.writeHead(404, { 'Content-Type': 'text/plain', 'Content-Length': 9 });
    res.end('Not Found');
  }
});

server.on('error', (err) => {
  console.error(`node server: ${err.message}`);
  process.exit(1);
});
server.listen({ host: opts.host, port: opts.port, backlog: BACKLOG });
