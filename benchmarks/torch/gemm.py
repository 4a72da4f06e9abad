"""PyTorch side of `gemm-vs-torch`: fp32 GEMM GFLOP/s on 2 threads, printed as key=value lines."""
import time

import torch

torch.set_num_threads(2)
print(f"version={torch.__version__}")
for n in (256, 512, 1024, 2048):
    a, b = torch.randn(n, n), torch.randn(n, n)
    for key, fn in ((f"nn{n}", lambda: a @ b), (f"nt{n}", lambda: a @ b.t())):
        for _ in range(5):
            fn()
        reps = max(5, int(3e10 / (2 * n ** 3)))
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            for _ in range(reps):
                fn()
            best = min(best, (time.perf_counter() - t) / reps)
        print(f"{key}={2 * n ** 3 / best / 1e9:.1f}")
