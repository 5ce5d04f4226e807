# Independent float32 numpy port of llama2.c's run.c forward for a legacy checkpoint (interleaved rotary on the
# file's own layout, GQA, SwiGLU, RMSNorm), greedy from [BOS]. It produced FIRST_STORY and REF_LOGITS in
# llama2c.test.ts:  python3 test/models/llama2c-reference.py 511  (writes /tmp/ref/llama_ref.json).
# The encode() port below (llama2.c's encode, line by line) produced ENCODINGS. Models are read from ../shared.
import os, struct, sys, json, numpy as np
MODEL = os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../../shared/models/stories260K')
f32 = np.float32
d = open(os.path.join(MODEL, 'stories260K.bin'),'rb').read()
dim, hidden, L, H, Hkv, V, S = struct.unpack('<7i', d[:28])
shared = V > 0; V = abs(V)
a = np.frombuffer(d, dtype='<f4', offset=28)
o = 0
def take(*shape):
    global o
    n = int(np.prod(shape)); x = a[o:o+n].reshape(shape); o += n; return x
hs = dim // H
tok = take(V, dim); rms_att = take(L, dim); wq = take(L, dim, dim); wk = take(L, Hkv*hs, dim); wv = take(L, Hkv*hs, dim)
wo = take(L, dim, dim); rms_ffn = take(L, dim); w1 = take(L, hidden, dim); w2 = take(L, dim, hidden); w3 = take(L, hidden, dim)
rms_final = take(dim); fcr = take(S, hs//2); fci = take(S, hs//2)
wcls = tok if shared else take(V, dim)
assert o == a.size
def rmsnorm(x, w):
    ss = f32(np.sum(x.astype(np.float32)**2, dtype=np.float32) / f32(x.size) + f32(1e-5))
    return (w * (f32(1.0) / np.sqrt(ss)) * x).astype(f32)
kc = np.zeros((L, S, Hkv*hs), f32); vc = np.zeros((L, S, Hkv*hs), f32)
def forward(token, pos):
    x = tok[token].copy()
    for l in range(L):
        xb = rmsnorm(x, rms_att[l])
        q = wq[l] @ xb; k = wk[l] @ xb; v = wv[l] @ xb
        for i in range(0, dim, 2):
            hd = i % hs
            freq = f32(1.0) / f32(np.power(f32(10000.0), f32(hd) / f32(hs)))
            val = f32(pos) * freq
            fcr_, fci_ = f32(np.cos(val)), f32(np.sin(val))
            for vec in ([q, k] if i < Hkv*hs else [q]):
                v0, v1 = vec[i], vec[i+1]
                vec[i] = v0*fcr_ - v1*fci_; vec[i+1] = v0*fci_ + v1*fcr_
        kc[l, pos] = k; vc[l, pos] = v
        out = np.zeros(dim, f32)
        for h in range(H):
            kvh = h // (H // Hkv)
            qh = q[h*hs:(h+1)*hs]
            K = kc[l, :pos+1, kvh*hs:(kvh+1)*hs]
            att = (K @ qh) / f32(np.sqrt(f32(hs)))
            att = np.exp(att - att.max()); att = (att / att.sum()).astype(f32)
            out[h*hs:(h+1)*hs] = att @ vc[l, :pos+1, kvh*hs:(kvh+1)*hs]
        x = x + wo[l] @ out
        xb = rmsnorm(x, rms_ffn[l])
        hb = w1[l] @ xb; hb2 = w3[l] @ xb
        hb = (hb * (f32(1.0) / (f32(1.0) + np.exp(-hb)))) * hb2
        x = x + w2[l] @ hb.astype(f32)
    x = rmsnorm(x, rms_final)
    return wcls @ x
n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
token = 1; toks = [1]; logits_all = []
for pos in range(n):
    lg = forward(token, pos); logits_all.append(lg.tolist())
    token = int(np.argmax(lg)); toks.append(token)
import os; os.makedirs('/tmp/ref', exist_ok=True); json.dump({"tokens": toks, "logits": logits_all}, open('/tmp/ref/llama_ref.json', 'w'))
print(toks)

# ---- llama2.c encode() port (ENCODINGS) ----
import struct as _st
d = open(os.path.join(MODEL, 'tok512.bin'),'rb').read()
off = 4; vocab = []; scores = []
for i in range(512):
    s, l = struct.unpack('<fi', d[off:off+8]); off += 8
    vocab.append(d[off:off+l]); scores.append(s); off += l
lookup = {}
for i, v in enumerate(vocab): lookup.setdefault(v, i)
def encode(text):
    b = text.encode('utf-8'); tokens = []
    if len(b): tokens.append(lookup[b' '])
    buf = b''
    i = 0
    while i < len(b):
        c = b[i]
        if (c & 0xC0) != 0x80: buf = b''
        buf += bytes([c])
        if i + 1 < len(b) and (b[i+1] & 0xC0) == 0x80 and len(buf) < 4:
            i += 1; continue
        if buf in lookup: tokens.append(lookup[buf])
        else: tokens.extend(x + 3 for x in buf)
        buf = b''; i += 1
    while True:
        best, bid, bidx = -1e10, -1, -1
        for j in range(len(tokens) - 1):
            m = vocab[tokens[j]] + vocab[tokens[j+1]]
            if m in lookup and scores[lookup[m]] > best:
                best, bid, bidx = scores[lookup[m]], lookup[m], j
        if bidx == -1: break
        tokens[bidx] = bid; del tokens[bidx+1]
    return tokens
texts = ["", "Once upon a time", "Lily and Tom went to the park.", " leading space", "two  spaces\nnew line\n\nend",
         "Caf\u00e9 na\u00efve \u2014 emoji \U0001F600!", "tabs\tand ~|<>[]\\%", "12345 67.89", "Hello, \"world\"! It's Bob's.", "\u00e2\u20ac\u2122 \u200a x"]
print(json.dumps([[t, encode(t)] for t in texts], ensure_ascii=True))
