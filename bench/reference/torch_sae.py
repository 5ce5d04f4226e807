# The PyTorch reference for `npm run bench -- sae`: the same SAE training step as src/sae/train/sae-step.ts
# (SAELens's standard SAE: relu((x - b_dec) W_enc + b_enc), MSE summed over d_in, L1 weighted by ||W_dec[j]||,
# Adam) with torch autograd, on random activations of the same shape. Prints one JSON line.
# usage: torch_sae.py reps d_in d_sae batch l1_coefficient
import json, os, sys, time
import torch

reps, d_in, d_sae, batch = (int(a) for a in sys.argv[1:5])
l1 = float(sys.argv[5])
torch.set_num_threads(int(os.environ.get("TLENS_NUM_THREADS", os.cpu_count())))
torch.manual_seed(0)
W_dec = torch.nn.Parameter(torch.nn.functional.normalize(torch.rand(d_sae, d_in) * 2 - 1, dim=1) * 0.1)
W_enc = torch.nn.Parameter(W_dec.detach().T.clone())
b_enc = torch.nn.Parameter(torch.zeros(d_sae))
b_dec = torch.nn.Parameter(torch.zeros(d_in))
opt = torch.optim.Adam([W_enc, W_dec, b_enc, b_dec], lr=3e-4)
x = torch.randn(batch, d_in)


def step():
    f = torch.relu((x - b_dec) @ W_enc + b_enc)
    x_hat = f @ W_dec + b_dec
    mse = (x_hat - x).pow(2).sum(-1).mean()
    sparsity = (f * W_dec.norm(dim=1)).norm(p=1, dim=-1).mean()
    loss = mse + l1 * sparsity
    opt.zero_grad()
    loss.backward()
    opt.step()
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
