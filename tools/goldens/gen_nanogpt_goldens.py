#!/usr/bin/env python3
"""Generate a tiny trained nanoGPT checkpoint and its reference logits for tandem-examples.

Writes crates/tandem-examples/tests/fixtures/nanogpt_tiny.pt (`torch.save(model.state_dict())`)
and crates/tandem-examples/tests/fixtures/nanogpt_tiny.json. The model is nanoGPT's `model.py`
(github.com/karpathy/nanoGPT) with the same module and parameter names, so the state dict has
the keys a real nanoGPT checkpoint's "model" entry has: `LayerNorm(ndim, bias)`,
`CausalSelfAttention` (flash path: `F.scaled_dot_product_attention(..., is_causal=True)`, no
mask buffer), `MLP`, `Block`, `GPT` with `lm_head.weight` tied to `transformer.wte.weight`, and
nanoGPT's init. Config: block_size 8, vocab_size 65, n_layer 2, n_head 2, n_embd 16,
dropout 0.0, bias False.

Data: the Shakespeare text (crates/tandem-data/data/zerotoall/shakespeare.txt.gz), encoded by
character with the vocabulary = the 65 sorted distinct characters; the first 90% of the ids are
the training split, the rest the validation split (nanoGPT's shakespeare_char/prepare.py).
Training: 30 steps of AdamW(lr 1e-3, betas (0.9, 0.99), weight_decay 0.1 on the 2-D parameters,
0 on the others; nanoGPT's configure_optimizers grouping), batch 4 of random windows drawn as
nanoGPT's get_batch does (`torch.randint(len(data) - block_size, (batch_size,))`).

Run by hand (see README.md next to this file); PyTorch is not a project dependency:
    /tmp/anchors-venv/bin/python tools/goldens/gen_nanogpt_goldens.py
torch.manual_seed(0), one CPU thread: reruns give a byte-identical JSON file.

JSON keys:
- "torch_version".
- "config": the GPTConfig fields (block_size, vocab_size, n_layer, n_head, n_embd, dropout, bias).
- "keys": [key, shape] for every state-dict entry, in order (both `transformer.wte.weight` and
  `lm_head.weight` are present; `torch.save` stores them as one storage).
- "idx": int64 [2, 8], two windows from the validation split (drawn like get_batch("val")).
- "targets": int64 [2, 8], the same windows shifted by one.
- "logits": float32 [2, 8, 65], `model(idx, targets)` in eval mode without grad: lm_head applied
  at every position (nanoGPT only trims to the last position when targets is None).
- "loss": the float32 cross-entropy over all 16 positions, written as a float64 number.
"""

import gzip
import math
import pathlib
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
from torch.nn import functional as F

from goldens_io import ROOT, check_close, tensor_json, write_json

DATA = ROOT / "crates/tandem-data/data/zerotoall/shakespeare.txt.gz"
OUT = ROOT / "crates/tandem-examples/tests/fixtures"
PT_NAME = "nanogpt_tiny.pt"
JSON_NAME = "nanogpt_tiny.json"

STEPS = 30
BATCH = 4
LR = 1e-3
BETAS = (0.9, 0.99)
WEIGHT_DECAY = 0.1


# --- nanoGPT's model.py (structure and names as there) ---------------------------------------


class LayerNorm(nn.Module):
    """LayerNorm but with an optional bias. PyTorch doesn't support simply bias=False"""

    def __init__(self, ndim, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

    def forward(self, input):
        return F.layer_norm(input, self.weight.shape, self.weight, self.bias, 1e-5)


class CausalSelfAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        assert config.n_embd % config.n_head == 0
        # key, query, value projections for all heads, but in a batch
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        # output projection
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        # regularization
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        self.dropout = config.dropout
        # only the scaled_dot_product_attention path: no "bias" mask buffer is registered
        assert hasattr(torch.nn.functional, "scaled_dot_product_attention")

    def forward(self, x):
        B, T, C = x.size()  # batch size, sequence length, embedding dimensionality (n_embd)
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=None, dropout_p=self.dropout if self.training else 0, is_causal=True
        )
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # re-assemble all head outputs side by side
        y = self.resid_dropout(self.c_proj(y))
        return y


class MLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        x = self.c_fc(x)
        x = self.gelu(x)
        x = self.c_proj(x)
        x = self.dropout(x)
        return x


class Block(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.ln_1 = LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        return x


@dataclass
class GPTConfig:
    block_size: int = 8
    vocab_size: int = 65
    n_layer: int = 2
    n_head: int = 2
    n_embd: int = 16
    dropout: float = 0.0
    bias: bool = False


class GPT(nn.Module):
    def __init__(self, config):
        super().__init__()
        assert config.vocab_size is not None
        assert config.block_size is not None
        self.config = config

        self.transformer = nn.ModuleDict(
            dict(
                wte=nn.Embedding(config.vocab_size, config.n_embd),
                wpe=nn.Embedding(config.block_size, config.n_embd),
                drop=nn.Dropout(config.dropout),
                h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
                ln_f=LayerNorm(config.n_embd, bias=config.bias),
            )
        )
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight  # weight tying

        # init all weights
        self.apply(self._init_weights)
        # apply special scaled init to the residual projections, per GPT-2 paper
        for pn, p in self.named_parameters():
            if pn.endswith("c_proj.weight"):
                torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx, targets=None):
        device = idx.device
        b, t = idx.size()
        assert t <= self.config.block_size
        pos = torch.arange(0, t, dtype=torch.long, device=device)  # shape (t)

        tok_emb = self.transformer.wte(idx)  # token embeddings of shape (b, t, n_embd)
        pos_emb = self.transformer.wpe(pos)  # position embeddings of shape (t, n_embd)
        x = self.transformer.drop(tok_emb + pos_emb)
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)

        if targets is not None:
            logits = self.lm_head(x)
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
        else:
            # inference-time mini-optimization: only forward the lm_head on the very last position
            logits = self.lm_head(x[:, [-1], :])
            loss = None
        return logits, loss

    def configure_optimizers(self, weight_decay, learning_rate, betas):
        param_dict = {pn: p for pn, p in self.named_parameters() if p.requires_grad}
        decay_params = [p for n, p in param_dict.items() if p.dim() >= 2]
        nodecay_params = [p for n, p in param_dict.items() if p.dim() < 2]
        optim_groups = [
            {"params": decay_params, "weight_decay": weight_decay},
            {"params": nodecay_params, "weight_decay": 0.0},
        ]
        return torch.optim.AdamW(optim_groups, lr=learning_rate, betas=betas)


# --- data and training -----------------------------------------------------------------------


def load_data():
    text = gzip.decompress(DATA.read_bytes()).decode("utf-8")
    chars = sorted(set(text))
    stoi = {ch: i for i, ch in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    n = int(0.9 * len(data))
    return chars, data[:n], data[n:]


def get_batch(data, block_size, batch_size):
    ix = torch.randint(len(data) - block_size, (batch_size,))
    x = torch.stack([data[i : i + block_size] for i in ix])
    y = torch.stack([data[i + 1 : i + 1 + block_size] for i in ix])
    return x, y


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)

    chars, train_data, val_data = load_data()
    config = GPTConfig()
    assert len(chars) == config.vocab_size, len(chars)

    model = GPT(config)
    assert model.lm_head.weight is model.transformer.wte.weight
    init = {k: v.clone() for k, v in model.state_dict().items()}
    optimizer = model.configure_optimizers(WEIGHT_DECAY, LR, BETAS)

    model.train()
    for step in range(STEPS):
        x, y = get_batch(train_data, config.block_size, BATCH)
        _, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step == 0 or step == STEPS - 1:
            print(f"step {step}: train loss {loss.item():.4f}")

    sd = model.state_dict()
    for k, v in sd.items():
        assert not torch.equal(v, init[k]), f"{k} did not change during training"
    assert sd["lm_head.weight"].data_ptr() == sd["transformer.wte.weight"].data_ptr()

    idx, targets = get_batch(val_data, config.block_size, 2)
    model.eval()
    with torch.no_grad():
        logits, loss = model(idx, targets)
    assert logits.shape == (2, config.block_size, config.vocab_size) and logits.dtype == torch.float32
    check_close("loss", F.cross_entropy(logits.reshape(-1, config.vocab_size), targets.reshape(-1)), loss, 0)

    OUT.mkdir(parents=True, exist_ok=True)
    pt = OUT / PT_NAME
    torch.save(sd, pt)
    reloaded = torch.load(pt, weights_only=True)
    assert list(reloaded) == list(sd)
    assert reloaded["lm_head.weight"].data_ptr() == reloaded["transformer.wte.weight"].data_ptr()
    for k, v in sd.items():
        assert torch.equal(reloaded[k], v), k
    print(f"wrote {pt.relative_to(ROOT)} ({pt.stat().st_size / 1024:.1f} KiB)")

    write_json(
        OUT / JSON_NAME,
        {
            "torch_version": torch.__version__.split("+")[0],
            "config": asdict(config),
            "keys": [[k, list(v.shape)] for k, v in sd.items()],
            "idx": tensor_json(idx, "int64"),
            "targets": tensor_json(targets, "int64"),
            "logits": tensor_json(logits, "float32"),
            "loss": loss.item(),
        },
    )
    print(f"eval loss {loss.item():.6f}")


if __name__ == "__main__":
    main()
