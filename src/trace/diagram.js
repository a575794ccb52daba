// src/trace/diagram.js — the space-time diagram viewer embedded by
// `cohort trace diagram` (src/trace/diagram.c) into a self-contained page.
//
// The page carries a small JSON block ("meta": nodes, string tables,
// counts, the initial view) and the events as one gzip-compressed block of
// varint columns in base64 ("data"; layout in docs/trace-tools.md, "page
// format"). This script inflates it with the browser's DecompressionStream,
// decodes the columns into typed arrays (about 100 bytes of memory per
// event) and draws on a canvas: one lifeline per node (incarnations
// marked, down time shaded), message arrows from send to receipt, drops
// marked with a cross (a network loss ends half-way), state changes
// labelled, and every stamp of an event on hover (vc and data texts are
// decoded only then). Only what is visible is drawn, from binary searches
// over events sorted on the current axis; when too many events are visible
// at once they are drawn as per-pixel density ticks (the level of detail of
// a whole run), and zooming in brings back single messages. Two axes: true
// time (tt), or logical order (the longest-path rank over the
// happened-before DAG). Filters: a checkbox per protocol and per kind of
// event, a node list ("1,3,5-9") and a time window. The initial view comes
// from meta.view (`cohort trace diagram --at --zoom --hide`), overridden
// by the URL fragment (#zoom=K&at=S&hide=P&nodes=1,3&kinds=state&from=S&to=S
// &logical). No network access of any kind. When done, window.cohortDiagram
// holds the view and figures (tests read loadMs, events, lanes, drawn).
"use strict";
(async function () {
  const t_start = performance.now();
  const status = document.getElementById("status");
  const D = JSON.parse(document.getElementById("meta").textContent);
  const S = D.strs, N = D.n, LANES = D.nodes.length;
  if (typeof DecompressionStream === "undefined") {
    status.textContent = "this browser cannot decompress the page (no DecompressionStream)";
    return;
  }
  status.textContent = "decoding " + N.toLocaleString() + " events…";
  const RAW = await inflate(document.getElementById("data").textContent);
  const C = decode(RAW);
  async function inflate(b64) {
    const bin = atob(b64), n = bin.length, u8 = new Uint8Array(n);
    for (let i = 0; i < n; i++) u8[i] = bin.charCodeAt(i);
    const stream = new Blob([u8]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }
  // The columns of diagram_enc.c, in its order.
  function decode(buf) {
    let pos = 0;
    function u() {
      let b = buf[pos++];
      if (b < 128) return b;
      let v = b & 127, m = 128;
      for (;;) {
        b = buf[pos++];
        v += (b & 127) * m;
        if (b < 128) return v;
        m *= 128;
      }
    }
    const zz = v => (v % 2 ? -(v + 1) / 2 : v / 2), z = () => zz(u());
    const c = { dt: new Float64Array(N), lane: new Uint32Array(N), type: new Uint8Array(N),
      inc: new Uint32Array(N), rank: new Float64Array(N), send: new Int32Array(N),
      lam: new Float64Array(N), proto: new Uint32Array(N), kind: new Uint32Array(N),
      what: new Uint32Array(N), reason: new Uint32Array(N), peer: new Int32Array(N),
      msgk: new Uint8Array(N), mfrom: new Float64Array(N), minc: new Uint32Array(N),
      mseq: new Float64Array(N), hlcd: new Float64Array(N), hlcc: new Float64Array(N),
      skew: new Float64Array(N), bytes: new Float64Array(N), line: new Float64Array(N),
      vcOff: new Float64Array(N), vcLen: new Uint32Array(N), dOff: new Float64Array(N),
      dLen: new Uint32Array(N) };
    let acc = 0;
    for (let i = 0; i < N; i++) c.dt[i] = acc += z();
    for (let i = 0; i < N; i++) c.lane[i] = u();
    for (let i = 0; i < N; i++) c.type[i] = u();
    for (let i = 0; i < N; i++) c.inc[i] = u();
    acc = 0;
    for (let i = 0; i < N; i++) c.rank[i] = acc += z();
    for (let i = 0; i < N; i++) { const v = u(); c.send[i] = v ? i - zz(v - 1) : -1; }
    const prevLam = new Float64Array(LANES), prevSeq = new Float64Array(LANES);
    for (let i = 0; i < N; i++) {
      const v = u();
      c.lam[i] = v ? (prevLam[c.lane[i]] += zz(v - 1)) : -1;
    }
    for (const col of [c.proto, c.kind, c.what, c.reason]) for (let i = 0; i < N; i++) col[i] = u();
    for (let i = 0; i < N; i++) c.peer[i] = u() - 1;
    for (let i = 0; i < N; i++) c.msgk[i] = u();
    for (let i = 0; i < N; i++) {
      if (c.msgk[i] === 2) { c.mfrom[i] = u(); c.minc[i] = u(); }
      else if (c.msgk[i] === 1) { c.mfrom[i] = D.nodes[c.lane[i]]; c.minc[i] = c.inc[i]; }
    }
    for (let i = 0; i < N; i++) if (c.msgk[i]) c.mseq[i] = (prevSeq[c.lane[i]] += z());
    for (let i = 0; i < N; i++) if (c.lam[i] >= 0) { c.hlcd[i] = z(); c.hlcc[i] = u(); }
    for (let i = 0; i < N; i++) c.skew[i] = z();
    for (let i = 0; i < N; i++) c.bytes[i] = u();
    acc = 0;
    for (let i = 0; i < N; i++) c.line[i] = acc += z();
    for (let i = 0; i < N; i++) c.vcLen[i] = u();
    for (let i = 0; i < N; i++) c.dLen[i] = u();
    for (let i = 0; i < N; i++) { c.vcOff[i] = pos; pos += c.vcLen[i]; }
    for (let i = 0; i < N; i++) { c.dOff[i] = pos; pos += c.dLen[i]; }
    if (pos !== buf.length) throw new Error("diagram: event block of " + buf.length +
      " bytes decoded to " + pos);
    return c;
  }
  const utf8 = new TextDecoder();
  const text = (off, len) => (len ? utf8.decode(RAW.subarray(off, off + len)) : "");
  const dataOf = i => text(C.dOff[i], C.dLen[i]);
  const msgOf = i => (C.msgk[i] ? C.mfrom[i] + "." + D.incs[C.minc[i]] + "." + C.mseq[i] : "");
  const T = ["send", "recv", "deliver", "drop", "timer", "state"];
  const COLOR = ["#1f77b4", "#2ca02c", "#17becf", "#d62728", "#999999", "#9467bd"];
  const MARGIN_L = 96, MARGIN_T = 44, MARGIN_B = 18, DENSE = 12000, LABELS = 4000;
  // state-event colours per protocol (diamond and label); others purple
  const PCOLOR = { sim: "#d62728", fd: "#e6550d", bully: "#6a3d9a", "ring-election": "#6a3d9a",
    mutex: "#238b45", node: "#8c564b" };

  const canvas = document.getElementById("c"), ctx = canvas.getContext("2d");
  const tip = document.getElementById("tip");

  // ---- derived data ------------------------------------------------------
  const sendByMsg = new Map(); // "from.inc.seq>to" -> send index (for drops)
  const recvOf = new Int32Array(N).fill(-1); // send -> one receipt
  for (let i = 0; i < N; i++)
    if (C.type[i] === 0 && C.msgk[i]) sendByMsg.set(msgOf(i) + ">" + C.peer[i], i);
  for (let i = 0; i < N; i++) {
    const s = C.send[i];
    if (s >= 0 && recvOf[s] < 0) recvOf[s] = i;
  }
  function dropSend(i) { // the send a drop refers to, or -1
    if (!C.msgk[i]) return -1;
    const s = sendByMsg.get(msgOf(i) + ">" + D.nodes[C.lane[i]]);
    return s === undefined ? -1 : s;
  }
  // logical position: rank for process events; a network drop sits just
  // after its send
  const rankX = new Float64Array(N);
  let maxRank = 0;
  for (let i = 0; i < N; i++) {
    let r = C.rank[i];
    if (r < 0) {
      const s = dropSend(i);
      r = s >= 0 ? C.rank[s] + 0.5 : 0;
    }
    rankX[i] = r;
    if (r > maxRank) maxRank = r;
  }
  const timeX = C.dt;
  const byTime = sortedBy(timeX), byRank = sortedBy(rankX);
  // Indices ordered by xs (stable): packed keys sorted natively when they
  // fit in a double's 53 bits, a comparator sort otherwise.
  function sortedBy(xs) {
    const idx = new Uint32Array(N);
    let sorted = true;
    for (let i = 0; i < N; i++) { idx[i] = i; if (i && xs[i] < xs[i - 1]) sorted = false; }
    if (sorted) return idx;
    let lo = Infinity, hi = -Infinity, whole = true;
    for (let i = 0; i < N; i++) {
      const v = xs[i] * 2;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
      if (v !== Math.floor(v)) whole = false;
    }
    if (whole && (hi - lo + 1) * N < 9e15) {
      const keys = new Float64Array(N);
      for (let i = 0; i < N; i++) keys[i] = (xs[i] * 2 - lo) * N + i;
      keys.sort();
      for (let k = 0; k < N; k++) idx[k] = keys[k] % N;
      return idx;
    }
    return idx.sort((a, b) => xs[a] - xs[b] || a - b);
  }

  // protocols present, with event counts; hidden[s] = 1 when string index s
  // names a hidden protocol; kinds and lanes hidden likewise
  const protoCount = new Map();
  for (let i = 0; i < N; i++) protoCount.set(C.proto[i], (protoCount.get(C.proto[i]) || 0) + 1);
  const hidden = new Uint8Array(S.length), hiddenType = new Uint8Array(6);
  const hiddenLane = new Uint8Array(LANES), laneRow = new Int32Array(LANES);
  let rows = LANES;
  let visTime = byTime, visRank = byRank;
  const shown = i => !hidden[C.proto[i]] && !hiddenType[C.type[i]] && !hiddenLane[C.lane[i]];
  function refilter() {
    rows = 0;
    for (let l = 0; l < LANES; l++) laneRow[l] = hiddenLane[l] ? -1 : rows++;
    if (!hidden.some(h => h) && !hiddenType.some(h => h) && !hiddenLane.some(h => h)) {
      visTime = byTime;
      visRank = byRank;
      return;
    }
    visTime = byTime.filter(shown);
    visRank = byRank.filter(shown);
  }
  function protoName(p) { return p ? S[p] : "(none)"; }

  // lifeline decorations: incarnation starts and down intervals per lane
  const incStarts = [], downs = [];
  {
    const lastInc = new Map();
    const downSince = new Map();
    for (const i of byTime) {
      const lane = C.lane[i];
      if (C.rank[i] >= 0 && lastInc.get(lane) !== C.inc[i]) {
        if (lastInc.has(lane)) incStarts.push(i);
        lastInc.set(lane, C.inc[i]);
      }
      if (C.type[i] === 5 && S[C.proto[i]] === "sim") {
        const w = S[C.what[i]];
        if (w === "crash") downSince.set(lane, i);
        if (w === "restart" && downSince.has(lane)) {
          downs.push([lane, downSince.get(lane), i]);
          downSince.delete(lane);
        }
      }
    }
    for (const [lane, i] of downSince) downs.push([lane, i, -1]);
  }

  // ---- view ----------------------------------------------------------------
  const view = { mode: "time", scale: 1, off: 0, labels: true };
  let W = 0, H = 0, laneH = 40;
  function X() { return view.mode === "time" ? timeX : rankX; }
  function order() { return view.mode === "time" ? visTime : visRank; }
  function extent() { return view.mode === "time" ? (N ? timeX[byTime[N - 1]] : 1) : maxRank; }
  function sx(v) { return MARGIN_L + (v - view.off) * view.scale; }
  function laneY(l) { return MARGIN_T + laneH * (laneRow[l] + 0.5); }
  function fit() {
    const ext = Math.max(extent(), 1e-9);
    view.scale = (W - MARGIN_L - 20) / ext;
    view.off = 0;
  }
  function resize() {
    const dpr = window.devicePixelRatio || 1;
    W = window.innerWidth;
    H = window.innerHeight - document.getElementById("bar").offsetHeight;
    canvas.width = W * dpr;
    canvas.height = H * dpr;
    canvas.style.width = W + "px";
    canvas.style.height = H + "px";
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    // every shown lane fits: 64 nodes on a laptop screen get ~10 px each
    laneH = Math.max(4, Math.min(80, (H - MARGIN_T - MARGIN_B) / Math.max(rows, 1)));
  }
  // first index k in ord with X[ord[k]] >= v
  function lower(ord, xs, v) {
    let lo = 0, hi = ord.length;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (xs[ord[m]] < v) lo = m + 1; else hi = m;
    }
    return lo;
  }

  // ---- drawing ---------------------------------------------------------------
  // ns as text in the unit of its magnitude, with enough decimals to
  // tell apart values `step` ns apart (axis ticks) or 3 (hover)
  function fmtTime(ns, step) {
    const a = Math.max(Math.abs(ns), step || 0);
    const [u, name] = a >= 1e9 ? [1e9, "s"] : a >= 1e6 ? [1e6, "ms"] : a >= 1e3 ? [1e3, "µs"] : [1, "ns"];
    const dec = step ? Math.max(0, Math.min(9, -Math.floor(Math.log10(step / u) + 1e-9))) : 3;
    return (ns / u).toFixed(u === 1 ? 0 : dec) + name;
  }
  function drawAxis(v0, v1) {
    const span = v1 - v0, target = span / Math.max(2, (W - MARGIN_L) / 110);
    let step = Math.pow(10, Math.floor(Math.log10(Math.max(target, 1e-9))));
    for (const m of [1, 2, 5, 10]) if (step * m >= target) { step *= m; break; }
    if (view.mode === "rank") step = Math.max(1, Math.round(step));
    ctx.fillStyle = "#333";
    ctx.strokeStyle = "#e6e6e6";
    ctx.font = "11px sans-serif";
    ctx.textAlign = "center";
    for (let v = Math.ceil(v0 / step) * step; v <= v1; v += step) {
      const x = sx(v);
      ctx.beginPath();
      ctx.moveTo(x, MARGIN_T - 8);
      ctx.lineTo(x, H - MARGIN_B);
      ctx.stroke();
      ctx.fillText(view.mode === "time" ? fmtTime(v, step) : String(Math.round(v)), x, MARGIN_T - 12);
    }
    ctx.textAlign = "left";
    ctx.fillText(view.mode === "time" ? "true time (tt) →" : "happened-before rank →", 6, 14);
  }
  function drawLanes() {
    ctx.font = "bold 12px sans-serif";
    const every = Math.ceil(13 / laneH); // name every k-th lane when lanes are thin
    ctx.font = (laneH < 14 ? "" : "bold ") + Math.min(12, Math.max(8, laneH)) + "px sans-serif";
    for (let l = 0; l < LANES; l++) {
      if (laneRow[l] < 0) continue;
      const y = laneY(l);
      ctx.strokeStyle = "#444";
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      ctx.moveTo(MARGIN_L, y);
      ctx.lineTo(W - 4, y);
      ctx.stroke();
      ctx.fillStyle = "#222";
      if (laneRow[l] % every === 0) ctx.fillText("node " + D.nodes[l], 8, y + 4);
    }
    ctx.lineWidth = 1;
    const xs = X();
    for (const [lane, a, b] of downs) { // down time: a grey band
      if (laneRow[lane] < 0) continue;
      const x0 = Math.max(MARGIN_L, sx(xs[a])), x1 = b < 0 ? W : Math.min(W, sx(xs[b]));
      if (x1 < MARGIN_L || x0 > W) continue;
      ctx.fillStyle = "rgba(214,39,40,0.10)";
      ctx.fillRect(x0, laneY(lane) - laneH * 0.3, x1 - x0, laneH * 0.6);
    }
    ctx.font = "10px sans-serif";
    for (const i of incStarts) {
      const x = sx(xs[i]), y = laneY(C.lane[i]);
      if (x < MARGIN_L || x > W || laneRow[C.lane[i]] < 0) continue;
      ctx.strokeStyle = "#ff7f0e";
      ctx.lineWidth = 3;
      ctx.beginPath();
      ctx.moveTo(x, y - laneH * 0.35);
      ctx.lineTo(x, y + laneH * 0.35);
      ctx.stroke();
      ctx.fillStyle = "#ff7f0e";
      ctx.fillText("inc " + D.incs[C.inc[i]], x + 3, y - laneH * 0.25);
    }
    ctx.lineWidth = 1;
  }
  function cross(x, y, r) {
    ctx.beginPath();
    ctx.moveTo(x - r, y - r);
    ctx.lineTo(x + r, y + r);
    ctx.moveTo(x + r, y - r);
    ctx.lineTo(x - r, y + r);
    ctx.stroke();
  }
  function arrow(x0, y0, x1, y1, color) {
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    ctx.beginPath();
    ctx.moveTo(x0, y0);
    ctx.lineTo(x1, y1);
    ctx.stroke();
    const a = Math.atan2(y1 - y0, x1 - x0), h = 6;
    ctx.beginPath();
    ctx.moveTo(x1, y1);
    ctx.lineTo(x1 - h * Math.cos(a - 0.4), y1 - h * Math.sin(a - 0.4));
    ctx.lineTo(x1 - h * Math.cos(a + 0.4), y1 - h * Math.sin(a + 0.4));
    ctx.fill();
  }
  // the message drawn into event i (a receipt or a drop), if any
  function drawMessageTo(i, xs) {
    const t = C.type[i];
    if ((t === 1 || t === 2) && C.send[i] >= 0) {
      const s = C.send[i];
      if (laneRow[C.lane[s]] < 0 || laneRow[C.lane[i]] < 0) return;
      arrow(sx(xs[s]), laneY(C.lane[s]), sx(xs[i]), laneY(C.lane[i]),
        t === 2 ? "rgba(23,190,207,0.7)" : "rgba(31,119,180,0.55)");
    } else if (t === 3) {
      const s = dropSend(i);
      const yd = laneY(C.lane[i]), x = sx(xs[i]);
      let y = yd;
      ctx.strokeStyle = "rgba(214,39,40,0.7)";
      if (s >= 0 && laneRow[C.lane[s]] >= 0) {
        const ys = laneY(C.lane[s]);
        if (C.rank[i] < 0) y = (ys + yd) / 2; // lost by the network: half-way
        ctx.setLineDash([4, 3]);
        ctx.beginPath();
        ctx.moveTo(sx(xs[s]), ys);
        ctx.lineTo(x, y);
        ctx.stroke();
        ctx.setLineDash([]);
      } else if (C.rank[i] < 0) {
        y = yd - laneH * 0.3;
      }
      ctx.lineWidth = 2;
      cross(x, y, 5);
      ctx.lineWidth = 1;
    }
  }
  // ---- state labels --------------------------------------------------------
  // A number field of an event's data (raw JSON text), as a string, or null.
  function field(data, key) {
    const m = new RegExp('"' + key + '":(-?[0-9.]+|\\[[0-9,]*\\])').exec(data);
    return m ? m[1].replace(/[\[\]]/g, "") : null;
  }
  // epochs are round << 32 | node: show the round
  function round(data) {
    const r = field(data, "round");
    if (r !== null) return r;
    const ep = field(data, "epoch");
    if (ep === null) return null;
    const v = Number(ep);
    return v >= 4294967296 ? String(Math.floor(v / 4294967296)) : ep;
  }
  // Fencing tokens are large numbers (past 2^53): a grant is labelled with
  // its token's ordinal among every token granted in the trace, "tok #12",
  // so that the labels visibly increase; hover shows the token itself.
  const tokenOrd = new Map();
  {
    const toks = new Set();
    for (let i = 0; i < N; i++)
      if (C.type[i] === 5 && S[C.what[i]] === "lock_grant") {
        const t = field(dataOf(i), "token");
        if (t !== null && /^[0-9]+$/.test(t)) toks.add(t);
      }
    const big = [...toks].map(BigInt).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    big.forEach((t, k) => tokenOrd.set(t.toString(), k + 1));
  }
  function shortTok(tok) {
    return tokenOrd.has(tok) ? "#" + tokenOrd.get(tok) : tok.length > 4 ? "…" + tok.slice(-3) : tok;
  }
  // [text, importance 0 (least) .. 3] for state event i, cached
  const labelCache = new Map();
  function labelOf(i) {
    let l = labelCache.get(i);
    if (!l) labelCache.set(i, l = makeLabel(i));
    return l;
  }
  function makeLabel(i) {
    const w = C.what[i] ? S[C.what[i]] : "state", d = dataOf(i), p = S[C.proto[i]];
    const peer = field(d, "peer"), tok = field(d, "token"), r = round(d);
    switch (w) {
      case "crash": case "restart": return [w, 3];
      case "partition": return ["partition " + (field(d, "out") || ""), 3];
      case "heal": return ["heal", 3];
      case "suspect": return ["suspect " + (peer || ""), 3];
      case "recover": return ["recover " + (peer || ""), 2];
      case "leader":
        return ["leader " + (field(d, "leader") || "") + (r !== null ? "@" + r : ""), 3];
      case "election": return ["election" + (r !== null ? " @" + r : ""), 1];
      case "stepdown": return ["step down", 2];
      case "lock_grant": return ["grant" + (tok ? " tok " + shortTok(tok) : ""), 2];
      case "lock_release": return ["release", 0];
      case "lock_request": return ["request", 0];
      case "coordinator": return ["coordinator" + (r !== null ? " @" + r : ""), 2];
      case "recovered":
        return ["recovered" + (field(d, "max_token") ? " max tok " +
          shortTok(field(d, "max_token")) : ""), 2];
      case "peer_restart": return ["peer " + (peer || "") + " restarted", 1];
      case "stale": return ["stale from " + (field(d, "from") || ""), 0];
      default: return [w + (peer !== null ? " " + peer : ""), p === "sim" ? 3 : 1];
    }
  }
  // Greedy placement: most important first, left to right; a label goes
  // above its lane, else below, else is skipped. occ marks taken pixel
  // columns per (lane, row).
  function drawLabels(cands) {
    if (!cands.length) return;
    cands.sort((a, b) => b[2] - a[2] || a[0] - b[0]);
    const cols = Math.ceil(W) + 1, occ = new Uint8Array(cols * LANES * 2);
    ctx.font = "11px sans-serif";
    for (const [x, i, imp, text] of cands) {
      const lane = C.lane[i];
      if (x < MARGIN_L - 4) continue;
      const w = Math.ceil(ctx.measureText(text).width) + 6;
      const x0 = Math.max(0, Math.floor(x - 3)), x1 = Math.min(cols, x0 + w);
      for (let row = 0; row < 2; row++) {
        const base = (laneRow[lane] * 2 + row) * cols;
        let free = true;
        for (let c = x0; c < x1 && free; c++) free = !occ[base + c];
        if (!free) continue;
        occ.fill(1, base + x0, base + x1);
        const y = laneY(lane) + (row ? 16 : -9);
        ctx.fillStyle = "rgba(255,255,255,0.8)";
        ctx.fillRect(x0, y - 10, x1 - x0 - 2, 13);
        ctx.fillStyle = imp ? PCOLOR[S[C.proto[i]]] || "#5b3a8c" : "#777";
        ctx.fillText(text, x0 + 2, y);
        break;
      }
    }
  }
  function drawEvent(i, xs, labels) {
    const t = C.type[i], x = sx(xs[i]), y = laneY(C.lane[i]);
    if (t === 3 && C.rank[i] < 0) return; // drawn as a cross by drawMessageTo
    ctx.fillStyle = COLOR[t];
    if (t === 5) {
      const [text, imp] = labelOf(i), r = Math.min(imp >= 2 ? 6 : 4, laneH / 2);
      ctx.fillStyle = PCOLOR[S[C.proto[i]]] || COLOR[5];
      ctx.beginPath();
      ctx.moveTo(x, y - r);
      ctx.lineTo(x + r, y);
      ctx.lineTo(x, y + r);
      ctx.lineTo(x - r, y);
      ctx.fill();
      if (imp === 3) {
        ctx.strokeStyle = "#000";
        ctx.stroke();
      }
      if (labels) labels.push([x, i, imp, text]);
    } else if (t === 3) {
      ctx.strokeStyle = COLOR[3];
      ctx.lineWidth = 2;
      cross(x, y, 5);
      ctx.lineWidth = 1;
    } else {
      ctx.beginPath();
      ctx.arc(x, y, t === 4 ? 2.5 : 3.5, 0, 2 * Math.PI);
      ctx.fill();
    }
  }
  function drawDense(ord, lo, hi, xs) {
    const cols = Math.ceil(W), seen = new Uint8Array(cols * LANES);
    for (let k = lo; k < hi; k++) {
      const i = ord[k], c = Math.floor(sx(xs[i])), l = C.lane[i];
      if (c < 0 || c >= cols || seen[l * cols + c]) continue;
      seen[l * cols + c] = 1;
      ctx.fillStyle = COLOR[C.type[i]];
      ctx.fillRect(c, laneY(l) - laneH * 0.3, 1, laneH * 0.6);
    }
    // the most telling state changes (crash, leader, suspect, ...) stay
    // visible as marked diamonds on top of the density
    const labels = view.labels ? [] : null;
    for (let k = lo; k < hi; k++) {
      const i = ord[k];
      if (C.type[i] === 5 && labelOf(i)[1] === 3) drawEvent(i, xs, labels);
    }
    if (labels) drawLabels(labels);
  }
  let pending = false, lastInView = 0;
  function draw() {
    pending = false;
    ctx.clearRect(0, 0, W, H);
    const xs = X(), ord = order();
    const v0 = view.off - (MARGIN_L - 10) / view.scale, v1 = view.off + (W - MARGIN_L) / view.scale;
    drawAxis(Math.max(view.off, 0), v1);
    drawLanes();
    const lo = lower(ord, xs, v0), hi = lower(ord, xs, v1 + 1e-9 + 8 / view.scale);
    const n = hi - lo;
    ctx.save();
    ctx.beginPath();
    ctx.rect(MARGIN_L - 8, 0, W, H);
    ctx.clip();
    if (n > DENSE) {
      drawDense(ord, lo, hi, xs);
    } else {
      for (let k = lo; k < hi; k++) { // arrows into and out of the view
        const i = ord[k];
        drawMessageTo(i, xs);
        const r = recvOf[i];
        if (r >= 0 && (xs[r] > v1 || xs[r] < v0)) drawMessageTo(r, xs);
      }
      const labels = view.labels && n <= LABELS ? [] : null;
      for (let k = lo; k < hi; k++) drawEvent(ord[k], xs, labels);
      if (labels) drawLabels(labels);
    }
    ctx.restore();
    lastInView = n;
    status.textContent = n.toLocaleString() + " of " + N.toLocaleString() + " events in view" +
      (ord.length < N ? " (" + (N - ord.length).toLocaleString() + " hidden)" : "") +
      (n > DENSE ? " (density view: zoom in for messages)" : "") +
      (view.mode === "rank" ? " · logical axis" : " · true-time axis");
  }
  function redraw() {
    if (!pending) {
      pending = true;
      requestAnimationFrame(draw);
    }
  }

  // ---- hover -------------------------------------------------------------------
  function esc(s) { return String(s).replace(/[&<>]/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;" })[c]); }
  function describe(i) {
    const rows = [];
    const add = (k, v) => rows.push("<tr><td>" + k + "</td><td>" + esc(v) + "</td></tr>");
    add("event", T[C.type[i]] + (C.proto[i] ? " · " + S[C.proto[i]] : ""));
    add("node", D.nodes[C.lane[i]] + " inc " + D.incs[C.inc[i]]);
    add("tt", fmtTime(C.dt[i]) + " after start");
    if (C.skew[i]) add("lt − tt", fmtTime(C.skew[i]));
    if (C.lam[i] >= 0) add("lamport", C.lam[i]);
    if (C.lam[i] >= 0) add("hlc", "[lt" + (C.hlcd[i] ? (C.hlcd[i] > 0 ? " + " : " − ") +
      fmtTime(Math.abs(C.hlcd[i])) : "") + ", " + C.hlcc[i] + "]");
    if (C.vcLen[i]) add("vc", text(C.vcOff[i], C.vcLen[i]));
    if (C.rank[i] >= 0) add("hb rank", C.rank[i]);
    if (C.kind[i]) add("kind", S[C.kind[i]]);
    if (C.peer[i] >= 0) add(C.type[i] === 0 ? "to" : "from", "node " + C.peer[i]);
    if (C.msgk[i]) add("msg", msgOf(i));
    if (C.bytes[i]) add("bytes", C.bytes[i]);
    if (C.reason[i]) add("reason", S[C.reason[i]]);
    if (C.what[i]) add("what", S[C.what[i]]);
    if (C.dLen[i]) add("data", dataOf(i));
    add("line", C.line[i]);
    return "<table>" + rows.join("") + "</table>";
  }
  function pick(mx, my) {
    const xs = X(), ord = order();
    const v = view.off + (mx - MARGIN_L) / view.scale, r = 7 / view.scale;
    let best = -1, bd = 64;
    const hi = lower(ord, xs, v + r);
    for (let k = lower(ord, xs, v - r), c = 0; k < hi && c < 5000; k++, c++) {
      const i = ord[k];
      const dx = sx(xs[i]) - mx, dy = laneY(C.lane[i]) - my, d = dx * dx + dy * dy;
      if (d < bd) { bd = d; best = i; }
    }
    return best;
  }
  canvas.addEventListener("mousemove", ev => {
    if (drag) {
      view.off = drag.off - (ev.clientX - drag.x) / view.scale;
      redraw();
      return;
    }
    const rect = canvas.getBoundingClientRect(), i = pick(ev.clientX - rect.left, ev.clientY - rect.top);
    if (i < 0) { tip.style.display = "none"; return; }
    tip.innerHTML = describe(i);
    tip.style.display = "block";
    tip.style.left = Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 4) + "px";
    tip.style.top = Math.min(ev.clientY + 14, window.innerHeight - tip.offsetHeight - 4) + "px";
  });

  // ---- zoom, scroll, controls ----------------------------------------------
  let drag = null;
  canvas.addEventListener("mousedown", ev => { drag = { x: ev.clientX, off: view.off }; });
  window.addEventListener("mouseup", () => { drag = null; });
  function zoomAt(mx, factor) {
    const v = view.off + (mx - MARGIN_L) / view.scale;
    view.scale *= factor;
    view.off = v - (mx - MARGIN_L) / view.scale;
    redraw();
  }
  canvas.addEventListener("wheel", ev => {
    ev.preventDefault();
    const rect = canvas.getBoundingClientRect();
    if (ev.shiftKey || Math.abs(ev.deltaX) > Math.abs(ev.deltaY)) {
      view.off += (ev.deltaX || ev.deltaY) / view.scale;
      redraw();
    } else {
      zoomAt(ev.clientX - rect.left, Math.exp(-ev.deltaY * 0.002));
    }
  }, { passive: false });
  window.addEventListener("keydown", ev => {
    const step = (W - MARGIN_L) * 0.2 / view.scale;
    if (ev.key === "+" || ev.key === "=") zoomAt(W / 2, 1.5);
    else if (ev.key === "-") zoomAt(W / 2, 1 / 1.5);
    else if (ev.key === "ArrowRight") { view.off += step; redraw(); }
    else if (ev.key === "ArrowLeft") { view.off -= step; redraw(); }
    else if (ev.key === "f") { fit(); redraw(); }
    else if (ev.key === "l") setMode(view.mode === "time" ? "rank" : "time");
  });
  function setMode(m) {
    // keep the event at the centre of the view in the centre
    const xs = X(), ord = order(), v = view.off + (W / 2 - MARGIN_L) / view.scale;
    const k = Math.min(lower(ord, xs, v), ord.length - 1);
    const frac = view.scale * extent() / (W - MARGIN_L);
    view.mode = m;
    fit();
    view.scale *= Math.max(frac, 1e-12);
    if (k >= 0) view.off = X()[ord[k]] - (W / 2 - MARGIN_L) / view.scale;
    document.getElementById("mode").textContent =
      m === "time" ? "axis: true time" : "axis: logical (happened-before)";
    redraw();
  }
  document.getElementById("mode").addEventListener("click", () => setMode(view.mode === "time" ? "rank" : "time"));
  document.getElementById("fit").addEventListener("click", () => { fit(); redraw(); });
  document.getElementById("zin").addEventListener("click", () => zoomAt(W / 2, 2));
  document.getElementById("zout").addEventListener("click", () => zoomAt(W / 2, 0.5));
  document.getElementById("lbl").addEventListener("change", ev => { view.labels = ev.target.checked; redraw(); });
  window.addEventListener("resize", () => { resize(); redraw(); });
  // initial view: "zoom=K&at=S&hide=P,Q&logical&nodes=..&kinds=..&from=S&to=S"
  // from the page (D.view), each key overridden by the URL fragment; a
  // fragment naming zoom or at sets both (#zoom=1 is the whole run)
  function parseView(str) {
    const o = {};
    for (const part of String(str || "").replace(/^#/, "").split("&")) {
      if (!part) continue;
      const eq = part.indexOf("=");
      o[eq < 0 ? part : part.slice(0, eq)] = eq < 0 ? "" : decodeURIComponent(part.slice(eq + 1));
    }
    return o;
  }
  const fromPage = parseView(D.view), fromUrl = parseView(location.hash);
  if ("zoom" in fromUrl || "at" in fromUrl) { delete fromPage.zoom; delete fromPage.at; }
  const init = Object.assign(fromPage, fromUrl);
  for (const name of (init.hide || "").split(",")) {
    const k = S.indexOf(name === "(none)" ? "" : name);
    if (name && k >= 0) hidden[k] = 1;
  }
  // "1,3,5-9" -> lanes shown (empty: all); unknown ids are ignored
  function setNodes(list) {
    const want = new Set();
    for (const part of String(list || "").split(",")) {
      const m = /^\s*(\d+)\s*(?:-\s*(\d+))?\s*$/.exec(part);
      if (!m) continue;
      for (let v = +m[1]; v <= +(m[2] || m[1]) && v - m[1] < 100000; v++) want.add(v);
    }
    for (let l = 0; l < LANES; l++) hiddenLane[l] = want.size && !want.has(D.nodes[l]) ? 1 : 0;
    if (!hiddenLane.some(h => !h)) hiddenLane.fill(0); // nothing matched: show all
  }
  setNodes(init.nodes);
  document.getElementById("nodes").value = init.nodes || "";
  if (init.kinds) for (let k = 0; k < 6; k++) hiddenType[k] = init.kinds.split(",").includes(T[k]) ? 0 : 1;
  for (const cb of document.querySelectorAll("#kinds input")) {
    const k = +cb.dataset.k;
    cb.checked = !hiddenType[k];
    cb.addEventListener("change", () => { hiddenType[k] = cb.checked ? 0 : 1; refilter(); redraw(); });
  }
  refilter();
  { // one checkbox per protocol, with its colour and event count
    const box = document.getElementById("protos");
    for (const [p, count] of [...protoCount].sort((a, b) => b[1] - a[1])) {
      const lab = document.createElement("label"), cb = document.createElement("input");
      cb.type = "checkbox";
      cb.checked = !hidden[p];
      cb.addEventListener("change", () => { hidden[p] = cb.checked ? 0 : 1; refilter(); redraw(); });
      const sw = document.createElement("span");
      sw.style.background = PCOLOR[S[p]] || COLOR[5];
      lab.title = count.toLocaleString() + " events";
      lab.append(cb, sw, protoName(p));
      box.append(lab);
    }
  }
  // the time window [from, to] in seconds after the start fills the view
  function setWindow(from, to) {
    if (!(from >= 0)) from = 0;
    if (!(to > from)) to = extent() / 1e9;
    if (view.mode !== "time") setMode("time");
    view.scale = (W - MARGIN_L - 20) / Math.max((to - from) * 1e9, 1);
    view.off = from * 1e9;
    redraw();
  }
  document.getElementById("nodes").addEventListener("change", ev => {
    setNodes(ev.target.value); refilter(); resize(); redraw();
  });
  document.getElementById("go").addEventListener("click", () =>
    setWindow(parseFloat(document.getElementById("from").value),
      parseFloat(document.getElementById("to").value)));
  resize();
  fit();
  if ("logical" in init) setMode("rank");
  const zoom = parseFloat(init.zoom), at = parseFloat(init.at);
  if (zoom > 0 && isFinite(zoom)) zoomAt(MARGIN_L, zoom);
  if (at >= 0 && isFinite(at)) view.off = at * (view.mode === "time" ? 1e9 : 1); // s or rank
  if ("from" in init || "to" in init) setWindow(parseFloat(init.from), parseFloat(init.to));
  draw();
  const loadMs = performance.now() - t_start;
  window.cohortDiagram = { view, redraw, events: N, lanes: LANES, loadMs,
    shownLanes: () => rows, inView: () => lastInView, setWindow, setNodes: l => {
      setNodes(l); refilter(); resize(); draw(); },
    hidden: () => [...protoCount.keys()].filter(p => hidden[p]).map(protoName) };
  document.body.dataset.ready = "1"; // for tests and the console
})().catch(err => {
  document.getElementById("status").textContent = "cannot show this diagram: " + err.message;
  document.body.dataset.ready = "error";
});
