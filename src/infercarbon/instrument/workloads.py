"""Real inference workloads for CPU, in numpy only, with no downloads.

- **WL-01** vibration anomaly: a 1-D CNN over a 1 s accelerometer window (1,024 samples at
  1,024 Hz), about 300 k parameters.  Conv layers use seeded He-initialised weights; the
  classification head is fitted by ridge regression on synthetic signals (shaft harmonics plus
  noise; anomalies add bearing-fault impulse trains), so the model really separates the two.
- **WL-02-like** surface defect QC: a small 2-D CNN over a 3x128x128 image patch (about 400 k
  parameters; the seed's WL-02 is a ~3 M-parameter YOLO-N on 1280x720, far heavier), with the
  head fitted the same way on synthetic textures with and without scratch defects.

Convolutions are im2col (``numpy.lib.stride_tricks.sliding_window_view``) plus one matmul per
layer, so a forward pass is real arithmetic of the stated size (``macs`` per input).

>>> wl = make_workload("WL-01", seed=0)
>>> wl.n_params > 250_000
True
>>> x = wl.sample(4, seed=1)
>>> wl.predict(x).shape
(4,)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from infercarbon.errors import UnknownWorkloadError

__all__ = ["WORKLOAD_IDS", "Conv1dNet", "Conv2dNet", "Workload", "make_workload"]

Float32Array = npt.NDArray[np.float32]


def _relu(x: Float32Array) -> Float32Array:
    np.maximum(x, 0.0, out=x)
    return x


@dataclass(frozen=True)
class _Conv:
    w: Float32Array  # (C_in * k [* k], C_out)
    b: Float32Array  # (C_out,)
    k: int
    stride: int


def _he(rng: np.random.Generator, fan_in: int, fan_out: int) -> Float32Array:
    w = rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)
    return np.asarray(w, dtype=np.float32)


class Conv1dNet:
    """1-D CNN: conv stack (im2col + matmul), global average pool, dense layers, 2-class head."""

    def __init__(
        self,
        *,
        in_len: int,
        channels: tuple[int, ...],
        kernels: tuple[int, ...],
        dense: tuple[int, ...],
        seed: int,
    ) -> None:
        rng = np.random.default_rng(seed)
        self.in_len = in_len
        self.convs: list[_Conv] = []
        c_in = 1
        for c_out, k in zip(channels, kernels, strict=True):
            self.convs.append(_Conv(_he(rng, c_in * k, c_out), np.zeros(c_out, np.float32), k, 2))
            c_in = c_out
        self.dense: list[tuple[Float32Array, Float32Array]] = []
        d_in = c_in
        for d_out in dense:
            self.dense.append((_he(rng, d_in, d_out), np.zeros(d_out, np.float32)))
            d_in = d_out
        self.head_w = np.zeros((d_in, 2), np.float32)
        self.head_b = np.zeros(2, np.float32)

    def embed(self, x: Float32Array) -> Float32Array:
        """(B, L) signals -> (B, D) features before the head."""
        h = x[:, None, :].astype(np.float32)  # (B, C, L)
        for conv in self.convs:
            pad = conv.k // 2
            h = np.pad(h, ((0, 0), (0, 0), (pad, pad)))
            win = sliding_window_view(h, conv.k, axis=2)[:, :, :: conv.stride, :]  # B,C,Lo,k
            cols = win.transpose(0, 2, 1, 3).reshape(h.shape[0], win.shape[2], -1)
            h = _relu(cols @ conv.w + conv.b).transpose(0, 2, 1)  # B, C_out, Lo
        f = h.mean(axis=2)
        for w, b in self.dense:
            f = _relu(f @ w + b)
        return np.asarray(f, dtype=np.float32)

    def forward(self, x: Float32Array) -> Float32Array:
        """(B, L) -> (B, 2) logits."""
        return self.embed(x) @ self.head_w + self.head_b

    @property
    def n_params(self) -> int:
        n = sum(c.w.size + c.b.size for c in self.convs)
        n += sum(w.size + b.size for w, b in self.dense)
        return int(n + self.head_w.size + self.head_b.size)

    @property
    def macs(self) -> int:
        """Multiply-accumulates per input."""
        length, total = self.in_len, 0
        for c in self.convs:
            length = (length + 2 * (c.k // 2) - c.k) // c.stride + 1
            total += length * c.w.size
        total += sum(w.size for w, _ in self.dense) + self.head_w.size
        return int(total)


class Conv2dNet:
    """2-D CNN: stride-2 3x3 convs (im2col + matmul), global average pool, 2-class head."""

    def __init__(self, *, in_hw: int, channels: tuple[int, ...], seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.in_hw = in_hw
        self.convs: list[_Conv] = []
        c_in = 3
        for c_out in channels:
            self.convs.append(_Conv(_he(rng, c_in * 9, c_out), np.zeros(c_out, np.float32), 3, 2))
            c_in = c_out
        self.head_w = np.zeros((c_in, 2), np.float32)
        self.head_b = np.zeros(2, np.float32)

    def embed(self, x: Float32Array) -> Float32Array:
        """(B, 3, H, W) images -> (B, D) features."""
        h = x.astype(np.float32).transpose(0, 2, 3, 1)  # NHWC
        for conv in self.convs:
            h = np.pad(h, ((0, 0), (1, 1), (1, 1), (0, 0)))
            win = sliding_window_view(h, (3, 3), axis=(1, 2))[:, ::2, ::2]  # B,Ho,Wo,C,3,3
            b, ho, wo = win.shape[:3]
            cols = win.reshape(b, ho * wo, -1)
            h = _relu(cols @ conv.w + conv.b).reshape(b, ho, wo, -1)
        return np.asarray(h.mean(axis=(1, 2)), dtype=np.float32)

    def forward(self, x: Float32Array) -> Float32Array:
        return self.embed(x) @ self.head_w + self.head_b

    @property
    def n_params(self) -> int:
        n = sum(c.w.size + c.b.size for c in self.convs)
        return int(n + self.head_w.size + self.head_b.size)

    @property
    def macs(self) -> int:
        hw, total = self.in_hw, 0
        for c in self.convs:
            hw = (hw + 2 - 3) // 2 + 1
            total += hw * hw * c.w.size
        return int(total + self.head_w.size)


# ------------------------------------------------------------------ synthetic inputs
def _vibration(n: int, rng: np.random.Generator, anomalous: npt.NDArray[np.bool_]) -> Float32Array:
    """1 s at 1,024 Hz: shaft harmonics + noise; anomalies add a bearing-fault impulse train."""
    t = np.arange(1024) / 1024.0
    f0 = rng.uniform(20.0, 30.0, (n, 1))
    x = np.sin(2 * np.pi * f0 * t) + 0.4 * np.sin(
        2 * np.pi * 2 * f0 * t + rng.uniform(0, 6, (n, 1))
    )
    x += 0.3 * rng.standard_normal((n, 1024))
    fault_hz = rng.uniform(80.0, 160.0, (n, 1))
    phase = (t * fault_hz) % 1.0
    impulses = np.exp(-phase * 12.0) * np.sin(2 * np.pi * 300.0 * t)
    x += np.where(anomalous[:, None], 2.0 * impulses, 0.0)
    return x.astype(np.float32)


def _patches(n: int, rng: np.random.Generator, defect: npt.NDArray[np.bool_]) -> Float32Array:
    """3x128x128 brushed-metal texture; defects add a bright scratch line."""
    base = rng.normal(0.5, 0.05, (n, 1, 128, 128)) + 0.05 * np.sin(
        np.arange(128) / rng.uniform(1.5, 3.0, (n, 1, 1, 1))
    )
    img = np.repeat(base, 3, axis=1)
    yy, xx = np.mgrid[0:128, 0:128]
    a = rng.uniform(-1.0, 1.0, n)
    c = rng.uniform(20, 108, n)
    dist = np.abs(yy[None] - (a[:, None, None] * (xx[None] - 64) + c[:, None, None]))
    scratch = (dist < 1.5) & defect[:, None, None]
    img += 0.6 * scratch[:, None, :, :]
    return img.astype(np.float32)


def _fit_head(
    embed: Callable[[Float32Array], Float32Array],
    make: Callable[[int, np.random.Generator, npt.NDArray[np.bool_]], Float32Array],
    rng: np.random.Generator,
    n: int,
) -> tuple[Float32Array, Float32Array]:
    """Ridge regression of one-hot labels on the features: the only training step."""
    y = np.arange(n) % 2 == 1
    f = embed(make(n, rng, y)).astype(np.float64)
    mu, sd = f.mean(axis=0), f.std(axis=0) + 1e-6
    z = (f - mu) / sd
    targets = np.stack([~y, y], axis=1).astype(np.float64)
    w = np.linalg.solve(z.T @ z + 1.0 * np.eye(z.shape[1]), z.T @ (targets - 0.5))
    # fold the standardisation into the head: logits = f @ (w / sd) - mu @ (w / sd)
    head_w = (w / sd[:, None]).astype(np.float32)
    head_b = (-(mu / sd) @ w).astype(np.float32)
    return head_w, head_b


@dataclass
class Workload:
    """One runnable workload: a model, its synthetic input generator and its description."""

    id: str
    name: str
    model: Conv1dNet | Conv2dNet
    input_desc: str
    _make: Callable[[int, np.random.Generator, npt.NDArray[np.bool_]], Float32Array]

    @property
    def n_params(self) -> int:
        return self.model.n_params

    @property
    def macs(self) -> int:
        """Multiply-accumulates per input."""
        return self.model.macs

    def sample(self, n: int, *, seed: int = 0, anomaly_frac: float = 0.5) -> Float32Array:
        """``n`` synthetic inputs, a fraction of them anomalous/defective."""
        rng = np.random.default_rng(seed)
        return self._make(n, rng, rng.random(n) < anomaly_frac)

    def predict(self, x: Float32Array) -> npt.NDArray[np.float64]:
        """Probability of anomaly/defect per input (a real forward pass)."""
        logits = self.model.forward(x).astype(np.float64)
        z = logits[:, 1] - logits[:, 0]
        return 1.0 / (1.0 + np.exp(-z))


def _wl01(seed: int) -> Workload:
    net = Conv1dNet(
        in_len=1024,
        channels=(32, 64, 128, 128),
        kernels=(7, 5, 5, 3),
        dense=(256, 512, 64),
        seed=seed,
    )
    net.head_w, net.head_b = _fit_head(net.embed, _vibration, np.random.default_rng(seed + 1), 256)
    return Workload(
        "WL-01",
        "vibration anomaly (1-D CNN)",
        net,
        "1 s accelerometer window, 1,024 samples",
        _vibration,
    )


def _wl02(seed: int) -> Workload:
    net = Conv2dNet(in_hw=128, channels=(16, 32, 64, 128, 256), seed=seed)
    net.head_w, net.head_b = _fit_head(net.embed, _patches, np.random.default_rng(seed + 1), 128)
    return Workload(
        "WL-02",
        "surface defect QC, small 2-D CNN (WL-02-like)",
        net,
        "3x128x128 image patch",
        _patches,
    )


_FACTORIES: dict[str, Callable[[int], Workload]] = {"WL-01": _wl01, "WL-02": _wl02}
WORKLOAD_IDS: tuple[str, ...] = tuple(_FACTORIES)


def make_workload(workload_id: str, *, seed: int = 0) -> Workload:
    """Build a workload deterministically from ``seed`` (weights and fitted head)."""
    key = workload_id.upper()
    if key not in _FACTORIES:
        raise UnknownWorkloadError(workload_id, known=WORKLOAD_IDS)
    return _FACTORIES[key](seed)
