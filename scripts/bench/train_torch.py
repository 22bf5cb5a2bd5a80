#!/usr/bin/env python3
"""PyTorch's side of the training benchmark.

scripts/bench/train.js starts this file once per thread count, with an interpreter that has torch,
so that PyTorch runs in its own process and reports its own peak RSS. It mirrors
scripts/bench/train-worker.js: the same data (read from the files train.js writes), models,
initialisers, optimizer settings, batch sizes, epochs and timing rules, and writes its result as
JSON in the same shape.

Usage: python3 scripts/bench/train_torch.py <config.json> <result.json>
  config: { lib: 'torch', threads, dataFile, testFile, synthFile, synth: { name: { offset, length,
            dtype, shape } }, quick, only: [workload keys] | None, reps: { mlp, small, linreg },
            ompEnv: { OMP_WAIT_POLICY | GOMP_SPINCOUNT: value } | None }

Workloads:
  mlpAdam / mlpSgd  784-256-256-10 (relu, relu, softmax cross-entropy), batch 128, Adam 1e-3 /
                    SGD 0.01: samples/s, and accuracy on the held-out digits
  mlpAdamBf16       mlpAdam under torch.autocast('cpu', dtype=torch.bfloat16)
  small             4-16-3 (relu, softmax) on 150 iris-like samples, batch 16, 100 epochs: ms/step
  linreg            1 -> 1 dense, y = 1.5x - 2 + noise, SGD 0.01, batch 10, 1000 steps: total ms
Kernels are Glorot-uniform, biases zero; the softmax is fused into the cross-entropy
(F.cross_entropy on logits), as PyTorch code writes it. Each epoch draws a fresh shuffle.
"""
import json
import os
import resource
import statistics
import struct
import sys
import time

config_file, result_file = sys.argv[1], sys.argv[2]
with open(config_file, encoding='utf-8') as fh:
    cfg = json.load(fh)
threads = int(cfg['threads'])
# Thread counts for every pool torch may use (OpenMP, MKL, OpenBLAS), set before torch loads them
# (train.js sets them in the environment too), and the OpenMP waiting train.js chose for the
# workloads of this process (ompEnv; see runTorch there).
for var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS'):
    os.environ.setdefault(var, str(threads))
for var, value in (cfg.get('ompEnv') or {}).items():
    os.environ[var] = str(value)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

torch.set_num_threads(threads)

ADAM = {'lr': 1e-3, 'betas': (0.9, 0.999), 'eps': 1e-7}  # tfjs's default epsilon, as on the other sides
SGD_LR = 0.01
SMALL_LR = 0.01  # Adam for the 4-16-3 model
quick = bool(cfg.get('quick'))
only = set(cfg['only']) if cfg.get('only') else None


def want(key):
    return only is None or key in only


def log(msg):
    sys.stderr.write(f'[torch {threads}T] {msg}\n')
    sys.stderr.flush()


def now_ms():
    return time.perf_counter_ns() / 1e6


def rss_mb():
    with open('/proc/self/statm', encoding='ascii') as fh:
        return int(fh.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2 ** 20


def read_digits(file):
    with open(file, 'rb') as fh:
        buf = bytearray(fh.read())
    n, d = struct.unpack_from('<II', buf, 0)
    x = torch.frombuffer(buf, dtype=torch.float32, count=n * d, offset=8).reshape(n, d).clone()
    y = torch.frombuffer(buf, dtype=torch.int32, count=n, offset=8 + 4 * n * d).long()
    return x, y


def read_synth():
    with open(cfg['synthFile'], 'rb') as fh:
        buf = bytearray(fh.read())
    out = {}
    for name, a in cfg['synth'].items():
        dtype = {'float32': torch.float32, 'int32': torch.int32}[a['dtype']]
        out[name] = torch.frombuffer(buf, dtype=dtype, count=a['length'], offset=a['offset']).reshape(a['shape']).clone()
    return out


def dense_stack(sizes, seed):
    """Linear layers with ReLU between them; Glorot-uniform kernels, zero biases."""
    torch.manual_seed(seed)
    layers = []
    for i in range(len(sizes) - 1):
        lin = nn.Linear(sizes[i], sizes[i + 1])
        nn.init.xavier_uniform_(lin.weight)
        nn.init.zeros_(lin.bias)
        layers.append(lin)
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def make_opt(model, name, lr):
    if name == 'adam':
        return torch.optim.Adam(model.parameters(), lr=lr, betas=ADAM['betas'], eps=ADAM['eps'])
    return torch.optim.SGD(model.parameters(), lr=lr)


class Run:
    """A model, its optimizer, its loss and a shuffling generator; fit() returns the last epoch's mean loss."""

    def __init__(self, model, opt, loss_fn, bf16=False, seed=1):
        self.model, self.opt, self.loss_fn, self.bf16 = model, opt, loss_fn, bf16
        self.gen = torch.Generator().manual_seed(seed)

    def fit(self, x, y, epochs, batch_size):
        n = x.shape[0]
        model, opt, loss_fn = self.model, self.opt, self.loss_fn
        model.train()
        last = float('nan')
        for _ in range(epochs):
            perm = torch.randperm(n, generator=self.gen)
            total = torch.zeros((), dtype=torch.float64)
            for s in range(0, n, batch_size):
                idx = perm[s:s + batch_size]
                xb = x.index_select(0, idx)
                yb = y.index_select(0, idx)
                opt.zero_grad(set_to_none=True)
                with torch.autocast('cpu', dtype=torch.bfloat16, enabled=self.bf16):
                    loss = loss_fn(model(xb), yb)
                loss.backward()
                opt.step()
                total += loss.detach().double() * idx.shape[0]
            last = total.item() / n
        return last

    @torch.no_grad()
    def accuracy(self, x, y):
        self.model.eval()
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=self.bf16):
            pred = self.model(x).argmax(dim=1)
        return (pred == y).double().mean().item()


def cls_loss(logits, y):
    return F.cross_entropy(logits.float(), y)


def mse_loss(pred, y):
    return F.mse_loss(pred.float(), y)


def mlp(opt_name, bf16=False):
    model = dense_stack([784, 256, 256, 10], seed=1)
    return Run(model, make_opt(model, opt_name, ADAM['lr'] if opt_name == 'adam' else SGD_LR), cls_loss, bf16)


def bf16_matmul_impl():
    """oneDNN's implementation of an autocast bf16 matmul (e.g. 'brg:avx512_core_bf16'), read from its
    verbose output on fd 1; None where oneDNN does not run it (then ATen's own bf16 GEMM does)."""
    import tempfile
    try:
        with tempfile.TemporaryFile() as tmp:
            sys.stdout.flush()
            saved = os.dup(1)
            os.dup2(tmp.fileno(), 1)
            try:
                with torch.backends.mkldnn.verbose(torch.backends.mkldnn.VERBOSE_ON):
                    with torch.autocast('cpu', dtype=torch.bfloat16):
                        F.linear(torch.ones(16, 64), torch.ones(32, 64))
            finally:
                os.dup2(saved, 1)
                os.close(saved)
            tmp.seek(0)
            text = tmp.read().decode('utf-8', 'replace')
    except Exception:  # noqa: BLE001 (a build without the verbose switch)
        return None
    for line in text.splitlines():
        f = line.split(',')
        if len(f) > 5 and f[1] == 'exec' and f[3] == 'matmul':
            return f[4]
    return None


def info():
    out = {'threads': torch.get_num_threads(), 'torch': torch.__version__, 'python': sys.version.split()[0],
           'executable': sys.executable, 'mkldnn': torch.backends.mkldnn.is_available()}
    out['bf16Matmul'] = bf16_matmul_impl()
    for line in torch.__config__.show().splitlines():
        line = line.strip()
        if line.startswith('- CPU capability usage:'):
            out['cpuCapability'] = line.split(':', 1)[1].strip()
    # The BLAS library actually loaded (Debian's torch calls the system libblas for fp32 GEMM).
    blas = set()
    with open('/proc/self/maps', encoding='utf-8', errors='replace') as fh:
        for line in fh:
            p = line.split()[-1] if len(line.split()) >= 6 else ''
            if 'blas' in os.path.basename(p).lower():
                blas.add(os.path.realpath(p))
    out['blas'] = sorted(blas)
    return out


def main():
    out = {'lib': 'torch', 'threads': threads}
    reps = cfg['reps']

    # 1. MLP throughput: the same full batches of the digits as nodetrain, the same epochs per run.
    x, y = read_digits(cfg['dataFile'])
    n_full = (x.shape[0] // 128) * 128
    mlp_x, mlp_y = x[:n_full], y[:n_full]
    warm_x, warm_y = x[:512], y[:512]
    test = read_digits(cfg['testFile']) if cfg.get('testFile') else None
    out['rssBaseMB'] = rss_mb()
    mlp_epochs = 2 if quick else 4
    for key, opt_name, bf16 in (('mlpAdam', 'adam', False), ('mlpSgd', 'sgd', False), ('mlpAdamBf16', 'adam', True)):
        if not want(key):
            continue
        run = mlp(opt_name, bf16)
        run.fit(warm_x, warm_y, 1, 128)  # warm-up: allocator, oneDNN primitives
        times = []
        loss = float('nan')
        c0 = time.process_time()  # CPU time of the process, all threads
        for _ in range(reps['mlp']):
            t0 = now_ms()
            loss = run.fit(mlp_x, mlp_y, mlp_epochs, 128)
            times.append(now_ms() - t0)
        cpu_s = time.process_time() - c0
        samples = n_full * mlp_epochs
        res = {'samplesPerSec': samples / (statistics.median(times) / 1000), 'ms': times, 'samples': samples,
               'lastLoss': loss, 'cpuUsPerSample': cpu_s * 1e6 / (samples * reps['mlp'])}
        acc = ''
        if test is not None:
            res['testAccuracy'] = run.accuracy(*test)
            acc = f", test accuracy {100 * res['testAccuracy']:.1f} %"
        out[key] = res
        log(f"{key}: {res['samplesPerSec']:.0f} samples/s (loss {loss:.4f}{acc})")

    synth = read_synth() if (want('small') or want('linreg')) else None

    # 2. Overhead-bound 4-16-3 on 150 samples, batch 16, 100 epochs = 1,000 steps per run.
    if want('small'):
        ix, iy = synth['irisX'], synth['irisY'].long()
        model = dense_stack([4, 16, 3], seed=1)
        run = Run(model, make_opt(model, 'adam', SMALL_LR), cls_loss)
        run.fit(ix, iy, 5, 16)
        steps = 100 * -(-150 // 16)
        times = []
        loss = float('nan')
        for _ in range(reps['small']):
            t0 = now_ms()
            loss = run.fit(ix, iy, 100, 16)
            times.append(now_ms() - t0)
        out['small'] = {'msPerStep': statistics.median(times) / steps, 'ms': times, 'steps': steps, 'lastLoss': loss}
        log(f"small: {out['small']['msPerStep']:.4f} ms/step (loss {loss:.4f})")

    # 3. Linear regression: fresh model per run, after one run to warm up; batch 10, 1,000 SGD steps.
    if want('linreg'):
        lx, ly = synth['linregX'], synth['linregY']
        times = []
        wb = (float('nan'), float('nan'))
        for r in range(reps['linreg'] + 1):
            model = dense_stack([1, 1], seed=1)
            run = Run(model, make_opt(model, 'sgd', SGD_LR), mse_loss)
            t0 = now_ms()
            run.fit(lx, ly, 1, 10)
            if r > 0:
                times.append(now_ms() - t0)
            wb = (model[0].weight.item(), model[0].bias.item())
        out['linreg'] = {'ms': statistics.median(times), 'runs': times, 'w': wb[0], 'b': wb[1]}
        log(f"linreg: {out['linreg']['ms']:.2f} ms (w {wb[0]:.3f}, b {wb[1]:.3f})")

    out['info'] = info()  # after the timed work: its probe runs a small matmul
    out['maxRssMB'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    with open(result_file, 'w', encoding='utf-8') as fh:
        json.dump(out, fh)


if __name__ == '__main__':
    main()
