#!/usr/bin/env python3
"""Generate PyTorch golden values for tandem-nn's learning-rate schedulers.

Writes crates/tandem-nn/tests/fixtures/sched_goldens.json: for each case, the optimizer's
learning rate right after the scheduler is built and after each of 15 `scheduler.step()` calls
(and, for OneCycleLR, the momentum / Adam beta1 alongside). Every case is also checked against
`ref_lrs`, a direct float64 re-implementation of the schedule in closed form.
Run by hand (see README.md next to this file); PyTorch is not a project dependency:
    /tmp/anchors-venv/bin/python tools/goldens/gen_sched_goldens.py
"""
import bisect
import json
import math
import warnings

import torch
from torch.optim import lr_scheduler

from goldens_io import ROOT, check_close, write_json
FIXTURES = ROOT / "crates" / "tandem-nn" / "tests" / "fixtures"
OUT = FIXTURES / "sched_goldens.json"
STEPS = 15

# LambdaLR's function cannot be written as JSON: a case names one of these instead.
LAMBDAS = {
    "inv_linear": lambda e: 1.0 / (1.0 + e),
    "pow95": lambda e: 0.95 ** e,
}

# ------------------------------------------------------------------------------------- specs
def spec(type_, **args):
    return {"type": type_, "args": args}

def lambda_spec(name):
    return {"type": "LambdaLR", "lambda": name, "args": {}}

def composite(type_, schedulers, **args):
    return {"type": type_, "schedulers": schedulers, "args": args}

SGD = {"type": "SGD", "args": {"lr": 0.1, "momentum": 0.9}}
ADAM = {"type": "Adam", "args": {"lr": 0.1}}

# (case name, optimizer, scheduler spec)
CASES = [
    ("lambda_inv_linear", SGD, lambda_spec("inv_linear")),
    ("lambda_pow95", SGD, lambda_spec("pow95")),
    ("linear_lr", SGD, spec("LinearLR", start_factor=0.25, end_factor=1.0, total_iters=4)),
    ("linear_lr_default", SGD, spec("LinearLR")),
    ("one_cycle_cos", SGD, spec("OneCycleLR", max_lr=1.0, total_steps=16)),
    ("one_cycle_linear_three_phase", SGD,
     spec("OneCycleLR", max_lr=0.5, total_steps=16, pct_start=0.25, anneal_strategy="linear",
          div_factor=10.0, final_div_factor=100.0, three_phase=True)),
    ("one_cycle_adam", ADAM, spec("OneCycleLR", max_lr=0.01, total_steps=16)),
    ("cosine_warm_restarts", SGD, spec("CosineAnnealingWarmRestarts", T_0=3, T_mult=2, eta_min=0.01)),
    ("cosine_warm_restarts_tmult1", SGD, spec("CosineAnnealingWarmRestarts", T_0=4)),
    ("sequential_linear_then_exponential", SGD,
     composite("SequentialLR", [spec("LinearLR", start_factor=0.1, total_iters=3),
                                spec("ExponentialLR", gamma=0.9)], milestones=[3])),
    ("sequential_three", SGD,
     composite("SequentialLR", [spec("ConstantLR", factor=0.5, total_iters=2),
                                spec("StepLR", step_size=2, gamma=0.5),
                                spec("ExponentialLR", gamma=0.8)], milestones=[2, 6])),
    ("chained_exponential_step", SGD,
     composite("ChainedScheduler", [spec("ExponentialLR", gamma=0.9), spec("StepLR", step_size=3, gamma=0.5)])),
    ("chained_linear_multistep", SGD,
     composite("ChainedScheduler", [spec("LinearLR", start_factor=0.5, total_iters=4),
                                    spec("MultiStepLR", milestones=[5, 9], gamma=0.1)])),
    ("step_lr", SGD, spec("StepLR", step_size=3, gamma=0.5)),
    ("multistep_lr", SGD, spec("MultiStepLR", milestones=[2, 5, 9], gamma=0.1)),
    ("multistep_lr_repeated_milestone", SGD, spec("MultiStepLR", milestones=[3, 6, 6], gamma=0.5)),
    ("exponential_lr", SGD, spec("ExponentialLR", gamma=0.9)),
    ("cosine_annealing_lr", SGD, spec("CosineAnnealingLR", T_max=10, eta_min=0.001)),
]

# ------------------------------------------------------------------------------------- PyTorch
def build(opt, s):
    """The PyTorch scheduler for a spec (nested schedulers are built first, in list order)."""
    if s["type"] == "LambdaLR":
        return lr_scheduler.LambdaLR(opt, LAMBDAS[s["lambda"]], **s["args"])
    if "schedulers" in s:
        subs = [build(opt, sub) for sub in s["schedulers"]]
        if s["type"] == "SequentialLR":
            return lr_scheduler.SequentialLR(opt, subs, **s["args"])
        return lr_scheduler.ChainedScheduler(subs, **s["args"])
    return getattr(lr_scheduler, s["type"])(opt, **s["args"])

def momentum_of(group):
    return group["betas"][0] if "betas" in group else group["momentum"]

def run(opt_spec, sched_spec):
    p = torch.nn.Parameter(torch.ones(2))
    opt = getattr(torch.optim, opt_spec["type"])([p], **opt_spec["args"])
    sched = build(opt, sched_spec)
    group = opt.param_groups[0]
    lrs, moms = [group["lr"]], [momentum_of(group)]
    for _ in range(STEPS):
        p.grad = torch.ones_like(p)
        opt.step()  # before scheduler.step(), as PyTorch expects
        sched.step()
        lrs.append(group["lr"])
        moms.append(momentum_of(group))
        assert sched.get_last_lr() == [group["lr"]]
    assert all(isinstance(v, float) for v in lrs + moms)
    return lrs, moms

# ------------------------------------------------------------------------------------- references
def ref_simple(s, base, e):
    """Closed form of a chainable scheduler at epoch e (e >= 0) from its base lr."""
    t, a = s["type"], s["args"]
    if t == "StepLR":
        return base * a.get("gamma", 0.1) ** (e // a["step_size"])
    if t == "MultiStepLR":
        return base * a.get("gamma", 0.1) ** bisect.bisect_right(sorted(a["milestones"]), e)
    if t == "ExponentialLR":
        return base * a["gamma"] ** e
    if t == "ConstantLR":
        return base * (1.0 if e >= a.get("total_iters", 5) else a.get("factor", 1 / 3))
    if t == "LinearLR":
        sf, ef, n = a.get("start_factor", 1 / 3), a.get("end_factor", 1.0), a.get("total_iters", 5)
        return base * (sf + (ef - sf) * min(e, n) / n)
    if t == "CosineAnnealingLR":
        eta = a.get("eta_min", 0.0)
        return eta + (base - eta) * (1 + math.cos(math.pi * e / a["T_max"])) / 2
    if t == "LambdaLR":
        return base * LAMBDAS[s["lambda"]](e)
    if t == "CosineAnnealingWarmRestarts":
        t0, mult, eta = a["T_0"], a.get("T_mult", 1), a.get("eta_min", 0.0)
        t_cur, t_i = e, t0
        while t_cur >= t_i:  # restart: start the next (T_mult times longer) period
            t_cur, t_i = t_cur - t_i, t_i * mult
        return eta + (base - eta) * (1 + math.cos(math.pi * t_cur / t_i)) / 2
    raise AssertionError(t)

def ref_one_cycle(a, e):
    """(lr, momentum) at step e: phases end at float steps, pct = (e - start) / (end - start)."""
    total, pct_start = a["total_steps"], a.get("pct_start", 0.3)
    initial = a["max_lr"] / a.get("div_factor", 25.0)
    lrs = {"initial_lr": initial, "max_lr": a["max_lr"], "min_lr": initial / a.get("final_div_factor", 1e4)}
    moms = {"max_momentum": a.get("max_momentum", 0.95), "base_momentum": a.get("base_momentum", 0.85)}
    if a.get("three_phase", False):
        phases = [(pct_start * total - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                  (2 * pct_start * total - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                  (total - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
    else:
        phases = [(pct_start * total - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                  (total - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]
    if a.get("anneal_strategy", "cos") == "cos":
        anneal = lambda s, f, pct: f + (s - f) / 2 * (1 + math.cos(math.pi * pct))
    else:
        anneal = lambda s, f, pct: s + (f - s) * pct
    start = 0.0
    for i, (end, l0, l1, m0, m1) in enumerate(phases):
        if e <= end or i == len(phases) - 1:
            pct = (e - start) / (end - start)
            return anneal(lrs[l0], lrs[l1], pct), anneal(moms[m0], moms[m1], pct)
        start = end
    raise AssertionError("unreachable")

def ref_lrs(opt_spec, s):
    """Expected (lrs, momentums) for epochs 0..STEPS (momentum None when not cycled)."""
    base = opt_spec["args"]["lr"]
    epochs = range(STEPS + 1)
    if s["type"] == "OneCycleLR":
        pairs = [ref_one_cycle(s["args"], e) for e in epochs]
        return [lr for lr, _ in pairs], [m for _, m in pairs]
    if s["type"] == "SequentialLR":
        # epoch e runs scheduler i = bisect_right(milestones, e) at its own epoch e - milestones[i-1],
        # always from the base lr (a milestone restarts it from initial_lr).
        ms = s["args"]["milestones"]
        def at(e):
            i = bisect.bisect_right(ms, e)
            return ref_simple(s["schedulers"][i], base, e - (ms[i - 1] if i else 0))
        return [at(e) for e in epochs], None
    if s["type"] == "ChainedScheduler":
        # the chainable forms compose multiplicatively: lr = base * prod_k factor_k(e)
        return [base * math.prod(ref_simple(sub, base, e) / base for sub in s["schedulers"]) for e in epochs], None
    return [ref_simple(s, base, e) for e in epochs], None

# ------------------------------------------------------------------------------------- main
def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    cases = []
    for name, opt_spec, sched_spec in CASES:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lrs, moms = run(opt_spec, sched_spec)
        assert not caught, (name, [str(w.message) for w in caught])
        want_lrs, want_moms = ref_lrs(opt_spec, sched_spec)
        check_close(f"{name}.lrs", lrs, want_lrs)
        case = {"name": name, "optimizer": opt_spec, "scheduler": sched_spec, "lrs": lrs}
        if sched_spec["type"] == "OneCycleLR":
            check_close(f"{name}.momentum", moms, want_moms)
            case["momentum"] = moms
        else:
            assert len(set(moms)) == 1, f"{name}: momentum should not move"
        cases.append(case)
    assert len({c["name"] for c in cases}) == len(cases), "duplicate case names"
    # The edge cases the README describes.
    by = {c["name"]: c for c in cases}
    assert by["one_cycle_cos"]["lrs"][-1] == 1.0 / 25 / 1e4  # step 15 = total_steps - 1: min_lr
    assert max(by["one_cycle_cos"]["lrs"]) < 1.0  # phase 1 ends at step 3.8: max_lr never hit
    assert by["sequential_three"]["lrs"][6] == 0.1  # milestone 6: ExponentialLR restarts at base
    assert by["chained_linear_multistep"]["lrs"][0] == 0.05  # sub-schedulers' initial steps compose
    top = {"torch_version": torch.__version__, "steps": STEPS,
           "lambdas": {"inv_linear": "lambda e: 1.0 / (1.0 + e)", "pow95": "lambda e: 0.95 ** e"},
           "cases": cases}
    write_json(OUT, top)
    json.loads(OUT.read_text())
    print(f"{len(cases)} scheduler cases")

if __name__ == "__main__":
    main()
