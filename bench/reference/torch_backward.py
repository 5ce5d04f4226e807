"""PyTorch reference for `npm run bench -- backward`: the forward of torch_forward.py on the same shapes, then the
logit-difference metric's backward with the gradient of every cached activation kept (retain_grad, as TL's
run_with_cache(incl_bwd=True) keeps them). W_E and W_pos require grad (so the embedding hooks get gradients, as
in TL); tlens's bench does the same. Prints one JSON line with median milliseconds."""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_forward as ref  # noqa: E402

torch.set_grad_enabled(True)
ref.W_E.requires_grad_(True)
ref.W_pos.requires_grad_(True)
tokens = torch.randint(0, ref.V, (8, 21))


def fwd_bwd():
    cache = {}
    logits = ref.forward(tokens, cache=cache)
    for t in cache.values():
        t.retain_grad()
    metric = (logits[:, -1, 436] - logits[:, -1, 895]).sum()
    metric.backward()
    ref.W_E.grad = None
    ref.W_pos.grad = None
    return {k: t.grad for k, t in cache.items()}


def forward_only():
    with torch.no_grad():
        return ref.forward(tokens)


print(json.dumps({
    "torch": torch.__version__, "threads": torch.get_num_threads(),
    "fwd_bwd_ms": ref.median_ms(fwd_bwd), "forward_ms": ref.median_ms(forward_only),
}))
