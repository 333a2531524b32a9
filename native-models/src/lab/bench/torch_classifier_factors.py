#!/usr/bin/env python3
"""Factor runs of the torch reference classifier (shared/reference/torch-classifier/reference.py), for the
diagnosis in native-models/models/classifier.MODEL_CARD.md only; never a dependency of the product. It is the
reference script with four more flags that move one factor at a time toward the product's recipe; with their
defaults it is the reference recipe exactly:
  --early-stop off    fit all of train + val (no 15 % early-stopping part), keep the last weights (fixed budget)
  --adv 2             half of each batch replaced by PGD-l_inf adversarials, eps 2/255, 3 steps of 2.5 eps/3, random
                      start, made in eval mode (running statistics), as lab/recipes/adversarial.ts does
  --opt product-old   the earlier product optimiser: AdamW lr 1e-3, wd 1e-4 on conv/linear kernels only, batch 32,
                      no warm-up, cosine to 1e-5 (per step)
  --noise 0.3         Gaussian pixel noise with probability p, sigma ~ U[0, 0.02] after augmentation (earlier product)
Original docstring:

Trains a small residual CNN on the fitted part of a split you give as JSON and scores the test part once.
  reference.py --data ../shared/datasets/br35h --split split.json [--prep letterbox|stretch] [--seed 0]
               [--norm bn|gn] [--width 24] [--aug ref|mild] [--drop 0.2] [--epochs 60] [--threads 2]
split.json: {"train": [paths], "val": [paths], "test": [paths]}, paths relative to --data (e.g. "yes/y12.jpg").
train + val are fitted; an early-stopping part of 15 % of their near-duplicate groups (NEAR_DUPLICATES.tsv,
numpy seed 42) is held out from them for model selection. Prints one JSON line with val and test accuracy.
Needs Debian python3-torch python3-numpy python3-pil libopenblas0-pthread; run with /usr/bin/python3.
"""
import argparse, copy, csv, json, math, os, time
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
from PIL import Image

ap = argparse.ArgumentParser()
ap.add_argument('--data', required=True); ap.add_argument('--split', required=True)
ap.add_argument('--prep', default='letterbox'); ap.add_argument('--seed', type=int, default=0)
ap.add_argument('--norm', default='bn'); ap.add_argument('--width', type=int, default=24)
ap.add_argument('--aug', default='ref'); ap.add_argument('--drop', type=float, default=0.2)
ap.add_argument('--epochs', type=int, default=60); ap.add_argument('--size', type=int, default=64)
ap.add_argument('--threads', type=int, default=2)
ap.add_argument('--early-stop', default='on'); ap.add_argument('--adv', type=float, default=0)
ap.add_argument('--opt', default='ref'); ap.add_argument('--noise', type=float, default=0)
a = ap.parse_args()
torch.set_num_threads(a.threads)

def load(path, S):
    im = Image.open(path); im.load()
    if im.mode in ('RGBA', 'LA', 'PA') or (im.mode == 'P' and 'transparency' in im.info):
        im = im.convert('RGBA'); bg = Image.new('RGBA', im.size, (0, 0, 0, 255)); bg.alpha_composite(im); im = bg
    im = im.convert('L')
    if a.prep == 'letterbox':  # centre on a black square, then area-average down
        w, h = im.size; side = max(w, h); c = Image.new('L', (side, side), 0)
        c.paste(im, ((side - w) // 2, (side - h) // 2)); return np.asarray(c.resize((S, S), Image.BOX), np.uint8)
    return np.asarray(im.resize((S, S), Image.BILINEAR), np.uint8)

split = json.load(open(a.split))
groups = {r['path']: int(r['group']) for r in csv.DictReader(open(os.path.join(a.data, 'NEAR_DUPLICATES.tsv')), delimiter='\t')}
fit_paths = split['train'] + split['val']; test_paths = split['test']
def tensors(paths):
    X = torch.from_numpy(np.stack([load(os.path.join(a.data, p), a.size) for p in paths])).float().div_(255.).unsqueeze(1)
    y = torch.tensor([1 if p.startswith('yes/') else 0 for p in paths]); return X, y
Xf, yf = tensors(fit_paths); Xt, yt = tensors(test_paths)
g = np.array([groups[p] for p in fit_paths]); ug = np.unique(g); np.random.RandomState(42).shuffle(ug)
stop_groups = set(ug[:int(round(0.15 * len(ug)))].tolist()) if a.early_stop == 'on' else set(); is_stop = np.array([x in stop_groups for x in g])
tr, va = np.where(~is_stop)[0], np.where(is_stop)[0]

class Block(nn.Module):
    def __init__(s, cin, cout, stride, norm):
        super().__init__()
        s.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False); s.b1 = norm(cout)
        s.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False); s.b2 = norm(cout)
        s.sc = None if stride == 1 and cin == cout else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), norm(cout))
    def forward(s, x):
        o = s.b2(s.c2(F.relu(s.b1(s.c1(x))))); return F.relu(o + (x if s.sc is None else s.sc(x)))

class Net(nn.Module):
    """stem conv3x3 s2 -> 4 residual stages (w, 2w, 4w, 8w; strides 1, 2, 2, 2) -> global average pool -> dropout -> fc."""
    def __init__(s, w, mean, std, norm):
        super().__init__()
        s.mean, s.std = mean, std
        s.stem = nn.Sequential(nn.Conv2d(1, w, 3, 2, 1, bias=False), norm(w), nn.ReLU(inplace=True))
        s.layers = nn.Sequential(Block(w, w, 1, norm), Block(w, 2 * w, 2, norm), Block(2 * w, 4 * w, 2, norm), Block(4 * w, 8 * w, 2, norm))
        s.drop = nn.Dropout(a.drop); s.fc = nn.Linear(8 * w, 2)
    def forward(s, x):
        x = s.layers(s.stem((x - s.mean) / s.std)); return s.fc(s.drop(F.adaptive_avg_pool2d(x, 1).flatten(1)))

def affine(x, A): return F.grid_sample(x, F.affine_grid(A, x.shape, align_corners=False), mode='bilinear', padding_mode='zeros', align_corners=False)
def aug_ref(x):
    """h/v flips, rotation +-15 deg, random resized crop (area 0.8-1, aspect 3/4-4/3), shear +-0.1, brightness +-0.1, contrast 0.8-1.2."""
    N = x.shape[0]; area = torch.empty(N).uniform_(0.8, 1.0); ar = torch.exp(torch.empty(N).uniform_(math.log(3 / 4), math.log(4 / 3)))
    sx = torch.sqrt(area * ar).clamp(max=1.0); sy = torch.sqrt(area / ar).clamp(max=1.0)
    tx = (1 - sx) * torch.empty(N).uniform_(-1, 1); ty = (1 - sy) * torch.empty(N).uniform_(-1, 1)
    th = torch.empty(N).uniform_(-15, 15) * math.pi / 180; sh = torch.empty(N).uniform_(-0.1, 0.1)
    fx = torch.where(torch.rand(N) < 0.5, -1.0, 1.0); fy = torch.where(torch.rand(N) < 0.5, -1.0, 1.0)
    c, s_ = torch.cos(th), torch.sin(th); A = torch.zeros(N, 2, 3)
    A[:, 0, 0] = c * sx * fx; A[:, 0, 1] = (-s_ + sh) * sy * fy; A[:, 0, 2] = tx
    A[:, 1, 0] = s_ * sx * fx; A[:, 1, 1] = c * sy * fy; A[:, 1, 2] = ty
    x = affine(x, A); m = x.mean(dim=(2, 3), keepdim=True)
    return ((x - m) * torch.empty(N, 1, 1, 1).uniform_(0.8, 1.2) + m + torch.empty(N, 1, 1, 1).uniform_(-0.1, 0.1)).clamp_(0, 1)
def aug_mild(x):
    """h flip, rotation +-10 deg, scale 0.9-1.1, shift +-5 %, contrast 0.8-1.2."""
    N = x.shape[0]; th = torch.empty(N).uniform_(-10, 10) * math.pi / 180; sc = torch.empty(N).uniform_(0.9, 1.1)
    fx = torch.where(torch.rand(N) < 0.5, -1.0, 1.0); c, s_ = torch.cos(th) / sc, torch.sin(th) / sc; A = torch.zeros(N, 2, 3)
    A[:, 0, 0] = c * fx; A[:, 0, 1] = -s_; A[:, 0, 2] = torch.empty(N).uniform_(-0.1, 0.1)
    A[:, 1, 0] = s_ * fx; A[:, 1, 1] = c; A[:, 1, 2] = torch.empty(N).uniform_(-0.1, 0.1)
    x = affine(x, A); m = x.mean(dim=(2, 3), keepdim=True)
    return ((x - m) * torch.empty(N, 1, 1, 1).uniform_(0.8, 1.2) + m).clamp_(0, 1)

@torch.no_grad()
def accuracy(model, X, y):
    model.eval(); p = torch.cat([model(X[i:i + 256]).argmax(1) for i in range(0, len(X), 256)])
    return (p == y).float().mean().item()

torch.manual_seed(a.seed); np.random.seed(a.seed)
norm = nn.BatchNorm2d if a.norm == 'bn' else (lambda c: nn.GroupNorm(4, c))
Xtr, ytr = Xf[tr], yf[tr]
model = Net(a.width, float(Xtr.mean()), float(Xtr.std()), norm)
augment = aug_ref if a.aug == 'ref' else aug_mild
if a.opt == 'ref':
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.05)
    bs = 64; spe = (len(Xtr) + bs - 1) // bs; total = a.epochs * spe; warm = spe
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: (s + 1) / warm if s < warm else 0.5 * (1 + math.cos(math.pi * (s - warm) / (total - warm))))
else:  # the earlier product optimiser
    kern = [p for p in model.parameters() if p.dim() > 1]; rest = [p for p in model.parameters() if p.dim() <= 1]
    opt = torch.optim.AdamW([{'params': kern, 'weight_decay': 1e-4}, {'params': rest, 'weight_decay': 0}], lr=1e-3)
    bs = 32; spe = (len(Xtr) + bs - 1) // bs; total = a.epochs * spe
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: (1e-5 + 0.5 * (1e-3 - 1e-5) * (1 + math.cos(math.pi * min(1, s / total)))) / 1e-3)
def pgd(model, x, y, eps, steps):
    was = model.training; model.eval(); alpha = 2.5 * eps / steps
    v = (x + torch.empty_like(x).uniform_(-eps, eps)).clamp(0, 1).detach()
    for _ in range(steps):
        v.requires_grad_(True); g, = torch.autograd.grad(F.cross_entropy(model(v), y), v)
        v = torch.min(torch.max(v.detach() + alpha * g.sign(), x - eps), x + eps).clamp(0, 1).detach()
    model.train(was); return v
best, best_state, best_ep, t0 = -1.0, None, 0, time.time()
for ep in range(a.epochs):  # cosine schedule with one warm-up epoch; early stop after 15 epochs without a better val
    model.train(); perm = torch.randperm(len(Xtr))
    for i in range(0, len(Xtr), bs):
        idx = perm[i:i + bs]
        if len(idx) < 8: continue
        xb = augment(Xtr[idx]); yb = ytr[idx]
        if a.noise > 0:
            on = (torch.rand(len(xb), 1, 1, 1) < a.noise).float(); sig = torch.empty(len(xb), 1, 1, 1).uniform_(0, 0.02)
            xb = (xb + on * sig * torch.randn_like(xb)).clamp(0, 1)
        if a.adv > 0:
            m = (len(xb) + 1) // 2; xb = torch.cat([pgd(model, xb[:m], yb[:m], a.adv / 255, 3), xb[m:]])
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step(); sched.step()
    if len(va) == 0:  # no early-stopping part: fixed budget, last weights
        best, best_state, best_ep = float('nan'), copy.deepcopy(model.state_dict()), ep + 1; continue
    v = accuracy(model, Xf[va], yf[va])
    if v > best: best, best_state, best_ep = v, copy.deepcopy(model.state_dict()), ep + 1
    if ep + 1 - best_ep >= 15: break
model.load_state_dict(best_state)
print(json.dumps(dict(vars(a), fitted=len(tr), early_stop_part=len(va), test=len(test_paths), best_epoch=best_ep,
                      val_accuracy=best, test_accuracy=accuracy(model, Xt, yt), seconds=round(time.time() - t0))))
