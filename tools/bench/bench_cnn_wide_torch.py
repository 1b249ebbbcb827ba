"""The 32/64-filter CNN in PyTorch eager (NCHW): Conv2d(1,32,3) ReLU Conv2d(32,64,3) ReLU
MaxPool2d(2) Flatten Linear(9216,10); CrossEntropyLoss; Adam(1e-3); batch 128; one shuffled
epoch over the 60,000 Fashion-MNIST training images. Pairs with
`bench_cnn --model wide` (bench cnn_wide_epoch_time)."""
import anchors

args = anchors.parse_args(__doc__)
import torch  # noqa: E402
from torch import nn  # noqa: E402

torch.set_num_threads(args.threads)
anchors.info(f"torch {torch.__version__} threads={torch.get_num_threads()}")
xtr, ytr, xte, yte = [torch.from_numpy(a) for a in anchors.fashion_mnist(args.data_dir)]
xtr, xte = xtr.unsqueeze(1).contiguous(), xte.unsqueeze(1).contiguous()
N, B = xtr.shape[0], 128
loss_fn = nn.CrossEntropyLoss()


def make_model():
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 12 * 12, 10))


def steps(model, opt, batches):
    for idx in batches:
        opt.zero_grad()
        loss_fn(model(xtr[idx]), ytr[idx]).backward()
        opt.step()


times = []
for rep in range(args.reps):
    torch.manual_seed(args.seed)
    model = make_model()
    init = {k: v.clone() for k, v in model.state_dict().items()}
    steps(model, torch.optim.Adam(model.parameters(), 1e-3),
          [torch.arange(i * B, (i + 1) * B) for i in range(20)])
    model.load_state_dict(init)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    torch.manual_seed(args.seed + 1)
    t, _ = anchors.timed(lambda: steps(model, opt, torch.randperm(N).split(B)))
    with torch.no_grad():
        pred = torch.cat([model(xte[i:i + 1000]).argmax(1) for i in range(0, len(xte), 1000)])
    acc = (pred == yte).float().mean().item()
    anchors.info(f"rep {rep}: epoch {t:.3f}s test_acc={acc:.4f}")
    times.append(t)
times.sort()
anchors.result("cnn_wide_epoch_time", "pytorch", times[len(times) // 2], "s")
anchors.result("cnn_wide_test_acc", "pytorch", acc, "fraction")
