"""PyTorch reference for `npm run bench -- forward`: a GPT-2-small-shaped model with random weights, computed the
way TransformerLens computes it (einsum attention per head, hooks' activations kept for the cache run).
Prints one JSON line with median milliseconds."""
import json
import math
import os
import statistics
import sys
import time

import torch

# the same number of threads tlens uses (its pool: TLENS_NUM_THREADS or every core)
torch.set_num_threads(int(os.environ.get("TLENS_NUM_THREADS") or os.cpu_count()))
torch.manual_seed(0)
torch.set_grad_enabled(False)
L, D, H, DH, M, V, CTX = 12, 768, 12, 64, 3072, 50257, 1024
reps = int(sys.argv[1]) if len(sys.argv) > 1 else 3


def rnd(*shape):
    return torch.randn(*shape) * 0.02


W_E, W_pos = rnd(V, D), rnd(CTX, D)
blocks = [dict(W_Q=rnd(H, D, DH), W_K=rnd(H, D, DH), W_V=rnd(H, D, DH), W_O=rnd(H, DH, D), b_Q=rnd(H, DH), b_K=rnd(H, DH),
               b_V=rnd(H, DH), b_O=rnd(D), W_in=rnd(D, M), b_in=rnd(M), W_out=rnd(M, D), b_out=rnd(D)) for _ in range(L)]
W_U, b_U = rnd(D, V), rnd(V)


def ln_pre(x, cache, name):
    x = x - x.mean(-1, keepdim=True)
    scale = (x.pow(2).mean(-1, keepdim=True) + 1e-5).sqrt()
    out = x / scale
    if cache is not None:
        cache[name + ".hook_scale"] = scale
        cache[name + ".hook_normalized"] = out
    return out


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def forward(tokens, last_only=False, cache=None):
    def hook(name, x):
        if cache is not None:
            cache[name] = x
        return x
    b, p = tokens.shape
    resid = hook("hook_embed", W_E[tokens]) + hook("hook_pos_embed", W_pos[:p].unsqueeze(0).expand(b, p, D))
    mask = torch.triu(torch.ones(p, p, dtype=torch.bool), 1)
    for l, w in enumerate(blocks):
        n = f"blocks.{l}"
        resid = hook(n + ".hook_resid_pre", resid)
        x = ln_pre(resid, cache, n + ".ln1")
        q = hook(n + ".attn.hook_q", torch.einsum("bpm,hmd->bphd", x, w["W_Q"]) + w["b_Q"])
        k = hook(n + ".attn.hook_k", torch.einsum("bpm,hmd->bphd", x, w["W_K"]) + w["b_K"])
        v = hook(n + ".attn.hook_v", torch.einsum("bpm,hmd->bphd", x, w["W_V"]) + w["b_V"])
        scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(DH)
        scores = hook(n + ".attn.hook_attn_scores", scores.masked_fill(mask, float("-inf")))
        pattern = hook(n + ".attn.hook_pattern", scores.softmax(-1))
        z = hook(n + ".attn.hook_z", torch.einsum("bhqk,bkhd->bqhd", pattern, v))
        attn_out = hook(n + ".hook_attn_out", torch.einsum("bqhd,hdm->bqm", z, w["W_O"]) + w["b_O"])
        resid = hook(n + ".hook_resid_mid", resid + attn_out)
        x = ln_pre(resid, cache, n + ".ln2")
        pre = hook(n + ".mlp.hook_pre", x @ w["W_in"] + w["b_in"])
        post = hook(n + ".mlp.hook_post", gelu_new(pre))
        resid = hook(n + ".hook_resid_post", resid + hook(n + ".hook_mlp_out", post @ w["W_out"] + w["b_out"]))
    if last_only:
        resid = resid[:, -1:]
    x = ln_pre(resid, cache, "ln_final")
    return x @ W_U + b_U


def median_ms(fn):
    fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


if __name__ == "__main__":
    big = torch.randint(0, V, (100, 21))
    small = torch.randint(0, V, (1, 21))
    print(json.dumps({
        "torch": torch.__version__, "threads": torch.get_num_threads(),
        "full_100x21_ms": median_ms(lambda: forward(big)),
        "last_pos_100x21_ms": median_ms(lambda: forward(big, last_only=True)),
        "full_1x21_ms": median_ms(lambda: forward(small)),
        "cache_100x21_ms": median_ms(lambda: forward(big, cache={})),
    }))
