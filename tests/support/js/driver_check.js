// Connects the official Apache TinkerPop JavaScript driver (npm "gremlin")
// to tlflow's Gremlin test server and checks that the driver accepts what the
// server sends: GraphSON 3 and 2 results, 206 partial batches, maps and
// vertices, error statuses, and SASL PLAIN behind a 407 challenge.
//   node driver_check.js <launcher>   (the driver: node_modules next to this file, from scripts/install-deps.sh)
'use strict';
const { spawn } = require('child_process');
const assert = require('assert');
const gremlin = require('gremlin');

const launcher = process.argv[2];
const V3 = 'application/vnd.gremlin-v3.0+json';
const V2 = 'application/vnd.gremlin-v2.0+json';

function startServer(args) {
  return new Promise((resolve, reject) => {
    const proc = spawn(launcher, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.on('data', (d) => {
      out += d.toString();
      const m = out.match(/PORT (\d+)/);
      if (m) resolve({ proc, url: `ws://127.0.0.1:${m[1]}/gremlin` });
    });
    proc.on('error', reject);
    proc.on('exit', (code) => reject(new Error('launcher exited ' + code)));
  });
}

let passed = 0;
async function check(name, fn) {
  await fn();
  passed++;
  console.log('ok   ' + name);
}

async function main() {
  const srv = await startServer([]);
  try {
    for (const mime of [V3, V2]) {
      const client = new gremlin.driver.Client(srv.url, { mimeType: mime, traversalSource: 'g' });
      await client.open();
      await check(`${mime}: a string round trip`, async () => {
        const r = await client.submit('g.inject(x)', { x: 'héllo \u{1F600}' });
        assert.strictEqual(r.first(), 'héllo \u{1F600}');
      });
      await check(`${mime}: 206 partial batches assembled by the driver`, async () => {
        const list = Array.from({ length: 100 }, (_, i) => i);
        const r = await client.submit('g.inject(x).unfold()', { x: list }, { batchSize: 7 });
        assert.deepStrictEqual(r.toArray(), list);
      });
      await check(`${mime}: 204 no content is an empty result`, async () => {
        const r = await client.submit('g.inject(x).unfold()', { x: [] });
        assert.strictEqual(r.length, 0);
      });
      await check(`${mime}: a map`, async () => {
        // GraphSON 2 has no g:Map: the JS driver writes maps as JSON objects there.
        const x = mime === V3 ? new Map([['a', 1], ['b', 'two']]) : { a: 1, b: 'two' };
        const r = await client.submit('g.inject(x)', { x });
        const m = r.first();
        const get = (k) => (m instanceof Map ? m.get(k) : m[k]);
        assert.strictEqual(get('a'), 1);
        assert.strictEqual(get('b'), 'two');
      });
      await check(`${mime}: vertices with properties`, async () => {
        const r = await client.submit('tlflow_test_vertices(n)', { n: 25 }, { batchSize: 10 });
        assert.strictEqual(r.length, 25);
        const v = r.toArray()[3];
        assert.ok(v instanceof gremlin.structure.Vertex, 'a Vertex');
        assert.strictEqual(v.label, 'account');
        assert.strictEqual(Number(v.id), 3);
        const handle = v.properties.find ? v.properties.find((p) => p.key === 'handle')
                                          : v.properties.handle[0];
        assert.strictEqual(handle.value, 'user3');
      });
      await check(`${mime}: a GremlinStore template (vertex count)`, async () => {
        const r = await client.submit("g.V().hasLabel('account').count()");
        assert.strictEqual(Number(r.first()), 0);
      });
      await check(`${mime}: an error status reaches the caller`, async () => {
        await assert.rejects(client.submit('g.V().unknownStep()'), (e) => e.statusCode === 597);
      });
      await client.close();
    }
  } finally {
    srv.proc.kill();
  }

  const auth = await startServer(['--user', 'svc', '--password', 's3cr3t']);
  try {
    await check('SASL PLAIN after a 407 challenge', async () => {
      const client = new gremlin.driver.Client(auth.url, {
        mimeType: V3,
        authenticator: new gremlin.driver.auth.PlainTextSaslAuthenticator('svc', 's3cr3t'),
      });
      const r = await client.submit('g.inject(x)', { x: 5 });
      assert.strictEqual(r.first(), 5);
      const r2 = await client.submit('g.inject(x)', { x: 6 });
      assert.strictEqual(r2.first(), 6);
      await client.close();
    });
    await check('wrong password: 401', async () => {
      const client = new gremlin.driver.Client(auth.url, {
        mimeType: V3,
        authenticator: new gremlin.driver.auth.PlainTextSaslAuthenticator('svc', 'wrong'),
      });
      await assert.rejects(client.submit('g.inject(x)', { x: 5 }), (e) => e.statusCode === 401);
      await client.close().catch(() => {});
    });
  } finally {
    auth.proc.kill();
  }
  console.log(`${passed} checks passed`);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error('FAILED: ' + (e && e.stack ? e.stack : e));
    process.exit(1);
  },
);
