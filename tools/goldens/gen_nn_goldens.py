#!/usr/bin/env python3
"""Generate PyTorch golden values for the tandem-nn test suite.

Writes under crates/tandem-nn/tests/fixtures/:
  mlp_init.safetensors            initial weights of a 6-5-3 MLP (nn.Sequential keys)
  optim_goldens.json              10 training steps of that MLP under each optimizer config
  loss_goldens.json               loss values and input gradients for every loss option
  interop_state_dict.safetensors  state_dict of a reduced seed network (l1..l5)
  interop.json                    an input batch and that network's logits
  init_stats.json                 theoretical bounds/stds of the default initializers
Run by hand (see README.md next to this file); PyTorch is not a project dependency.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

import goldens_io
from goldens_io import ROOT, write_json
FIXTURES = ROOT / "crates" / "tandem-nn" / "tests" / "fixtures"
DTYPE_NAMES = {torch.float32: "float32", torch.int64: "int64"}
OWN_FILES = ("mlp_init.safetensors", "optim_goldens.json", "loss_goldens.json",
             "interop_state_dict.safetensors", "interop.json", "init_stats.json")

# ------------------------------------------------------------------------------------- helpers
def tensor_json(t, with_dtype=False):
    """The shared encoding, with the dtype's name when asked."""
    return goldens_io.tensor_json(t, DTYPE_NAMES[t.dtype] if with_dtype else None)

def grid(shape, lo=-2.0, hi=2.0, offset=True):
    """Uniform float32 values on a 1/128 grid, offset by 1/256 unless offset=False.

    A grid value minus an unoffset grid value is an odd multiple of 1/256: never 0 (so
    l1/huber gradients never hit the kink of |d|) and never exactly 0.5 or 1.0 (a delta/beta).
    """
    v = torch.rand(shape, dtype=torch.float64) * (hi - lo) + lo
    return ((torch.floor(v * 128) + (0.5 if offset else 0.0)) / 128).to(torch.float32)

def write_safetensors(path, state_dict):
    save_file({k: v.detach().contiguous() for k, v in state_dict.items()}, str(path))
    print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size / 1024:.1f} KiB)")

# ------------------------------------------------------------------------------------- optimizers
def make_mlp():
    return nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))

# (case name, torch.optim class name, config). Configs are written to the fixture verbatim.
OPTIM_CASES = [
    ("sgd_momentum", "SGD",
     {"lr": 0.1, "momentum": 0.9, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False}),
    ("sgd_nesterov_weight_decay", "SGD",
     {"lr": 0.05, "momentum": 0.9, "dampening": 0.0, "weight_decay": 0.01, "nesterov": True}),
    ("sgd_plain", "SGD",
     {"lr": 0.1, "momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False}),
    ("adam", "Adam", {"lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0}),
    ("adam_weight_decay", "Adam", {"lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.1}),
    ("adamw", "AdamW", {"lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.1}),
    ("rmsprop", "RMSprop",
     {"lr": 0.01, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0, "momentum": 0.0, "centered": False}),
    ("rmsprop_centered_momentum", "RMSprop",
     {"lr": 0.01, "alpha": 0.9, "eps": 1e-8, "weight_decay": 0.0, "momentum": 0.5, "centered": True}),
    ("adagrad", "Adagrad",
     {"lr": 0.1, "lr_decay": 0.0, "weight_decay": 0.0, "initial_accumulator_value": 0.0, "eps": 1e-10}),
    ("adadelta", "Adadelta", {"lr": 1.0, "rho": 0.9, "eps": 1e-6, "weight_decay": 0.0}),
    ("adadelta_weight_decay", "Adadelta", {"lr": 0.5, "rho": 0.95, "eps": 1e-6, "weight_decay": 0.01}),
    ("adamax", "Adamax", {"lr": 0.02, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0}),
    # decoupled_weight_decay is written out at PyTorch's default (False: L2 added to the gradient)
    ("nadam", "NAdam", {"lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0,
                        "momentum_decay": 4e-3, "decoupled_weight_decay": False}),
    ("nadam_weight_decay", "NAdam", {"lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.1,
                                     "momentum_decay": 4e-3, "decoupled_weight_decay": False}),
    ("radam", "RAdam", {"lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0,
                        "decoupled_weight_decay": False}),
    ("radam_weight_decay", "RAdam", {"lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.1,
                                     "decoupled_weight_decay": False}),
]

def make_optimizer(name, params, config):
    kwargs = {k: tuple(v) if k == "betas" else v for k, v in config.items()}
    # foreach=False: the plain per-tensor loop (the CPU default anyway), fixed for reproducibility.
    return getattr(torch.optim, name)(params, foreach=False, **kwargs)

def train(init_state, batches, opt_name, config):
    """Load the initial weights into a fresh MLP and take one optimizer step per batch."""
    model = make_mlp()
    model.load_state_dict(init_state)
    opt = make_optimizer(opt_name, model.parameters(), config)
    losses = []
    for x, y in batches:
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())  # taken before this step's update
    return losses, model.state_dict()

# float64 re-implementations of the newer optimizers' foreach=False update (README.md lists the
# equations); the 10-step trajectories must match PyTorch's float32 ones closely.
def ref_update(opt_name, cfg, p, g, st, t):
    """One step for one parameter tensor p (float64, updated in place); t counts from 1."""
    lr, wd, eps = cfg["lr"], cfg["weight_decay"], cfg["eps"]
    if wd != 0:
        g = g + wd * p  # L2 (decoupled_weight_decay stays False)
    if opt_name == "Adadelta":
        rho = cfg["rho"]
        sq = st["square_avg"] = rho * st.get("square_avg", 0 * p) + (1 - rho) * g * g
        acc = st.get("acc_delta", 0 * p)
        delta = torch.sqrt(acc + eps) / torch.sqrt(sq + eps) * g
        st["acc_delta"] = rho * acc + (1 - rho) * delta * delta
        p -= lr * delta
        return
    b1, b2 = cfg["betas"]
    m = st["exp_avg"] = b1 * st.get("exp_avg", 0 * p) + (1 - b1) * g
    if opt_name == "Adamax":
        u = st["exp_inf"] = torch.maximum(b2 * st.get("exp_inf", 0 * p), g.abs() + eps)
        p -= lr / (1 - b1 ** t) * m / u
        return
    v = st["exp_avg_sq"] = b2 * st.get("exp_avg_sq", 0 * p) + (1 - b2) * g * g
    if opt_name == "NAdam":
        mu_t = lambda k: b1 * (1 - 0.5 * 0.96 ** (k * cfg["momentum_decay"]))
        prod = st["mu_product"] = st.get("mu_product", 1.0) * mu_t(t)
        denom = torch.sqrt(v / (1 - b2 ** t)) + eps
        p -= lr * (1 - mu_t(t)) / (1 - prod) * g / denom
        p -= lr * mu_t(t + 1) / (1 - prod * mu_t(t + 1)) * m / denom
        return
    assert opt_name == "RAdam", opt_name
    rho_inf = 2 / (1 - b2) - 1
    rho_t = rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)
    m_hat = m / (1 - b1 ** t)
    if rho_t > 5:
        rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        p -= lr * m_hat * rect * math.sqrt(1 - b2 ** t) / (torch.sqrt(v) + eps)
    else:
        p -= lr * m_hat

def ref_train(init_state, batches, opt_name, config):
    model = make_mlp().double()
    model.load_state_dict({k: v.double() for k, v in init_state.items()})
    params, states, losses = list(model.parameters()), {}, []
    for t, (x, y) in enumerate(batches, start=1):
        model.zero_grad()
        loss = F.cross_entropy(model(x.double()), y)
        loss.backward()
        with torch.no_grad():
            for i, p in enumerate(params):
                ref_update(opt_name, config, p, p.grad, states.setdefault(i, {}), t)
        losses.append(loss.item())
    return losses, model.state_dict()

def check_new_optimizers(init_state, batches):
    """The extra checks behind README.md's notes on Adadelta/Adamax/NAdam/RAdam (make_mlp draws
    from the generator, so this runs in a forked one and the later fixtures do not move)."""
    with torch.random.fork_rng():
        _check_new_optimizers(init_state, batches)

def _check_new_optimizers(init_state, batches):
    # RAdam with beta2 = 0.999: steps 1-5 take the un-rectified branch (rho_t <= 5), 6-10 the other.
    for name, opt_name, config in OPTIM_CASES:
        if opt_name == "RAdam":
            b2 = config["betas"][1]
            rho_inf = 2 / (1 - b2) - 1
            rect = [rho_inf - 2 * t * b2 ** t / (1 - b2 ** t) > 5 for t in range(1, 11)]
            assert rect == [False] * 5 + [True] * 5, (name, rect)
    # NAdam keeps `step` and `mu_product` as 0-d float32 tensors: mu_product *= mu is a float32
    # multiplication (by mu rounded to float32), not a float64 running product.
    model = make_mlp()
    model.load_state_dict(init_state)
    cfg = next(c for n, _, c in OPTIM_CASES if n == "nadam")
    opt = make_optimizer("NAdam", model.parameters(), cfg)
    want, prod64, differs = torch.tensor(1.0, dtype=torch.float32), 1.0, False
    for t, (x, y) in enumerate(batches, start=1):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
        mu = cfg["betas"][0] * (1 - 0.5 * 0.96 ** (t * cfg["momentum_decay"]))
        want = want * torch.tensor(mu, dtype=torch.float32)
        st = opt.state[next(iter(model.parameters()))]
        assert st["step"].dtype == torch.float32 and st["mu_product"].dtype == torch.float32
        assert st["mu_product"].equal(want), (t, st["mu_product"].item(), want.item())
        prod64 *= mu
        differs |= want.item() != float(torch.tensor(prod64, dtype=torch.float32))
    assert differs, "the float32 mu_product should differ from the rounded float64 product"

def optim_goldens():
    model = make_mlp()
    write_safetensors(FIXTURES / "mlp_init.safetensors", model.state_dict())
    init_state = load_file(str(FIXTURES / "mlp_init.safetensors"))  # exactly what the tests load
    assert set(init_state) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    # Labels come from a fixed random linear "teacher", so there is something to learn.
    teacher = torch.randn(6, 3)
    xs = [torch.randn(8, 6) for _ in range(10)]
    batches = [(x, (x @ teacher).argmax(dim=1)) for x in xs]
    check_new_optimizers(init_state, batches)
    cases = []
    for i, (name, opt_name, config) in enumerate(OPTIM_CASES):
        # train() builds a fresh MLP, which draws from the global generator. The first nine cases
        # always did; later ones draw from a forked generator, so that adding optimizer cases
        # leaves the fixtures written after this one (losses, interop) unchanged.
        with torch.random.fork_rng(enabled=i >= 9):
            losses, final = train(init_state, batches, opt_name, config)
        assert sum(losses[-3:]) < sum(losses[:3]), f"{name}: loss did not go down"
        if opt_name in ("Adadelta", "Adamax", "NAdam", "RAdam"):
            with torch.random.fork_rng():
                ref_losses, ref_final = ref_train(init_state, batches, opt_name, config)
            goldens_io.check_close(f"{name}.losses", losses, ref_losses, tol=1e-5)
            for k in final:
                goldens_io.check_close(f"{name}.{k}", final[k], ref_final[k], tol=1e-5)
        cases.append({"name": name, "optimizer": opt_name, "config": config, "losses": losses,
                      "final": {k: tensor_json(v) for k, v in final.items()}})
    batches_json = [{"x": x.reshape(-1).tolist(), "x_shape": list(x.shape), "y": y.tolist()}
                    for x, y in batches]
    return {"batches": batches_json, "cases": cases}

# ------------------------------------------------------------------------------------- losses
def apply_loss(loss, x, target, weight, opts):
    """Reference interpreter: each fixture `loss` name is the torch.nn.functional function."""
    kw = {"reduction": opts["reduction"]}
    if loss in ("cross_entropy", "nll_loss"):
        kw.update(weight=weight, ignore_index=opts.get("ignore_index", -100))
        if loss == "cross_entropy":
            kw["label_smoothing"] = opts.get("label_smoothing", 0.0)
    elif loss == "binary_cross_entropy":
        kw["weight"] = weight
    elif loss == "binary_cross_entropy_with_logits":
        pw = opts.get("pos_weight")
        kw["pos_weight"] = None if pw is None else torch.tensor(pw["data"]).reshape(pw["shape"])
    elif loss == "huber_loss":
        kw["delta"] = opts["delta"]
    elif loss == "smooth_l1_loss":
        kw["beta"] = opts["beta"]
    else:
        assert loss in ("mse_loss", "l1_loss"), loss
    return getattr(F, loss)(x, target, **kw)

LOSS_CASES = []

def loss_case(name, loss, inp, target, weight=None, **opts):
    opts = {"reduction": opts.pop("reduction", "mean"), **opts}
    x = inp.clone().requires_grad_(True)
    value = apply_loss(loss, x, target, weight, opts)
    (grad,) = torch.autograd.grad(value.sum(), x)
    entry = {"name": name, "loss": loss, "options": opts, "input": tensor_json(inp),
             "target": tensor_json(target, with_dtype=True)}
    if weight is not None:
        entry["weight"] = tensor_json(weight)
    entry.update(value=tensor_json(value), grad=tensor_json(grad))
    LOSS_CASES.append(entry)
    return value

def classification_cases():
    logits = lambda: grid((5, 4))
    labels = torch.randint(0, 4, (5,))
    weight = grid((4,), 0.25, 2.0)  # 4 positive class weights
    with_ones = torch.tensor([0, 1, 3, 1, 2])  # two targets equal to ignore_index=1
    assert (labels != 1).any() and (with_ones == 1).sum() == 2

    for red in ("mean", "sum", "none"):
        loss_case(f"ce_{red}", "cross_entropy", logits(), labels, reduction=red)
    x = logits()
    v = loss_case("ce_ignore_index", "cross_entropy", x, with_ones, ignore_index=1)
    keep = with_ones != 1  # mean over the 3 non-ignored rows, not all 5
    assert torch.allclose(v, F.cross_entropy(x[keep], with_ones[keep]))
    loss_case("ce_ignore_index_none", "cross_entropy", logits(), with_ones, ignore_index=1, reduction="none")
    x = logits()
    v = loss_case("ce_ignore_index_weight", "cross_entropy", x, with_ones, weight, ignore_index=1)
    per_row = -F.log_softmax(x, 1).gather(1, with_ones[:, None])[:, 0] * weight[with_ones]
    assert torch.allclose(v, per_row[keep].sum() / weight[with_ones[keep]].sum())

    loss_case("ce_label_smoothing", "cross_entropy", logits(), labels, label_smoothing=0.1)
    loss_case("ce_label_smoothing_ignore_index", "cross_entropy", logits(), with_ones,
              ignore_index=1, label_smoothing=0.1)
    loss_case("ce_weight", "cross_entropy", logits(), labels, weight)
    loss_case("ce_weight_none", "cross_entropy", logits(), labels, weight, reduction="none")
    x = logits()
    v = loss_case("ce_weight_label_smoothing", "cross_entropy", x, labels, weight, label_smoothing=0.1)
    # Both terms are divided by sum_i w[y_i]; the smoothing term weights every class by w[c].
    logp, eps, C = F.log_softmax(x, 1), 0.1, 4
    nll = -(logp.gather(1, labels[:, None])[:, 0] * weight[labels]).sum()
    smooth = -(logp * weight).sum()
    assert torch.allclose(v, ((1 - eps) * nll + eps / C * smooth) / weight[labels].sum())

    probs = lambda: torch.softmax(grid((5, 4)) * 2, dim=1)  # rows sum to 1 (up to rounding)
    loss_case("ce_prob_targets", "cross_entropy", logits(), probs())
    x, p = logits(), probs()
    v = loss_case("ce_prob_targets_weight", "cross_entropy", x, p, weight)
    # Probability targets: the mean divides by N, *not* by a sum of weights.
    assert torch.allclose(v, -(F.log_softmax(x, 1) * weight * p).sum() / 5)
    loss_case("ce_prob_targets_label_smoothing", "cross_entropy", logits(), probs(), label_smoothing=0.1)

    # nll_loss: the fixture input is the log-probabilities themselves (grad is w.r.t. them).
    loss_case("nll_mean", "nll_loss", F.log_softmax(logits(), 1), labels)
    loss_case("nll_weight", "nll_loss", F.log_softmax(logits(), 1), labels, weight)

def regression_cases():
    pair = lambda lo=-2.0, hi=2.0: (grid((3, 4), lo, hi), grid((3, 4), lo, hi, offset=False))
    for red in ("mean", "sum", "none"):
        loss_case(f"mse_{red}", "mse_loss", *pair(), reduction=red)
    loss_case("l1_mean", "l1_loss", *pair())
    loss_case("l1_none", "l1_loss", *pair(), reduction="none")

    probs = lambda: grid((3, 4), 0.05, 0.95)  # inside (0.05, 0.95): log never clamped at -100
    bits = lambda: torch.randint(0, 2, (3, 4)).to(torch.float32)
    loss_case("bce_mean", "binary_cross_entropy", probs(), bits())
    loss_case("bce_weight", "binary_cross_entropy", probs(), bits(), grid((3, 4), 0.5, 2.0))
    loss_case("bce_logits_mean", "binary_cross_entropy_with_logits", grid((3, 4), -3, 3), bits())
    loss_case("bce_logits_pos_weight", "binary_cross_entropy_with_logits", grid((3, 4), -3, 3), bits(),
              pos_weight=tensor_json(grid((4,), 0.5, 3.0)))

    for loss, key, short in (("huber_loss", "delta", "huber"), ("smooth_l1_loss", "beta", "smooth_l1")):
        for k in (1.0, 0.5):
            x, t = pair()
            d = (x - t).abs()
            assert (d < k).any() and (d > k).any(), "need values on both sides of delta/beta"
            loss_case(f"{short}_{key}_{str(k).replace('.', '_')}", loss, x, t, **{key: k})

def loss_goldens():
    classification_cases()
    regression_cases()
    assert len({c["name"] for c in LOSS_CASES}) == len(LOSS_CASES), "duplicate case names"
    return {"cases": LOSS_CASES}

# ------------------------------------------------------------------------------------- interop
class SeedNet(nn.Module):
    """The seed network's structure (attributes l1..l5, relu between), reduced widths."""

    def __init__(self, sizes=(784, 32, 24, 16, 12, 10)):
        super().__init__()
        for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:]), start=1):
            setattr(self, f"l{i}", nn.Linear(n_in, n_out))

    def forward(self, x):
        x = x.view(-1, 784)
        x = F.relu(self.l1(x))
        x = F.relu(self.l2(x))
        x = F.relu(self.l3(x))
        x = F.relu(self.l4(x))
        return self.l5(x)

def interop():
    net = SeedNet()
    path = FIXTURES / "interop_state_dict.safetensors"
    write_safetensors(path, net.state_dict())
    x = torch.rand(3, 784)
    with torch.no_grad():
        logits = net(x)
        reloaded = SeedNet()
        reloaded.load_state_dict(load_file(str(path)))
        assert torch.equal(reloaded(x), logits)
    return {"input": tensor_json(x), "logits": tensor_json(logits)}

# ------------------------------------------------------------------------------------- init stats
def init_stats():
    """Theoretical constants (derivation in README.md), cross-checked against PyTorch samples."""
    b = 1 / math.sqrt(784)
    stats = {
        "linear_784_520": {"weight_shape": [520, 784], "fan_in": 784, "weight_bound": b,
                           "bias_bound": b, "weight_std": b / math.sqrt(3)},
        "xavier_uniform_300_200": {"shape": [300, 200], "fan_in": 200, "fan_out": 300, "gain": 1.0,
                                   "bound": math.sqrt(6 / 500), "std": math.sqrt(2 / 500)},
        "kaiming_normal_300_200": {"shape": [300, 200], "mode": "fan_in", "nonlinearity": "relu",
                                   "fan_in": 200, "mean": 0.0, "std": math.sqrt(2 / 200)},
    }
    # Sampling uses a separate generator so the fixtures above do not depend on it.
    with torch.random.fork_rng():
        torch.manual_seed(1)
        lin = nn.Linear(784, 520)
        assert lin.weight.abs().max() <= b and lin.bias.abs().max() <= b
        assert abs(lin.weight.std().item() / stats["linear_784_520"]["weight_std"] - 1) < 0.01
        w = nn.init.xavier_uniform_(torch.empty(300, 200))
        assert w.abs().max() <= stats["xavier_uniform_300_200"]["bound"]
        assert abs(w.std().item() / stats["xavier_uniform_300_200"]["std"] - 1) < 0.02
        w = nn.init.kaiming_normal_(torch.empty(300, 200), mode="fan_in", nonlinearity="relu")
        assert abs(w.std().item() / stats["kaiming_normal_300_200"]["std"] - 1) < 0.02
    return stats

# ------------------------------------------------------------------------------------- main
def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)  # reduction order independent of the machine's core count
    FIXTURES.mkdir(parents=True, exist_ok=True)
    write_json(FIXTURES / "optim_goldens.json", optim_goldens())
    write_json(FIXTURES / "loss_goldens.json", loss_goldens())
    write_json(FIXTURES / "interop.json", interop())
    write_json(FIXTURES / "init_stats.json", init_stats())
    # only this script's files (the folder also holds the conv/rnn/layer/scheduler goldens and data)
    total = sum((FIXTURES / f).stat().st_size for f in OWN_FILES)
    print(f"{len(OPTIM_CASES)} optimizer cases, {len(LOSS_CASES)} loss cases, "
          f"fixtures {total / 1024:.1f} KiB in all")
    assert total < 300 * 1024, "fixtures must stay under 300 KB"

if __name__ == "__main__":
    main()
