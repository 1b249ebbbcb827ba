"""PyTorch's DistributedDataParallel on B1: the seed MLP's Fashion-MNIST epoch (batch 64 global,
SGD(0.01, momentum 0.5)) over `--ranks` processes with `--threads` threads each, on the gloo
backend (PyTorch's wheels carry no MPI backend), each rank taking its contiguous share of every
global batch from the same shuffled order. The protocol of `bench_ddp` (and B1): a fresh seeded
model, 20 warm-up steps, weights and optimizer reset, one timed epoch, test accuracy after; the
median of 3. Also times an allreduce of 682,090 float32 gradients.

    python bench_ddp_torch.py [--ranks 2] [--threads 1] [--data-dir DIR]
"""
import argparse
import copy
import os
import time

import anchors


def run(rank, args):
    import torch
    import torch.distributed as dist
    from torch import nn

    torch.set_num_threads(args.threads)
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", "29517")
    dist.init_process_group("gloo", rank=rank, world_size=args.ranks)
    world = args.ranks
    xtr, ytr, xte, yte = anchors.fashion_mnist(args.data_dir)
    xtr, ytr = torch.from_numpy(xtr.reshape(-1, 784)), torch.from_numpy(ytr)
    xte, yte = torch.from_numpy(xte.reshape(-1, 784)), torch.from_numpy(yte)
    n, b = xtr.shape[0], 64

    grads = torch.rand(682_090)
    ms = []
    for i in range(60):
        dist.barrier()
        t0 = time.perf_counter()
        dist.all_reduce(grads)
        if i >= 10:
            ms.append((time.perf_counter() - t0) * 1e3)

    def make_model():
        return nn.Sequential(
            nn.Linear(784, 520), nn.ReLU(), nn.Linear(520, 320), nn.ReLU(),
            nn.Linear(320, 240), nn.ReLU(), nn.Linear(240, 120), nn.ReLU(),
            nn.Linear(120, 10))

    def steps(model, opt, batches):
        loss_fn = nn.CrossEntropyLoss()
        for idx in batches:
            k = idx.shape[0]
            mine = idx[rank * k // world:(rank + 1) * k // world]
            opt.zero_grad()
            loss_fn(model(xtr[mine]), ytr[mine]).backward()
            opt.step()

    times, accs = [], []
    for rep in range(3):
        torch.manual_seed(0)
        net = make_model()
        init = copy.deepcopy(net.state_dict())
        model = nn.parallel.DistributedDataParallel(net)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.5)
        steps(model, opt, [torch.arange(i * b, (i + 1) * b) for i in range(20)])
        dist.barrier()
        t0 = time.perf_counter()
        with torch.no_grad():
            net.load_state_dict(init)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.5)
        g = torch.Generator().manual_seed(1)
        steps(model, opt, torch.randperm(n, generator=g).split(b))
        dist.barrier()
        t = time.perf_counter() - t0
        with torch.no_grad():
            acc = (net(xte).argmax(1) == yte).float().mean().item()
        if rank == 0:
            anchors.info(f"rep {rep}: {world} ranks x {args.threads} threads, epoch {t:.3f}s, test_acc={acc:.4f}")
        times.append(t)
        accs.append(acc)
    if rank == 0:
        med = lambda v: sorted(v)[len(v) // 2]  # noqa: E731
        anchors.result("b1_ddp_allreduce_682090_time", "pytorch-gloo", med(ms), "ms")
        anchors.result("b1_ddp_epoch_time", "pytorch-gloo", med(times), "s")
        anchors.result("b1_ddp_test_acc", "pytorch-gloo", accs[-1], "fraction")
    dist.destroy_process_group()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--ranks", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    args = p.parse_args()
    import torch.multiprocessing as mp
    mp.spawn(run, args=(args,), nprocs=args.ranks)
