#!/usr/bin/env python3
"""PyTorch CPU reference for the harness benchmark: the same models, batch, optimizer and
data as scripts/bench/*.json, timed per training step (forward, backward, AdamW, loss.item())."""
import argparse, json, math, statistics, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class Mlp(nn.Module):
    def __init__(self, inp, hidden, classes):
        super().__init__()
        self.l1, self.l2 = nn.Linear(inp, hidden), nn.Linear(hidden, classes)

    def forward(self, x):
        return self.l2(F.relu(self.l1(x)))


class Block(nn.Module):
    """Pre-norm decoder layer, as in the harness (fused qkv, causal attention, GELU-tanh MLP)."""

    def __init__(self, h, heads, ratio):
        super().__init__()
        self.heads = heads
        self.n1, self.n2 = nn.LayerNorm(h), nn.LayerNorm(h)
        self.qkv, self.proj = nn.Linear(h, 3 * h), nn.Linear(h, h)
        self.fc, self.out = nn.Linear(h, ratio * h), nn.Linear(ratio * h, h)

    def forward(self, x):
        b, t, h = x.shape
        q, k, v = self.qkv(self.n1(x)).split(h, dim=-1)
        split = lambda z: z.view(b, t, self.heads, h // self.heads).transpose(1, 2)
        y = F.scaled_dot_product_attention(split(q), split(k), split(v), is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, h))
        return x + self.out(F.gelu(self.fc(self.n2(x)), approximate="tanh"))


class Lm(nn.Module):
    def __init__(self, vocab, seq, layers, h, heads, ratio):
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, h), nn.Embedding(seq, h)
        self.blocks = nn.ModuleList(Block(h, heads, ratio) for _ in range(layers))
        self.norm, self.head = nn.LayerNorm(h), nn.Linear(h, vocab)

    def forward(self, ids):
        x = self.tok(ids) + self.pos(torch.arange(ids.shape[1]))
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.norm(x))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--data", required=True, help="folder with the .npy files bench_cpu.sh wrote")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    cfg = json.load(open(a.config))
    m, o, bsz = cfg["model"], cfg["optimizer"], cfg["batch"]["size"]
    if m["kind"] == "mlp":
        model = Mlp(m["input_dim"], m["hidden"][0], m["num_classes"])
        x = torch.from_numpy(np.load(f"{a.data}/mlp/train.features.npy")[:bsz])
        y = torch.from_numpy(np.load(f"{a.data}/mlp/train.labels.npy")[:bsz].astype(np.int64))
        loss_fn = lambda: F.cross_entropy(model(x), y)
    else:
        t = m["seq_len"]
        model = Lm(m["vocab_size"], t, m["layers"], m["hidden"], m["heads"], m.get("mlp_ratio", 4))
        tok = np.load(f"{a.data}/lm/tokens.npy").astype(np.int64)[: bsz * t + 1]
        x = torch.from_numpy(tok[:-1].reshape(bsz, t))
        y = torch.from_numpy(tok[1:].reshape(bsz, t))
        loss_fn = lambda: F.cross_entropy(model(x).reshape(-1, m["vocab_size"]), y.reshape(-1))
    opt = torch.optim.AdamW(model.parameters(), lr=o["lr"], betas=(o["beta1"], o["beta2"]),
                            eps=o["eps"], weight_decay=o["weight_decay"])
    clip = cfg.get("grad_clip_norm")
    times = []
    for step in range(a.warmup + a.steps):
        start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        if clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        loss.item()
        if step >= a.warmup:
            times.append(time.perf_counter() - start)
    med = statistics.median(times)
    print(json.dumps({"impl": "torch", "torch": torch.__version__, "model": cfg["name"],
                      "threads": a.threads, "steps_per_s": 1.0 / med, "step_ms": med * 1e3}))


if __name__ == "__main__":
    main()
