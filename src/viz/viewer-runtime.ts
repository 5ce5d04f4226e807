// The browser side of tlens's viewers: plain DOM + canvas, no dependencies, inlined into every page that shows a
// viewer. `window.tlensViz.render(element, viewer)` draws one. Written as ES2017 in a string so that it ships in the
// HTML as is (no bundler). Interaction mirrors CircuitsVis: hover a head to focus it (click to lock), hover a token
// to see what it attends to (or what attends to it), hover a cell of the large pattern for its value.

export const VIEWER_CSS = `
.tlv { font: 13px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; margin: 8px 0 16px; }
.tlv h4 { margin: 4px 0 8px; font-size: 15px; }
.tlv-heads { display: flex; flex-wrap: wrap; gap: 6px; margin-bottom: 8px; }
.tlv-thumb { border: 2px solid #ddd; border-radius: 4px; padding: 2px; cursor: pointer; text-align: center; font-size: 11px; background: #fff; }
.tlv-thumb.tlv-focus { border-color: #2c6fbb; }
.tlv-thumb.tlv-locked { border-color: #d2412f; }
.tlv-thumb canvas { display: block; }
.tlv-main { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
.tlv-big { position: relative; }
.tlv-big canvas { display: block; }
.tlv-tip { position: absolute; pointer-events: none; background: rgba(30,30,30,.9); color: #fff; padding: 3px 6px; border-radius: 3px; font-size: 12px; white-space: pre; display: none; z-index: 2; }
.tlv-tokens { max-width: 760px; line-height: 1.9; }
.tlv-tok { white-space: pre; border: 1px solid #eee; border-radius: 3px; padding: 1px 1px; margin: 0 1px; cursor: default; display: inline-block; line-height: 1.3; }
.tlv-tok.tlv-src { outline: 2px solid #222; }
.tlv-ctrl { margin: 0 0 6px; font-size: 12px; color: #444; }
.tlv-ctrl select, .tlv-ctrl input { font-size: 12px; }
.tlv-legend { font-size: 11px; color: #666; margin-top: 4px; }
.tlv table { border-collapse: collapse; font-size: 12px; }
.tlv td, .tlv th { border: 1px solid #e3e3e3; padding: 2px 5px; vertical-align: top; }
.tlv th { background: #f6f6f6; }
.tlv .tlv-ctx { color: #999; }
`;

export const VIEWER_JS = String.raw`
(function () {
  "use strict";
  if (window.tlensViz) return;
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function showTok(t) { return String(t).replace(/\n/g, "\\n").replace(/\t/g, "\\t"); }
  function fmt(v) { return v === null || v === undefined ? "n/a" : Math.abs(v) >= 100 || (Math.abs(v) < 0.001 && v !== 0) ? v.toExponential(2) : v.toFixed(3); }
  // value -> rgba colour: blue for positive, red for negative, alpha by magnitude
  function colour(v, lo, hi, pos, neg) {
    if (v === null || v === undefined || isNaN(v)) return "rgba(0,0,0,0)";
    var a;
    if (v >= 0) { a = hi > 0 ? Math.min(1, v / hi) : 0; return "rgba(" + pos + "," + a.toFixed(3) + ")"; }
    a = lo < 0 ? Math.min(1, v / lo) : 0;
    return "rgba(" + neg + "," + a.toFixed(3) + ")";
  }
  var POS = "37,99,235", NEG = "220,38,38";
  function textColour(v, lo, hi) {
    var a = v >= 0 ? (hi > 0 ? v / hi : 0) : (lo < 0 ? v / lo : 0);
    return a > 0.6 ? "#fff" : "#111";
  }
  function range(pattern) {
    var lo = 0, hi = 0;
    for (var h = 0; h < pattern.length; h++) for (var i = 0; i < pattern[h].length; i++) for (var j = 0; j < pattern[h][i].length; j++) {
      var v = pattern[h][i][j];
      if (v === null) continue;
      if (v > hi) hi = v;
      if (v < lo) lo = v;
    }
    return [lo, hi];
  }
  function drawGrid(canvas, grid, size, lo, hi, hover) {
    var n = grid.length, m = n ? grid[0].length : 0;
    var dpr = window.devicePixelRatio || 1;
    canvas.width = size * dpr; canvas.height = size * dpr;
    canvas.style.width = size + "px"; canvas.style.height = size + "px";
    var ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, size, size);
    var cw = size / Math.max(m, 1), ch = size / Math.max(n, 1);
    for (var i = 0; i < n; i++) for (var j = 0; j < m; j++) {
      ctx.fillStyle = colour(grid[i][j], lo, hi, POS, NEG);
      ctx.fillRect(j * cw, i * ch, Math.ceil(cw), Math.ceil(ch));
    }
    if (hover) {
      ctx.strokeStyle = "rgba(0,0,0,.6)"; ctx.lineWidth = 1;
      if (hover.row !== undefined) ctx.strokeRect(0.5, hover.row * ch + 0.5, size - 1, ch - 1);
      if (hover.col !== undefined) ctx.strokeRect(hover.col * cw + 0.5, 0.5, cw - 1, size - 1);
    }
    return { cw: cw, ch: ch };
  }

  // ---------------------------------------------------------------- attention (heads / patterns)
  function attention(root, v) {
    var p = v.props, tokens = p.tokens, att = p.attention, names = p.headNames;
    var H = att.length, n = tokens.length;
    var r = range(att);
    var lo = p.minValue !== undefined && p.minValue !== null ? p.minValue : r[0];
    var hi = p.maxValue !== undefined && p.maxValue !== null ? p.maxValue : (r[1] <= 1 && r[0] >= 0 && !p.valueWeighted ? 1 : r[1]);
    var bigMode = v.tlensViewer === "attention-heads";
    var state = { focus: 0, locked: null, tok: null, tokLocked: null, dir: "dest" };
    root.setAttribute("data-focused-head", "0");
    var heads = el("div", "tlv-heads");
    var thumbs = [];
    var tsize = Math.max(48, Math.min(100, 900 / Math.max(H, 1) - 12));
    for (var h = 0; h < H; h++) {
      (function (h) {
        var t = el("div", "tlv-thumb");
        t.setAttribute("data-head", String(h));
        var c = el("canvas");
        drawGrid(c, att[h], tsize, lo, hi);
        t.appendChild(c);
        t.appendChild(el("div", "", names[h]));
        t.addEventListener("mouseenter", function () { if (state.locked === null) setFocus(h); });
        t.addEventListener("mouseleave", function () { if (state.locked === null) setFocus(0 <= state.last ? state.last : 0); });
        t.addEventListener("click", function () {
          if (state.locked === h) { state.locked = null; } else { state.locked = h; }
          state.last = h; setFocus(h);
        });
        thumbs.push(t); heads.appendChild(t);
      })(h);
    }
    state.last = 0;
    var ctrl = el("div", "tlv-ctrl");
    var sel = el("select");
    [["dest", "Destination \u2192 Source (what the hovered token attends to)"], ["src", "Source \u2190 Destination (what attends to the hovered token)"]].forEach(function (o) {
      var op = el("option", "", o[1]); op.value = o[0]; sel.appendChild(op);
    });
    sel.addEventListener("change", function () { state.dir = sel.value; paintTokens(); });
    ctrl.appendChild(document.createTextNode("Tokens: ")); ctrl.appendChild(sel);
    var main = el("div", "tlv-main");
    var big = el("div", "tlv-big");
    var title = el("h4", "tlv-head-title", names[0]);
    var canvas = el("canvas");
    var tip = el("div", "tlv-tip");
    var label = 0;
    for (var i = 0; i < n; i++) label = Math.max(label, showTok(tokens[i]).length);
    var lab = Math.min(110, 8 + label * 6.5);
    var bsize = bigMode ? Math.max(200, Math.min(520, n * 26)) : Math.max(160, Math.min(300, n * 16));
    big.appendChild(title); big.appendChild(canvas); big.appendChild(tip);
    var tokWrap = el("div", "tlv-tokens");
    var toks = [];
    for (var k = 0; k < n; k++) {
      (function (k) {
        var s = el("span", "tlv-tok", showTok(tokens[k]));
        s.setAttribute("data-token", String(k));
        s.addEventListener("mouseenter", function () { if (state.tokLocked === null) { state.tok = k; paintTokens(); paintBig(); } });
        s.addEventListener("mouseleave", function () { if (state.tokLocked === null) { state.tok = null; paintTokens(); paintBig(); } });
        s.addEventListener("click", function () { state.tokLocked = state.tokLocked === k ? null : k; state.tok = state.tokLocked; paintTokens(); paintBig(); });
        toks.push(s); tokWrap.appendChild(s);
      })(k);
    }
    var legend = el("div", "tlv-legend", "colour: attention " + (p.valueWeighted ? "\u00d7 \u2016value\u2016 " : "") + "(max " + fmt(hi) + (lo < 0 ? ", min " + fmt(lo) : "") + "); hover or click a head, hover or click a token");
    var right = el("div");
    right.appendChild(ctrl); right.appendChild(tokWrap); right.appendChild(legend);
    main.appendChild(big); main.appendChild(right);
    root.appendChild(heads); root.appendChild(main);

    var hoverCell = null;
    function paintBig() {
      var grid = att[state.focus];
      var dpr = window.devicePixelRatio || 1;
      var W = lab + bsize + 4, Hh = lab + bsize + 4;
      canvas.width = W * dpr; canvas.height = Hh * dpr; canvas.style.width = W + "px"; canvas.style.height = Hh + "px";
      var ctx = canvas.getContext("2d"); ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, W, Hh);
      var cell = bsize / Math.max(n, 1);
      for (var i = 0; i < n; i++) for (var j = 0; j < n; j++) {
        ctx.fillStyle = colour(grid[i][j], lo, hi, POS, NEG);
        ctx.fillRect(lab + j * cell, lab + i * cell, Math.ceil(cell), Math.ceil(cell));
      }
      ctx.strokeStyle = "#ccc"; ctx.strokeRect(lab + 0.5, lab + 0.5, bsize, bsize);
      var fs = Math.max(7, Math.min(12, cell * 0.8));
      ctx.font = fs + "px system-ui, sans-serif"; ctx.fillStyle = "#333";
      if (cell >= 6) {
        ctx.textAlign = "right"; ctx.textBaseline = "middle";
        for (var a = 0; a < n; a++) ctx.fillText(showTok(tokens[a]).slice(0, 16), lab - 4, lab + (a + 0.5) * cell);
        ctx.save();
        for (var b = 0; b < n; b++) {
          ctx.save(); ctx.translate(lab + (b + 0.5) * cell, lab - 4); ctx.rotate(-Math.PI / 2);
          ctx.textAlign = "left"; ctx.fillText(showTok(tokens[b]).slice(0, 16), 0, 0); ctx.restore();
        }
        ctx.restore();
      }
      var row = hoverCell ? hoverCell[0] : (state.tok !== null && state.dir === "dest" ? state.tok : null);
      var col = hoverCell ? hoverCell[1] : (state.tok !== null && state.dir === "src" ? state.tok : null);
      ctx.strokeStyle = "rgba(0,0,0,.7)";
      if (row !== null) ctx.strokeRect(lab + 0.5, lab + row * cell + 0.5, bsize - 1, cell - 1);
      if (col !== null) ctx.strokeRect(lab + col * cell + 0.5, lab + 0.5, cell - 1, bsize - 1);
    }
    canvas.addEventListener("mousemove", function (e) {
      var rect = canvas.getBoundingClientRect();
      var x = e.clientX - rect.left - lab, y = e.clientY - rect.top - lab;
      var cell = bsize / Math.max(n, 1);
      var i = Math.floor(y / cell), j = Math.floor(x / cell);
      if (x < 0 || y < 0 || i >= n || j >= n) { hoverCell = null; tip.style.display = "none"; paintBig(); return; }
      hoverCell = [i, j];
      tip.textContent = names[state.focus] + "\n" + showTok(tokens[i]) + " (" + i + ") \u2192 " + showTok(tokens[j]) + " (" + j + ")\n" + fmt(att[state.focus][i][j]);
      tip.style.display = "block";
      tip.style.left = (e.clientX - rect.left + 12) + "px"; tip.style.top = (e.clientY - rect.top + 32) + "px";
      paintBig();
    });
    canvas.addEventListener("mouseleave", function () { hoverCell = null; tip.style.display = "none"; paintBig(); });
    function paintTokens() {
      var grid = att[state.focus];
      for (var k = 0; k < n; k++) {
        var val = null;
        if (state.tok !== null) val = state.dir === "dest" ? grid[state.tok][k] : grid[k][state.tok];
        toks[k].style.background = val === null ? "transparent" : colour(val, lo, hi, POS, NEG);
        toks[k].style.color = val === null ? "#111" : textColour(val, lo, hi);
        toks[k].title = val === null ? "" : names[state.focus] + ": " + fmt(val);
        toks[k].classList.toggle("tlv-src", state.tok === k);
      }
    }
    function setFocus(h) {
      state.focus = h;
      root.setAttribute("data-focused-head", String(h));
      for (var i = 0; i < thumbs.length; i++) {
        thumbs[i].classList.toggle("tlv-focus", i === h);
        thumbs[i].classList.toggle("tlv-locked", i === state.locked);
      }
      title.textContent = names[h] + (state.locked === h ? " (locked: click again to unlock)" : "");
      paintBig(); paintTokens();
    }
    setFocus(0);
  }

  // ---------------------------------------------------------------- coloured tokens
  function coloredTokens(root, v) {
    var p = v.props, tokens = p.tokens, vals = p.values;
    var lo = p.minValue, hi = p.maxValue;
    var wrap = el("div", "tlv-tokens");
    for (var k = 0; k < tokens.length; k++) {
      var s = el("span", "tlv-tok", showTok(tokens[k]));
      s.setAttribute("data-token", String(k));
      s.style.background = colour(vals[k], lo, hi, POS, NEG);
      s.style.color = vals[k] === null ? "#111" : textColour(vals[k], lo, hi);
      s.title = showTok(tokens[k]) + " (" + k + "): " + fmt(vals[k]);
      wrap.appendChild(s);
    }
    root.appendChild(wrap);
    root.appendChild(el("div", "tlv-legend", "range " + fmt(lo) + " \u2026 " + fmt(hi) + " (red negative, blue positive)"));
  }

  // ---------------------------------------------------------------- top-k tokens
  function topk(root, v) {
    var p = v.props, samples = p.tokens, act = p.activations, k = p.k;
    var L = act[0].length, N = act[0][0][0] ? act[0][0][0].length : 0;
    var ctrl = el("div", "tlv-ctrl");
    var selL = el("select"), selN = el("select");
    for (var l = 0; l < L; l++) { var o = el("option", "", p.firstDimensionName + " " + p.firstDimensionLabels[l]); o.value = String(l); selL.appendChild(o); }
    var per = 8;
    for (var s = 0; s < N; s += per) { var q = el("option", "", p.thirdDimensionName + "s " + s + "\u2013" + Math.min(N - 1, s + per - 1)); q.value = String(s); selN.appendChild(q); }
    ctrl.appendChild(selL); ctrl.appendChild(document.createTextNode(" ")); ctrl.appendChild(selN);
    var table = el("table");
    root.appendChild(ctrl); root.appendChild(table);
    function cellHtml(entry) {
      var td = el("td");
      var tokens = samples[entry.s];
      var ctx = el("span", "tlv-ctx", tokens.slice(Math.max(0, entry.p - 3), entry.p).map(showTok).join(""));
      var tok = el("b", "", showTok(tokens[entry.p]));
      tok.style.background = colour(entry.v, entry.lo, entry.hi, POS, NEG);
      var after = el("span", "tlv-ctx", tokens.slice(entry.p + 1, entry.p + 2).map(showTok).join(""));
      td.appendChild(ctx); td.appendChild(tok); td.appendChild(after);
      td.appendChild(el("div", "tlv-ctx", fmt(entry.v)));
      return td;
    }
    function paint() {
      var l = +selL.value, start = +selN.value, end = Math.min(N, start + per);
      table.textContent = "";
      var head = el("tr"); head.appendChild(el("th", "", ""));
      for (var j = start; j < end; j++) head.appendChild(el("th", "", p.thirdDimensionName + " " + j));
      table.appendChild(head);
      var cols = [];
      var gl = 0, gh = 0;
      for (var j2 = start; j2 < end; j2++) {
        var all = [];
        for (var si = 0; si < samples.length; si++) for (var pi = 0; pi < samples[si].length; pi++) {
          var val = act[si][l][pi][j2];
          if (val === null) continue;
          all.push({ s: si, p: pi, v: val });
          if (val > gh) gh = val; if (val < gl) gl = val;
        }
        all.sort(function (a, b) { return b.v - a.v; });
        cols.push({ top: all.slice(0, k), bottom: all.slice(-k).reverse() });
      }
      [["top", "Top"], ["bottom", "Bottom"]].forEach(function (part) {
        for (var r = 0; r < k; r++) {
          var tr = el("tr");
          tr.appendChild(el("th", "", r === 0 ? part[1] + " " + k : ""));
          cols.forEach(function (c) {
            var e = c[part[0]][r];
            if (!e) { tr.appendChild(el("td")); return; }
            e.lo = gl; e.hi = gh; tr.appendChild(cellHtml(e));
          });
          table.appendChild(tr);
        }
      });
    }
    selL.addEventListener("change", paint); selN.addEventListener("change", paint);
    paint();
  }

  var renderers = { "attention-heads": attention, "attention-patterns": attention, "colored-tokens": coloredTokens, "topk-tokens": topk };
  window.tlensViz = {
    render: function (root, viewer) {
      root.classList.add("tlv");
      root.setAttribute("data-viewer", viewer.tlensViewer);
      if (viewer.title) root.appendChild(el("h4", "", viewer.title));
      var f = renderers[viewer.tlensViewer];
      if (!f) throw new Error("tlens: unknown viewer " + viewer.tlensViewer);
      var body = el("div"); root.appendChild(body);
      f(body, viewer);
      root.setAttribute("data-rendered", "1");
    },
  };
})();
`;
