#!/usr/bin/env python3
"""PyTorch references for scripts/device/check.sh, measured in the same run as nodetrain's CUDA
kernels: torch.mm at N = 1024/4096/8192 in FP32, TF32 and BF16; fused Adam on 100M parameters
(torch.optim.Adam(fused=True)); the 784-2048-2048-10 MLP training step at batch 1024 in eager mode
and under torch.compile. Random data (never zeros); medians of CUDA-event timings after warm-up.
Writes one JSON object to argv[1]."""
import json, sys, time
import torch

def timed(fn, warmup=3, reps=10):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record(); fn(); b.record(); b.synchronize()
        ts.append(a.elapsed_time(b))
    ts.sort()
    return ts[len(ts) // 2]

out = {"torch": torch.__version__, "device": torch.cuda.get_device_name(0), "gemm": {}, "adam": {}, "mlp": {}}
for n in (1024, 4096, 8192):
    for prec in ("fp32", "tf32", "bf16"):
        torch.backends.cuda.matmul.allow_tf32 = prec == "tf32"
        dt = torch.bfloat16 if prec == "bf16" else torch.float32
        a = torch.randn(n, n, device="cuda", dtype=dt); b = torch.randn(n, n, device="cuda", dtype=dt)
        out["gemm"][f"{prec}_{n}"] = timed(lambda: torch.mm(a, b))
torch.backends.cuda.matmul.allow_tf32 = False
N = 100_000_000
p = torch.nn.Parameter(torch.randn(N, device="cuda")); p.grad = torch.randn(N, device="cuda")
opt = torch.optim.Adam([p], lr=1e-3, fused=True)
out["adam"]["torch_fused_ms"] = timed(opt.step, 3, 20)
src = torch.randn(N * 7 // 2, device="cuda"); dst = torch.empty_like(src)
out["adam"]["copy_ms"] = timed(lambda: dst.copy_(src), 3, 20)
del p, opt, src, dst
torch.cuda.empty_cache()

def mlp_rate(compiled, tf32):
    torch.backends.cuda.matmul.allow_tf32 = tf32
    model = torch.nn.Sequential(torch.nn.Linear(784, 2048), torch.nn.ReLU(), torch.nn.Linear(2048, 2048),
                                torch.nn.ReLU(), torch.nn.Linear(2048, 10)).cuda()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    x = torch.rand(1024, 784, device="cuda"); y = torch.randint(0, 10, (1024,), device="cuda")
    lossf = torch.nn.CrossEntropyLoss()
    def step():
        opt.zero_grad(set_to_none=True)
        loss = lossf(model(x), y); loss.backward(); opt.step()
    fn = torch.compile(step) if compiled else step
    steps = 20
    ms = timed(lambda: [fn() for _ in range(steps)], warmup=2, reps=3) / steps
    return 1024 / (ms / 1000)

for tf32 in (False, True):
    key = "tf32" if tf32 else "fp32"
    out["mlp"][f"eager_{key}_samples_per_s"] = mlp_rate(False, tf32)
    try:
        out["mlp"][f"compile_{key}_samples_per_s"] = mlp_rate(True, tf32)
    except Exception as e:  # torch.compile needs a working Triton/compiler toolchain
        out["mlp"][f"compile_{key}_error"] = str(e)[:300]
json.dump(out, open(sys.argv[1], "w"), indent=1)
print("torch references done")
