"""PyTorch's side of `bench_sdpa`: causal `torch.nn.functional.scaled_dot_product_attention`
forward and backward on float32 [4, 4, T, 32] tensors on the CPU, the median of 20 timed calls
after 5 warm-up ones, and the memory the calls add to the process (peak resident size during
them over the resident size before, Linux's VmHWM reset through /proc/self/clear_refs).

    python bench_sdpa_torch.py [--t 256] [--threads 2]
"""
import argparse
import time


def status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return float(line.split()[1])
    return None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--t", type=int, default=256)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    shape = (4, 4, args.t, 32)
    q, k, v = (torch.randn(shape, requires_grad=True) for _ in range(3))
    grad_out = torch.randn(shape)

    def step():
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        y.backward(grad_out)
        for t in (q, k, v):
            t.grad = None

    for _ in range(5):
        step()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = status_kib("VmRSS:")
    times = []
    for _ in range(20):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    peak = status_kib("VmHWM:")
    times.sort()
    t = args.t
    print(f"RESULT bench=b5_sdpa_fwd_bwd_t{t} framework=pytorch value={times[len(times) // 2] * 1e3:.3f} unit=ms")
    print(f"RESULT bench=b5_sdpa_extra_memory_t{t} framework=pytorch value={max(peak - before, 0) / 1024:.1f} unit=MiB")


if __name__ == "__main__":
    main()
