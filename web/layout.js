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

  // Force steps: as many as the budget allows for this size, 20 to 300.
  const m = edges.length;
  const steps = Math.max(20, Math.min(300, Math.floor(budget / (n * 12 + m + 1))));
  const dx = new Float64Array(n), dy = new Float64Array(n);
  const inv = new Float64Array(n);   // 1 / sqrt(degree): hubs move less
  const degree = new Float64Array(n);
  for (const [a, b] of edges) { degree[a]++; degree[b]++; }
  for (let i = 0; i < n; i++) inv[i] = 1 / Math.sqrt(degree[i] || 1);
  const cell = 3;            // grid cell size: repulsion reaches one cell
  const ideal = 1.5;         // spring length
  // The grid as a hash table of cells, filled by counting sort each step:
  // `start[h]..start[h + 1]` indexes `members`, the accounts of bucket h.
  const buckets = 1 << Math.max(8, Math.ceil(Math.log2(n * 2)));
  const mask = buckets - 1;
  const cellOf = new Int32Array(n), start = new Int32Array(buckets + 1), members = new Int32Array(n);
  const hash = (gx, gy) => ((gx * 73856093) ^ (gy * 19349663)) & mask;
  let temperature = 1.0;
  for (let s = 0; s < steps; s++) {
    dx.fill(0); dy.fill(0); start.fill(0);
    for (let i = 0; i < n; i++) {
      const h = hash(Math.floor(pos[2 * i] / cell), Math.floor(pos[2 * i + 1] / cell));
      cellOf[i] = h;
      start[h + 1]++;
    }
    for (let h = 0; h < buckets; h++) start[h + 1] += start[h];
    const fill = start.slice(0, buckets);
    for (let i = 0; i < n; i++) members[fill[cellOf[i]]++] = i;
    for (let i = 0; i < n; i++) {
      const x = pos[2 * i], y = pos[2 * i + 1];
      const gx = Math.floor(x / cell), gy = Math.floor(y / cell);
      for (let ox = -1; ox <= 1; ox++) {
        for (let oy = -1; oy <= 1; oy++) {
          const h = hash(gx + ox, gy + oy);
          // At most 24 of a crowded cell: a dense cell repels as a crowd.
          const end = Math.min(start[h + 1], start[h] + 24);
          for (let k = start[h]; k < end; k++) {
            const j = members[k];
            if (j === i) continue;
            let ddx = x - pos[2 * j], ddy = y - pos[2 * j + 1];
            let d2 = ddx * ddx + ddy * ddy;
            if (d2 > cell * cell) continue;
            if (d2 < 1e-4) { ddx = ((i * 7 + j) % 13 - 6) * 1e-2; ddy = ((i * 3 + j) % 11 - 5) * 1e-2; d2 = 1e-2; }
            dx[i] += ddx / d2; dy[i] += ddy / d2;
          }
        }
      }
    }
    for (let k = 0; k < m; k++) {
      const e = edges[k], a = e[0], b = e[1];
      const ddx = pos[2 * b] - pos[2 * a], ddy = pos[2 * b + 1] - pos[2 * a + 1];
      const d = Math.sqrt(ddx * ddx + ddy * ddy) || 1e-3;
      const f = (d - ideal) / d * 0.1 * Math.min(3, 1 + Math.log(1 + (e[2] || 1)) * 0.3);
      dx[a] += ddx * f * inv[a]; dy[a] += ddy * f * inv[a];
      dx[b] -= ddx * f * inv[b]; dy[b] -= ddy * f * inv[b];
    }
    for (let i = 0; i < n; i++) {
      const len = Math.sqrt(dx[i] * dx[i] + dy[i] * dy[i]);
      const k = len > temperature ? temperature / len : 1;
      pos[2 * i] += dx[i] * k;
      pos[2 * i + 1] += dy[i] * k;
    }
    temperature = Math.max(0.05, temperature * 0.97);
  }
  return pos;
}

// A position near `x, y` for an account added later, the same for the same
// id: a point on a small circle at an angle hashed from the id.
export function nearby(id, x, y, radius = 0.04) {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) { h ^= id.charCodeAt(i); h = Math.imul(h, 16777619); }
  const angle = ((h >>> 0) % 3600) / 3600 * 2 * Math.PI;
  return [x + Math.cos(angle) * radius, y + Math.sin(angle) * radius];
}

// Pushes apart accounts whose discs would overlap on a screen whose smaller
// side is `viewPx` pixels: sigma fits the drawing to the screen, so a disc
// of `size` pixels covers size × (extent / viewPx) units of the layout.
// Stops when nothing overlaps or after `rounds` rounds (a graph too big for
// the screen always overlaps somewhere).
export function separate(pos, sizes, {viewPx = 480, gap = 5, rounds = 40} = {}) {
  const n = sizes.length;
  if (n < 2) return;
  let maxSize = 0;
  for (let i = 0; i < n; i++) maxSize = Math.max(maxSize, sizes[i]);
  for (let round = 0; round < rounds; round++) {
    let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
    for (let i = 0; i < n; i++) {
      minX = Math.min(minX, pos[2 * i]); maxX = Math.max(maxX, pos[2 * i]);
      minY = Math.min(minY, pos[2 * i + 1]); maxY = Math.max(maxY, pos[2 * i + 1]);
    }
    const extent = Math.max(maxX - minX, maxY - minY, 1e-6);
    const unit = extent / viewPx;                // layout units per pixel
    const cell = (2 * maxSize + gap) * unit;
    const grid = new Map();
    for (let i = 0; i < n; i++) {
      const key = Math.floor(pos[2 * i] / cell) * 73856093 ^ Math.floor(pos[2 * i + 1] / cell) * 19349663;
      let bucket = grid.get(key);
      if (!bucket) grid.set(key, bucket = []);
      bucket.push(i);
    }
    let moved = 0;
    for (let i = 0; i < n; i++) {
      const gx = Math.floor(pos[2 * i] / cell), gy = Math.floor(pos[2 * i + 1] / cell);
      for (let ox = -1; ox <= 1; ox++) {
        for (let oy = -1; oy <= 1; oy++) {
          const bucket = grid.get((gx + ox) * 73856093 ^ (gy + oy) * 19349663);
          if (!bucket) continue;
          for (const j of bucket) {
            if (j <= i) continue;
            const need = (sizes[i] + sizes[j] + gap) * unit * 1.05;
            let dx = pos[2 * j] - pos[2 * i], dy = pos[2 * j + 1] - pos[2 * i + 1];
            let d = Math.sqrt(dx * dx + dy * dy);
            if (d >= need) continue;
            if (d < 1e-9) { dx = ((i * 7 + j) % 13) - 6 || 1; dy = ((i * 3 + j) % 11) - 5; d = Math.sqrt(dx * dx + dy * dy); }
            const push = (need - d) / 2 / d;
            pos[2 * i] -= dx * push; pos[2 * i + 1] -= dy * push;
            pos[2 * j] += dx * push; pos[2 * j + 1] += dy * push;
            moved++;
          }
        }
      }
    }
    if (!moved) return;
  }
}

// Scales the drawing into the unit square, the larger side spanning [0, 1]
// and the other centred on 0.5: sigma's own normalisation is then the
// identity, so graph and "framed graph" coordinates agree (until live
// additions widen the drawing).
export function normalize(pos) {
  const n = pos.length / 2;
  if (!n) return;
  let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
  for (let i = 0; i < n; i++) {
    minX = Math.min(minX, pos[2 * i]); maxX = Math.max(maxX, pos[2 * i]);
    minY = Math.min(minY, pos[2 * i + 1]); maxY = Math.max(maxY, pos[2 * i + 1]);
  }
  const span = Math.max(maxX - minX, maxY - minY) || 1;
  const cx = (minX + maxX) / 2, cy = (minY + maxY) / 2;
  for (let i = 0; i < n; i++) {
    pos[2 * i] = 0.5 + (pos[2 * i] - cx) / span;
    pos[2 * i + 1] = 0.5 + (pos[2 * i + 1] - cy) / span;
  }
}
