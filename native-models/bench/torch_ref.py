#!/usr/bin/env python3
"""Torch reference for `medfedpure bench train`: the SAME reference CNN (nets/classifier.ts, default config) and
reference UNet (nets/unet.ts, default config) as the TypeScript graphs, one forward+backward step timed on CPU.
Optional: run only when /usr/bin/python3 can import torch. `--serve` (what the bench uses) answers timing requests
on stdin, see serve(); without it, one run prints one JSON line: {"cnn_ms": ..., "unet_ms": ...}."""
import argparse, json, math, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F


class ResBlockCNN(nn.Module):
    def __init__(self, cin, cout, groups):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, 2, 1, bias=False)
        self.gn1 = nn.GroupNorm(groups, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.gn2 = nn.GroupNorm(groups, cout)
        self.shortcut = nn.Conv2d(cin, cout, 1, 2, 0)

    def forward(self, x):
        h = F.relu(self.gn1(self.conv1(x)))
        h = self.gn2(self.conv2(h))
        return F.relu(h + self.shortcut(x))


class Classifier(nn.Module):
    def __init__(self, width=16, groups=4, classes=2):
        super().__init__()
        c = width
        self.stem = nn.Conv2d(1, c, 3, 2, 1, bias=False)
        self.gn = nn.GroupNorm(groups, c)
        self.block1 = ResBlockCNN(c, 2 * c, groups)
        self.block2 = ResBlockCNN(2 * c, 4 * c, groups)
        self.block3 = ResBlockCNN(4 * c, 8 * c, groups)
        self.fc = nn.Linear(8 * c, classes)

    def forward(self, x):
        h = F.relu(self.gn(self.stem(x)))
        h = self.block3(self.block2(self.block1(h)))
        return self.fc(h.mean(dim=(2, 3)))


class ResBlock(nn.Module):
    def __init__(self, cin, cout, tdim, groups):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, 1, 1)
        self.temb = nn.Linear(tdim, cout)
        self.norm2 = nn.GroupNorm(groups, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.temb(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.skip(x) if self.skip is not None else x) + h


class Attn(nn.Module):
    def __init__(self, c, groups, heads):
        super().__init__()
        self.norm = nn.GroupNorm(groups, c)
        self.q, self.k, self.v, self.proj = (nn.Linear(c, c) for _ in range(4))
        self.heads = heads

    def forward(self, x):
        n, c, hh, ww = x.shape
        t = self.norm(x).reshape(n, c, hh * ww).transpose(1, 2)
        dh = c // self.heads
        sp = lambda z: z.reshape(n, hh * ww, self.heads, dh).transpose(1, 2)
        q, k, v = sp(self.q(t)), sp(self.k(t)), sp(self.v(t))
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(dh), dim=-1) @ v
        o = self.proj(a.transpose(1, 2).reshape(n, hh * ww, c))
        return x + o.transpose(1, 2).reshape(n, c, hh, ww)


class UNet(nn.Module):
    def __init__(self, width=32, mults=(1, 2, 2), groups=8, heads=4):
        super().__init__()
        self.width, self.mults = width, mults
        tdim = width * 4
        self.fc1, self.fc2 = nn.Linear(width, tdim), nn.Linear(tdim, tdim)
        self.conv_in = nn.Conv2d(1, width, 3, 1, 1)
        L = len(mults)
        self.down, self.downsample, self.up, self.upsample = nn.ModuleList(), nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        ch_in = width
        for i, m in enumerate(mults):
            ch = width * m
            self.down.append(ResBlock(ch_in, ch, tdim, groups))
            self.downsample.append(nn.Conv2d(ch, ch, 3, 2, 1) if i < L - 1 else nn.Identity())
            ch_in = ch
        self.down_attn = Attn(ch_in, groups, heads)
        self.mid1, self.mid_attn, self.mid2 = ResBlock(ch_in, ch_in, tdim, groups), Attn(ch_in, groups, heads), ResBlock(ch_in, ch_in, tdim, groups)
        h_ch = ch_in
        for i in reversed(range(L)):
            ch = width * mults[i]
            self.up.append(ResBlock(h_ch + ch, ch, tdim, groups))
            self.upsample.append(nn.ConvTranspose2d(ch, width * mults[i - 1], 4, 2, 1) if i > 0 else nn.Identity())
            h_ch = width * mults[i - 1] if i > 0 else ch
        self.up_attn = Attn(width * mults[-1], groups, heads)
        self.norm_out, self.conv_out = nn.GroupNorm(groups, width), nn.Conv2d(width, 1, 3, 1, 1)

    def forward(self, x, t):
        half = self.width // 2
        freqs = torch.exp(-math.log(10000) * torch.arange(half) / half)
        args = t[:, None] * freqs[None]
        temb = self.fc2(F.silu(self.fc1(torch.cat([torch.sin(args), torch.cos(args)], 1))))
        h = self.conv_in(x)
        skips = []
        L = len(self.mults)
        for i in range(L):
            h = self.down[i](h, temb)
            if i == L - 1:
                h = self.down_attn(h)
            skips.append(h)
            h = self.downsample[i](h)
        h = self.mid2(self.mid_attn(self.mid1(h, temb)), temb)
        for j, i in enumerate(reversed(range(L))):
            h = self.up[j](torch.cat([h, skips[i]], 1), temb)
            if i == L - 1:
                h = self.up_attn(h)
            h = self.upsample[j](h)
        return self.conv_out(F.silu(self.norm_out(h)))


def time_step(fn, steps, warmup):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(steps):
        t0 = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1000)
    ts.sort()
    return ts[len(ts) // 2]


def serve(steps_of):
    """Interleaved mode for the benchmark: one JSON request per stdin line, {"model": "cnn"|"unet", "steps": N}, answered
    with {"ms": [per-step ms...]} on stdout, so ours and torch can be timed in alternating rounds under the same load."""
    for line in sys.stdin:
        line = line.strip()
        if not line or line == 'quit':
            break
        req = json.loads(line)
        fn = steps_of[req['model']]
        ts = []
        for _ in range(int(req['steps'])):
            t0 = time.perf_counter()
            fn()
            ts.append((time.perf_counter() - t0) * 1000)
        print(json.dumps({'ms': ts}), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--batch', type=int, default=32)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--steps', type=int, default=20)
    ap.add_argument('--serve', action='store_true', help='answer timing requests on stdin (see serve())')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    n = a.batch
    x = torch.rand(n, 1, 64, 64)
    y = torch.randint(0, 2, (n,))
    cnn = Classifier()

    def cnn_step():
        cnn.zero_grad(set_to_none=True)
        F.cross_entropy(cnn(x), y).backward()

    unet = UNet()
    ab = torch.cumprod(1 - torch.linspace(1e-4, 0.02, 1000), 0)

    def unet_step():
        unet.zero_grad(set_to_none=True)
        t = torch.randint(0, 1000, (n,))
        eps = torch.randn_like(x)
        a_ = ab[t].sqrt()[:, None, None, None]
        s_ = (1 - ab[t]).sqrt()[:, None, None, None]
        xt = a_ * (2 * x - 1) + s_ * eps
        F.mse_loss(unet(xt, t.float()), eps).backward()

    if a.serve:
        for _ in range(3):
            cnn_step()
        unet_step()
        print(json.dumps({'ready': True, 'cnn_params': sum(p.numel() for p in cnn.parameters()),
                          'unet_params': sum(p.numel() for p in unet.parameters()), 'torch': torch.__version__}), flush=True)
        serve({'cnn': cnn_step, 'unet': unet_step})
        return

    out = {
        'cnn_ms': time_step(cnn_step, a.steps, 3),
        'unet_ms': time_step(unet_step, max(3, a.steps // 6), 1),
        'cnn_params': sum(p.numel() for p in cnn.parameters()),
        'unet_params': sum(p.numel() for p in unet.parameters()),
        'torch': torch.__version__,
    }
    print(json.dumps(out))


if __name__ == '__main__':
    main()
