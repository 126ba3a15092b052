// The JavaScript half of bench/gremlin_bench.cpp: the official driver's
// GraphSON 3 reader and writer on the same 1,000-vertex response.
//   NODE_PATH=tests/support/js/node_modules node gremlin_graphson_bench.js FILE ITERATIONS BATCHES
// (the driver pinned by tests/support/js/package-lock.json, installed by
// scripts/install-deps.sh)
// Prints one line, each time from the fastest of BATCHES batches of
// ITERATIONS results (as the C++ side): milliseconds per result to read (the driver's own
// GraphSONReader.readResponse on the message bytes, as its connection does
// with every WebSocket message: Buffer to string, JSON.parse, typed values),
// to write (GraphSONWriter.write of the result's values), and the length of
// what the writer wrote.
'use strict';
const fs = require('fs');
const gremlin = require('gremlin');
const bytes = fs.readFileSync(process.argv[2]); // a Buffer, as from the socket
const iters = Number(process.argv[3] || 50);
const batches = Number(process.argv[4] || 9);
const reader = new gremlin.structure.io.GraphSONReader();
const writer = new gremlin.structure.io.GraphSONWriter();

function read() {
  return reader.readResponse(bytes).result.data;
}
function time(f) {
  for (let i = 0; i < 20; i++) f(); // warm-up
  let sink = 0;
  let best = Infinity;
  for (let b = 0; b < batches; b++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iters; i++) sink += f();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6 / iters);
  }
  if (sink === 42) console.error('');
  return best;
}
const data = read();
const readMs = time(() => read().length);
const writeMs = time(() => writer.write(data).length);
process.stdout.write(`${readMs.toFixed(3)} ${writeMs.toFixed(3)} ${writer.write(data).length}\n`);
