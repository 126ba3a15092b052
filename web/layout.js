// A small deterministic layout (docs/web.md, "Layout"): communities on a
// golden-angle spiral, each community's accounts on a spiral of their own
// around its centre (highest score first), then a bounded number of steps
// of a simple force layout: springs along edges, repulsion between accounts
// in the same or a neighbouring grid cell (linear in the graph's size).
// Same input, same picture.

const GOLDEN = Math.PI * (3 - Math.sqrt(5));

// nodes: [{id, community, score}], edges: [[i, j, weight]] (indices).
// Returns Float64Array [x0, y0, x1, y1, …].
export function layout(nodes, edges, {budget = 4e6} = {}) {
  const n = nodes.length;
  const pos = new Float64Array(2 * n);
  if (!n) return pos;

  // Communities, largest first, ids as tie-break.
  const groups = new Map();
  nodes.forEach((node, i) => {
    const c = node.community ?? -1;
    if (!groups.has(c)) groups.set(c, []);
    groups.get(c).push(i);
  });
  const order = [...groups.entries()].sort((a, b) => b[1].length - a[1].length || a[0] - b[0]);
  let ring = 0;
  order.forEach(([, members], k) => {
    members.sort((a, b) => (nodes[b].score || 0) - (nodes[a].score || 0) || (nodes[a].id < nodes[b].id ? -1 : 1));
    const spread = Math.sqrt(members.length) * 1.2;
    // Centres on a spiral whose step grows with the communities drawn so far.
    ring += k === 0 ? 0 : spread + 2;
    const angle = k * GOLDEN;
    const cx = Math.cos(angle) * ring * 0.9, cy = Math.sin(angle) * ring * 0.9;
    members.forEach((i, j) => {
      const r = Math.sqrt(j + 0.5) * 1.2;
      pos[2 * i] = cx + Math.cos(j * GOLDEN) * r;
      pos[2 * i + 1] = cy + Math.sin(j * GOLDEN) * r;
    });
  });

  // Force steps: as many as the budget allows for this size, 30 to 300.
  const m = edges.length;
  const steps = Math.max(30, Math.min(300, Math.floor(budget / (n * 8 + m + 1))));
  const dx = new Float64Array(n), dy = new Float64Array(n);
  const degree = new Float64Array(n);
  for (const [a, b] of edges) { degree[a]++; degree[b]++; }
  const cell = 3;            // grid cell size: repulsion reaches one cell
  const ideal = 1.5;         // spring length
  let temperature = 1.0;
  const grid = new Map();
  for (let s = 0; s < steps; s++) {
    dx.fill(0); dy.fill(0);
    grid.clear();
    for (let i = 0; i < n; i++) {
      const key = Math.floor(pos[2 * i] / cell) * 73856093 ^ Math.floor(pos[2 * i + 1] / cell) * 19349663;
      let bucket = grid.get(key);
      if (!bucket) grid.set(key, bucket = []);
      if (bucket.length < 32) bucket.push(i);  // a dense cell repels as a crowd of 32
    }
    for (let i = 0; i < n; i++) {
      const x = pos[2 * i], y = pos[2 * i + 1];
      const gx = Math.floor(x / cell), gy = Math.floor(y / cell);
      for (let ox = -1; ox <= 1; ox++) {
        for (let oy = -1; oy <= 1; oy++) {
          const bucket = grid.get((gx + ox) * 73856093 ^ (gy + oy) * 19349663);
          if (!bucket) continue;
          for (const j of bucket) {
            if (j === i) continue;
            let ddx = x - pos[2 * j], ddy = y - pos[2 * j + 1];
            let d2 = ddx * ddx + ddy * ddy;
            if (d2 > cell * cell) continue;
            if (d2 < 1e-4) { ddx = ((i * 7 + j) % 13 - 6) * 1e-2; ddy = ((i * 3 + j) % 11 - 5) * 1e-2; d2 = 1e-2; }
            const f = 1 / d2;
            dx[i] += ddx * f; dy[i] += ddy * f;
          }
        }
      }
    }
    for (const [a, b, w] of edges) {
      const ddx = pos[2 * b] - pos[2 * a], ddy = pos[2 * b + 1] - pos[2 * a + 1];
      const d = Math.sqrt(ddx * ddx + ddy * ddy) || 1e-3;
      const f = (d - ideal) / d * 0.1 * Math.min(3, 1 + Math.log(1 + (w || 1)) * 0.3);
      dx[a] += ddx * f / Math.sqrt(degree[a]); dy[a] += ddy * f / Math.sqrt(degree[a]);
      dx[b] -= ddx * f / Math.sqrt(degree[b]); dy[b] -= ddy * f / Math.sqrt(degree[b]);
    }
    for (let i = 0; i < n; i++) {
      const len = Math.sqrt(dx[i] * dx[i] + dy[i] * dy[i]);
      if (len > temperature) { dx[i] *= temperature / len; dy[i] *= temperature / len; }
      pos[2 * i] += dx[i];
      pos[2 * i + 1] += dy[i];
    }
    temperature = Math.max(0.05, temperature * 0.985);
  }
  return pos;
}

// A position near `x, y` for an account added later, the same for the same
// id: a point on a small circle at an angle hashed from the id.
export function nearby(id, x, y, radius = 1.5) {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) { h ^= id.charCodeAt(i); h = Math.imul(h, 16777619); }
  const angle = ((h >>> 0) % 3600) / 3600 * 2 * Math.PI;
  return [x + Math.cos(angle) * radius, y + Math.sin(angle) * radius];
}
