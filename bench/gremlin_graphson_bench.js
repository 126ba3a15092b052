// The JavaScript half of bench/gremlin_bench.cpp: the official driver's
// GraphSON 3 reader and writer on the same 1,000-vertex response.
//   NODE_PATH=<dir>/node_modules node gremlin_graphson_bench.js FILE ITERATIONS
// Prints milliseconds per result (read + write).
'use strict';
const fs = require('fs');
const gremlin = require('gremlin');
const text = fs.readFileSync(process.argv[2], 'utf8');
const iters = Number(process.argv[3] || 200);
const reader = new gremlin.structure.io.GraphSONReader();
const writer = new gremlin.structure.io.GraphSONWriter();

function once() {
  // As the driver does with a response: JSON.parse, then the reader on the data.
  const msg = JSON.parse(text);
  const data = reader.read(msg.result.data);
  msg.result.data = data;
  // And writing the values back as GraphSON 3.
  return writer.write(data).length + data.length;
}
for (let i = 0; i < 20; i++) once(); // warm-up
let sink = 0;
const t0 = process.hrtime.bigint();
for (let i = 0; i < iters; i++) sink += once();
const ms = Number(process.hrtime.bigint() - t0) / 1e6 / iters;
process.stdout.write(ms.toFixed(3) + '\n');
if (sink === 42) console.error('');
