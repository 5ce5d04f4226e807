# The PyTorch reference for `npm run bench -- sae`: the same SAE training steps as src/sae/train/sae-step.ts with
# torch autograd and torch.optim.Adam, on random activations of the same shape. Prints one JSON line.
#   l1:   SAELens's standard SAE: relu((x - b_dec) W_enc + b_enc), MSE summed over d_in, L1 weighted by ||W_dec[j]||
#   topk: relu of each row's k largest pre-activations, MSE only; decoder rows at unit norm (their gradients projected
#         off the rows before Adam, the rows renormalised after: SAELens's remove_gradient_parallel_to_decoder_directions
#         and set_decoder_norm_to_unit_norm), as trainSae's decoderNorm "unit" (its TopK default)
# usage: torch_sae.py reps d_in d_sae batch l1_coefficient|topk:K
import json, os, sys, time
import torch

reps, d_in, d_sae, batch = (int(a) for a in sys.argv[1:5])
mode = sys.argv[5]
topk = int(mode.split(":")[1]) if mode.startswith("topk:") else 0
l1 = 0.0 if topk else float(mode)
torch.set_num_threads(int(os.environ.get("TLENS_NUM_THREADS", os.cpu_count())))
torch.manual_seed(0)
W_dec = torch.nn.Parameter(torch.nn.functional.normalize(torch.rand(d_sae, d_in) * 2 - 1, dim=1) * (1.0 if topk else 0.1))
W_enc = torch.nn.Parameter(W_dec.detach().T.clone())
b_enc = torch.nn.Parameter(torch.zeros(d_sae))
b_dec = torch.nn.Parameter(torch.zeros(d_in))
opt = torch.optim.Adam([W_enc, W_dec, b_enc, b_dec], lr=3e-4)
x = torch.randn(batch, d_in)


def step():
    pre = (x - b_dec) @ W_enc + b_enc
    if topk:
        vals, idx = pre.topk(topk, dim=-1)
        f = torch.zeros_like(pre).scatter(-1, idx, torch.relu(vals))
    else:
        f = torch.relu(pre)
    x_hat = f @ W_dec + b_dec
    loss = (x_hat - x).pow(2).sum(-1).mean()
    if not topk:
        loss = loss + l1 * (f * W_dec.norm(dim=1)).norm(p=1, dim=-1).mean()
    opt.zero_grad()
    loss.backward()
    if topk:
        with torch.no_grad():
            W_dec.grad -= (W_dec.grad * W_dec).sum(-1, keepdim=True) * W_dec
    opt.step()
    if topk:
        with torch.no_grad():
            W_dec.div_(W_dec.norm(dim=-1, keepdim=True))
    return (f > 0).float().sum(0)  # firing counts, as the tlens step keeps them


for _ in range(3):
    step()
times = []
for _ in range(reps):
    t = time.perf_counter()
    step()
    times.append((time.perf_counter() - t) * 1000)
times.sort()
ms = times[len(times) // 2]
print(json.dumps({"step_ms": ms, "tokens_per_s": batch / ms * 1000, "threads": torch.get_num_threads(), "torch": torch.__version__}))
