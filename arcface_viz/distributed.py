"""Partial FC: the margin head with its class centres sampled per step and sharded over processes.

With C identities the head holds a (C, D) matrix of class centres W and every step computes a
(B, C) matrix of logits; at the paper's ~85k identities (and millions in later data sets) both
outgrow one device. Partial FC (An et al., "Partial FC: Training 10 Million Identities on a Single
Machine", ICCV 2021 workshops; "Killing Two Birds with One Stone", CVPR 2022) does two things:

- **Sharding.** Process r of W holds only its share of the centres (classes
  ``shard_range(C, W, r)``). The embeddings of every process are gathered with an autograd-aware
  all-gather (``torch.distributed._functional_collectives.all_gather_single``, which torch 2.13
  recommends over the deprecated ``torch.distributed.nn.functional.all_gather``; the latter on older
  torch), each process computes the logits of
  the whole batch against its own centres, and the softmax normaliser is reduced across processes
  as a log-sum-exp: the row maximum first (all-reduce MAX, so no exp overflows), then the sum of
  exp(logit − max) (all-reduce SUM, differentiable). The margin is applied on the process that owns
  the target class, by :func:`arcface_viz.heads.margin_logits` — the package's one margin formula.
- **Sampling.** With ``sample_rate`` r < 1 each process keeps, per step, the centres of the classes
  present in the batch (the positives) plus a random share r of its other centres (the negatives);
  the softmax runs over those only. r = 1 is the full head, exactly.

:class:`PartialFC` is the one-process version (sampling only); :class:`ShardedMarginHead` is the
same computation sharded over a ``torch.distributed`` process group (gloo on CPUs, nccl on GPUs).
Both return the mean cross-entropy of the whole (gathered) batch. :func:`fit` trains a backbone
with either: under ``torchrun`` the backbone is wrapped in ``DistributedDataParallel`` and the head
is sharded. :func:`spawn` starts a few gloo processes on this machine for tests and lessons.

Loss bookkeeping across processes: autograd through the collectives differentiates the *sum* of
the values every process backpropagates. Each process therefore backpropagates only its own rows'
share of the global mean, so the sum over processes is the global mean cross-entropy and the
gradients of the centres and the embeddings equal those of one process holding the whole batch.
The value returned is the global mean on every process. DistributedDataParallel would average the
backbone's gradients over the W processes (right for per-process losses); since each process's
gradient is already its share of the global loss, :func:`fit` makes DDP sum them instead.
"""
from __future__ import annotations

import io
import math
import os
import socket
import warnings
from collections.abc import Callable

import numpy as np
import torch
import torch.distributed as dist
import torch.distributed.nn.functional as dist_nn
import torch.nn.functional as F
from torch import Tensor, nn

from arcface_viz._validation import check_int, check_labels, check_real
from arcface_viz.heads import make_head, margin_logits
from arcface_viz.losses import get_loss
from arcface_viz.training import (
    EVAL_BATCH,
    TrainResult,
    check_fit_args,
    eval_mode,
    fit_config,
    forward_in_chunks,
    head_config,
    images_and_labels,
    train_epochs,
)

__all__ = ["shard_range", "PartialFC", "ShardedMarginHead", "SyncedBatchNorm", "convert_synced_batchnorm",
           "revert_synced_batchnorm", "fit", "init_from_env", "spawn", "free_port"]

_NO_GROUP = ("torch.distributed is not initialised: start the script with torchrun (e.g. `torchrun --standalone "
             "--nproc_per_node 2 ...`) and call torch.distributed.init_process_group('gloo') (or 'nccl' on GPUs) "
             "first, or use PartialFC in a single process")


def shard_range(n_classes: int, world_size: int, rank: int) -> tuple[int, int]:
    """Classes ``[start, stop)`` held by process ``rank`` of ``world_size``.

    The first ``n_classes % world_size`` processes hold one class more than the others, so any C
    works (it need not divide by the number of processes).

    Parameters
    ----------
    n_classes : int
        Number of classes C, >= ``world_size``.
    world_size : int
        Number of processes W, >= 1.
    rank : int
        This process, in [0, W).

    Returns
    -------
    tuple of int
        ``(start, stop)``, ``stop − start`` is ``C // W`` or ``C // W + 1``.

    Raises
    ------
    ValueError
        If C < W (a process would hold no class) or ``rank`` is outside [0, W).

    Examples
    --------
    >>> [shard_range(10, 3, r) for r in range(3)]
    [(0, 4), (4, 7), (7, 10)]
    """
    n_classes = check_int("n_classes", n_classes, minimum=1, fix="pass the number of identities C")
    world_size = check_int("world_size", world_size, minimum=1, fix="pass the number of processes")
    rank = check_int("rank", rank, minimum=0, fix="pass this process's rank")
    if n_classes < world_size:
        raise ValueError(f"n_classes={n_classes} < world_size={world_size}: every process must hold at least one "
                         "class centre; use fewer processes")
    if rank >= world_size:
        raise ValueError(f"rank={rank}: must lie in [0, {world_size - 1}] for world_size={world_size}")
    base, extra = divmod(int(n_classes), int(world_size))
    start = rank * base + min(rank, extra)
    return start, start + base + (rank < extra)


def _check_rate(sample_rate: float) -> float:
    return check_real("sample_rate", sample_rate, low=0.0, high=1.0, low_open=True,
                      fix="pass the share of negative centres kept, 1 for the full head (Partial FC reports use 0.1)")


class PartialFC(nn.Module):
    """A margin head trained on the positive centres plus a random share of the negatives, in one process.

    Parameters
    ----------
    loss : str
        A loss of :mod:`arcface_viz.losses` ("softmax", "arcface", "cosface", ...).
    in_features : int
        Embedding dimension D.
    out_features : int
        Number of classes C.
    sample_rate : float, default 1.0
        Share r in (0, 1] of the negative centres kept per step, on top of every centre whose class
        is in the batch; r = 1 is the full head.
    seed : int, default 0
        Seed of the sampling generator.
    **head_kwargs
        The head's own parameters (``s``, ``m``, ``m1``/``m2``/``m3``, ``easy_margin``, ``k``),
        validated by :func:`arcface_viz.heads.make_head` with the registry's defaults.

    Attributes
    ----------
    weight : Parameter, shape (C·k, D)
        The class centres (k sub-centres per class for "subcenter", else k = 1).
    bias : Parameter, shape (C,), or None
        Softmax only.
    sampled_classes : Tensor or None
        The classes of this shard kept in the last training step (sorted, int64); None when every
        class was kept (r = 1, eval mode) or before the first step.

    Notes
    -----
    ``forward(embeddings (B, D), labels (B,)) -> scalar`` mean cross-entropy with the margin (the
    head's own formula, :func:`arcface_viz.heads.margin_logits`) over the kept classes. Centres
    that were not kept get a zero gradient that step. ``predict`` and ``full_head`` use every centre.

    References
    ----------
    X. An et al., "Partial FC: Training 10 Million Identities on a Single Machine", ICCV 2021
    workshops (arXiv 2010.05222); X. An et al., "Killing Two Birds with One Stone", CVPR 2022.

    Examples
    --------
    >>> head = PartialFC("arcface", 8, 100, sample_rate=0.1, s=16.0, m=0.5)
    >>> loss = head(torch.randn(32, 8), torch.randint(0, 100, (32,)))
    >>> loss.shape
    torch.Size([])
    """

    world_size = 1
    rank = 0

    def __init__(self, loss: str, in_features: int, out_features: int, *, sample_rate: float = 1.0, seed: int = 0,
                 **head_kwargs: object) -> None:
        super().__init__()
        self.loss_name = get_loss(loss).name
        self.sample_rate = _check_rate(sample_rate)
        # a one-class head of the same kind validates the parameters and holds s, margins, warm-up
        template = make_head(self.loss_name, in_features, 1, **head_kwargs)
        self.__dict__["_template"] = template  # not a submodule: its 1-row weight is never trained
        self.head_kwargs = head_config(template)["kwargs"]
        self.in_features = template.in_features
        self.out_features = check_int("out_features", out_features, minimum=1, fix="pass the number of classes C")
        self.start, self.stop = self._shard(self.out_features)
        self.k = int(getattr(template, "k", 1))
        self.normalized = get_loss(self.loss_name).normalized
        n_local = self.stop - self.start
        self.weight = nn.Parameter(torch.empty(n_local * self.k, self.in_features))
        self.bias = None
        if self.normalized:
            nn.init.normal_(self.weight, std=0.01)  # as the single-process heads: random directions
        else:  # nn.Linear's initialisation, with the fan-in of the whole layer
            bound = 1 / math.sqrt(self.in_features)
            nn.init.uniform_(self.weight, -bound, bound)
            if template.linear.bias is not None:
                self.bias = nn.Parameter(torch.empty(n_local).uniform_(-bound, bound))
        stream = np.random.SeedSequence([seed, self.rank]).generate_state(1)[0]  # one stream per process
        self._generator = torch.Generator().manual_seed(int(stream))
        self.sampled_classes: Tensor | None = None

    # ------------------------------------------------------------------ construction helpers
    def _shard(self, n_classes: int) -> tuple[int, int]:
        return shard_range(n_classes, 1, 0)

    @classmethod
    def from_head(cls, head: nn.Module, *, sample_rate: float = 1.0, seed: int = 0, **kwargs) -> PartialFC:
        """The same centres as ``head`` (a head of :mod:`arcface_viz.heads`), this process's share of them.

        Parameters
        ----------
        head : nn.Module
            A head built by :func:`arcface_viz.heads.make_head`.
        sample_rate : float, default 1.0
            Share r in (0, 1] of the negative centres kept per step.
        seed : int, default 0
            Seed of the sampling generator.
        **kwargs
            Further arguments of the class (``group`` for :class:`ShardedMarginHead`).

        Returns
        -------
        PartialFC
            The new head, in ``head``'s dtype and device, with its margin warm-up factor.

        Raises
        ------
        TypeError
            If ``head`` is not a named head of :mod:`arcface_viz.heads`.
        """
        config = head_config(head)
        new = cls(config["name"], config["in_features"], config["out_features"], sample_rate=sample_rate,
                  seed=seed, **kwargs, **config["kwargs"]).to(device=head.weight.device, dtype=head.weight.dtype)
        with torch.no_grad():
            new.weight.copy_(head.weight.detach()[new.start * new.k:new.stop * new.k])
            if new.bias is not None:
                new.bias.copy_(head.linear.bias.detach()[new.start:new.stop])
        new.margin_factor = head.margin_factor
        return new

    # ------------------------------------------------------------------ margin warm-up and names
    @property
    def margin_factor(self) -> float:
        """Fraction in [0, 1] of the margins applied (the margin warm-up of :func:`fit`)."""
        return self._template.margin_factor

    @margin_factor.setter
    def margin_factor(self, value: float) -> None:
        self._template.margin_factor = value

    @property
    def s(self) -> float | None:
        """The scale s (None for softmax)."""
        return self._template.s

    def describe(self) -> str:
        """The head's label for titles and progress bars.

        Returns
        -------
        str
            E.g. "ArcFace (s=16, m=0.5), Partial FC r=0.1".
        """
        rate = "" if self.sample_rate == 1 else f", Partial FC r={self.sample_rate:g}"
        shards = "" if self.world_size == 1 else f", {self.world_size} shards"
        return f"{self._template.describe()}{rate}{shards}"

    def extra_repr(self) -> str:
        """Shapes, shard and label shown by ``repr(head)``.

        Returns
        -------
        str
            E.g. "in_features=8, out_features=100, classes=[0, 100), ArcFace (s=16, m=0.5)".
        """
        return (f"in_features={self.in_features}, out_features={self.out_features}, classes=[{self.start}, "
                f"{self.stop}), {self.describe()}")

    # ------------------------------------------------------------------ collectives (identity in one process)
    def _gather(self, x: Tensor, labels: Tensor) -> tuple[Tensor, Tensor, slice]:
        return x, labels, slice(0, x.shape[0])

    def _all_reduce(self, tensor: Tensor, op: str, differentiable: bool) -> Tensor:
        return tensor

    # ------------------------------------------------------------------ checks
    def _check_inputs(self, embeddings: Tensor, labels: Tensor | None) -> None:
        if not isinstance(embeddings, Tensor) or not embeddings.is_floating_point():
            raise TypeError(f"embeddings of type {getattr(embeddings, 'dtype', type(embeddings).__name__)}: pass a "
                            "floating tensor of shape (B, in_features)")
        if embeddings.dim() != 2 or embeddings.shape[1] != self.in_features:
            raise ValueError(f"embeddings of shape {tuple(embeddings.shape)}: expected (B, {self.in_features})")
        if embeddings.device != self.weight.device:
            raise ValueError(f"embeddings on {embeddings.device} but the centres on {self.weight.device}: "
                             "move both to one device")
        expected = ((self.stop - self.start) * self.k, self.in_features)
        if tuple(self.weight.shape) != expected:
            raise ValueError(f"weight of shape {tuple(self.weight.shape)} on rank {self.rank}: this shard holds "
                             f"classes [{self.start}, {self.stop}) of {self.out_features}, so expected {expected}; "
                             "load each rank's own shard (state_dict of the same rank and world size)")
        check_labels(labels, embeddings.shape[0], self.out_features, embeddings.device)

    def _compute_dtype(self, embeddings: Tensor) -> torch.dtype:
        return torch.promote_types(torch.promote_types(embeddings.dtype, self.weight.dtype), torch.float32)

    # ------------------------------------------------------------------ sampling
    def _sample(self, labels: Tensor) -> Tensor | None:
        """Local indices of the kept classes of this shard (sorted), or None for all of them."""
        if self.sample_rate == 1.0 or not self.training:
            return None
        n_local = self.stop - self.start
        mine = labels[(labels >= self.start) & (labels < self.stop)] - self.start
        positive = torch.zeros(n_local, dtype=torch.bool)
        positive[mine.cpu()] = True
        negatives = (~positive).nonzero().squeeze(1)
        keep = math.ceil(self.sample_rate * len(negatives))
        chosen = negatives[torch.randperm(len(negatives), generator=self._generator)[:keep]]
        classes = torch.cat([positive.nonzero().squeeze(1), chosen]).sort().values
        return classes.to(labels.device)

    # ------------------------------------------------------------------ the loss
    def _logits(self, x: Tensor, classes: Tensor | None) -> Tensor:
        """Margin-free logits (N, n) of the rows of ``x`` against the kept classes of this shard."""
        weight, bias = self.weight.to(x.dtype), self.bias
        if classes is not None:
            rows = (classes[:, None] * self.k + torch.arange(self.k, device=classes.device)).reshape(-1)
            weight = weight.index_select(0, rows)
            bias = None if bias is None else bias.index_select(0, classes)
        if not self.normalized:
            return F.linear(x, weight, None if bias is None else bias.to(x.dtype))
        cos = F.linear(F.normalize(x, dim=1), F.normalize(weight, dim=1))
        if self.k > 1:  # sub-centres: the closest of each class's k centres
            cos = cos.view(cos.shape[0], -1, self.k).amax(dim=2)
        return cos

    def forward(self, embeddings: Tensor, labels: Tensor) -> Tensor:
        """Mean cross-entropy of the whole batch (gathered over the processes) with the margin.

        Parameters
        ----------
        embeddings : Tensor, shape (B, D), floating
            This process's embeddings (need not be unit length). The batch size may differ
            between processes.
        labels : Tensor, shape (B,), int
            Class of each embedding, in [0, C−1].

        Returns
        -------
        Tensor, scalar
            The mean over every process's rows, float32 (float64 for float64 inputs); the same
            value on every process.

        Raises
        ------
        TypeError, ValueError
            Bad embeddings or labels (type, shape, device, range), a shard of the wrong shape, an
            empty batch on every process.
        """
        self._check_inputs(embeddings, labels)
        x = embeddings.to(self._compute_dtype(embeddings))
        x_all, y_all, mine = self._gather(x, labels.long())
        n = x_all.shape[0]
        if n == 0:
            raise ValueError("empty batch: the mean cross-entropy of no samples is NaN; skip empty batches")
        classes = self._sample(y_all) if self.training else None
        self.sampled_classes = None if classes is None else classes.cpu() + self.start
        raw = self._logits(x_all, classes)
        owned = ((y_all >= self.start) & (y_all < self.stop)).nonzero().squeeze(1)
        column = y_all[owned] - self.start
        if classes is not None:  # position of each target among the kept classes (they are sorted)
            column = torch.searchsorted(classes, column)
        if self.normalized:
            m1, m2, m3 = self._template.effective_margins()
            # the package's margin formula, on the B_owned target cosines seen as (B_owned, 1) logits
            target = margin_logits(raw[owned, column].unsqueeze(1), torch.zeros_like(column), s=self.s, m1=m1, m2=m2,
                                   m3=m3, easy_margin=self._template.easy_margin).squeeze(1)
            logits = (self.s * raw).index_put((owned, column), target)
        else:
            logits, target = raw, raw[owned, column]
        # log Σ_j exp(z_j) over every shard: the global row maximum first, so no exp overflows
        row_max = self._all_reduce(logits.detach().amax(dim=1), "max", differentiable=False)
        sum_exp = self._all_reduce(torch.exp(logits - row_max.unsqueeze(1)).sum(dim=1), "sum", differentiable=True)
        target_all = self._all_reduce(logits.new_zeros(n).index_put((owned,), target), "sum", differentiable=True)
        per_row = torch.log(sum_exp) + row_max - target_all
        mean = per_row.detach().mean()
        share = per_row[mine].sum() / n  # this process's rows' share of the mean: the shares sum to the mean
        return share + (mean - share.detach())

    @torch.no_grad()
    def predict(self, embeddings: Tensor) -> Tensor:
        """Closed-set prediction: the argmax of the margin-free logits over every centre.

        Parameters
        ----------
        embeddings : Tensor, shape (B, D), floating
            This process's embeddings; under sharding every process must call it (collective).

        Returns
        -------
        Tensor, shape (B,), int64
            The predicted class of each embedding.
        """
        self._check_inputs(embeddings, None)
        x = embeddings.to(self._compute_dtype(embeddings))
        x_all, _, mine = self._gather(x, torch.zeros(x.shape[0], dtype=torch.long, device=x.device))
        value, index = self._logits(x_all, None).max(dim=1)
        best = self._all_reduce(value, "max", differentiable=False)
        # the lowest class index among the shards that reach the maximum, as torch.argmax would pick
        candidate = torch.where(value == best, index + self.start, torch.full_like(index, self.out_features))
        return self._all_reduce(candidate, "min", differentiable=False)[mine]

    @torch.no_grad()
    def full_head(self) -> nn.Module:
        """A head of :mod:`arcface_viz.heads` with every centre (gathered from all shards), in eval mode.

        Under sharding every process must call it (collective); each gets the whole head.

        Returns
        -------
        nn.Module
            The head ``make_head`` builds for this loss, with the trained centres and warm-up factor.
        """
        head = make_head(self.loss_name, self.in_features, self.out_features, **self.head_kwargs)
        weight, bias = self._gather_rows(self.weight.detach()), None
        if self.bias is not None:
            bias = self._gather_rows(self.bias.detach())
        head = head.to(device=self.weight.device, dtype=self.weight.dtype)
        head.weight.data.copy_(weight)
        if bias is not None:
            head.linear.bias.data.copy_(bias)
        head.margin_factor = self.margin_factor
        return head.eval()

    def _gather_rows(self, tensor: Tensor) -> Tensor:
        return tensor


# --------------------------------------------------------------------------- sharded over processes
try:
    # Torch 2.13 deprecates torch.distributed.nn.functional's all_gather / all_reduce (FutureWarning) and names these
    # as their replacements; the functional collectives carry gradients across processes since pytorch#168140, and
    # all_gather_single is the name they have had since then (pytorch#186125). tests/unit/test_distributed.py checks
    # the loss and both gradients against one process.
    from torch.distributed._functional_collectives import all_gather_single as _all_gather_autograd
    from torch.distributed._functional_collectives import all_reduce as _all_reduce_autograd
except ImportError:  # older torch: the autograd-aware collectives of torch.distributed.nn, not deprecated there
    _all_gather_autograd = _all_reduce_autograd = None


_OPS = {"sum": dist.ReduceOp.SUM, "max": dist.ReduceOp.MAX, "min": dist.ReduceOp.MIN}


def _differentiable_all_reduce(tensor: Tensor, op: str, group) -> Tensor:
    """All-reduce whose backward all-reduces (sums) the gradients: the gradient of the sum of every process's loss."""
    if _all_reduce_autograd is not None:
        return _all_reduce_autograd(tensor, op, group or dist.group.WORLD)
    return dist_nn.all_reduce(tensor, op=_OPS[op], group=group)


class ShardedMarginHead(PartialFC):
    """:class:`PartialFC` with the class centres sharded over the processes of a torch.distributed group.

    Process r holds the centres of classes ``shard_range(C, W, r)``. Every process calls
    ``forward`` with its own embeddings and labels; all get the mean cross-entropy of the whole
    gathered batch, and backpropagating it gives each process the gradient of its centres and of
    its embeddings that one process holding everything would get.

    Parameters
    ----------
    loss : str
        As :class:`PartialFC`; every process must pass the same values (as for all parameters).
    in_features : int
        Embedding dimension D.
    out_features : int
        Number of classes C, >= the number of processes.
    sample_rate : float, default 1.0
        As :class:`PartialFC`.
    seed : int, default 0
        The sampling generator of process r is seeded with (seed, r).
    group : ProcessGroup, optional
        The group to shard over (default: the whole world).
    **head_kwargs
        As :class:`PartialFC`.

    Raises
    ------
    RuntimeError
        torch.distributed is not initialised (no process group).
    ValueError
        The processes disagree on the loss, D, C, the head's parameters or the sample rate, or C is
        smaller than the number of processes.

    Notes
    -----
    Collectives: ``torch.distributed._functional_collectives.all_gather_single`` (embeddings,
    differentiable), ``torch.distributed.all_reduce`` MAX (row maximum, no gradient) and
    ``torch.distributed._functional_collectives.all_reduce`` SUM (normaliser and target logits,
    differentiable); on a torch without them, ``torch.distributed.nn.functional``'s.
    Memory per process: (C/W)·D centres and B_total×(C/W)·r logits.
    """

    def __init__(self, loss: str, in_features: int, out_features: int, *, sample_rate: float = 1.0, seed: int = 0,
                 group: dist.ProcessGroup | None = None, **head_kwargs: object) -> None:
        if not (dist.is_available() and dist.is_initialized()):
            raise RuntimeError(_NO_GROUP)
        self.__dict__["group"] = group
        self.world_size = dist.get_world_size(group)
        self.rank = dist.get_rank(group)
        self._agree(loss, in_features, out_features, sample_rate, seed, head_kwargs)
        super().__init__(loss, in_features, out_features, sample_rate=sample_rate, seed=seed, **head_kwargs)

    def _agree(self, *settings) -> None:
        """Every process must build the same head: compare the settings, raise on all of them if not."""
        mine = repr(settings)
        everyone = [None] * self.world_size
        dist.all_gather_object(everyone, mine, group=self.group)
        differ = [r for r, theirs in enumerate(everyone) if theirs != everyone[0]]
        if differ:
            raise ValueError(f"mismatched shards: rank 0 builds {everyone[0]} but rank(s) {differ} build "
                             f"{[everyone[r] for r in differ]} (loss, in_features, out_features, sample_rate, seed, "
                             "head parameters); pass the same values on every process")

    def _shard(self, n_classes: int) -> tuple[int, int]:
        return shard_range(n_classes, self.world_size, self.rank)

    @classmethod
    def from_head(cls, head: nn.Module, *, sample_rate: float = 1.0, seed: int = 0,
                  group: dist.ProcessGroup | None = None) -> ShardedMarginHead:
        """This process's share of the centres of ``head`` (a head of :mod:`arcface_viz.heads`, the same everywhere).

        Parameters
        ----------
        head : nn.Module
            A head built by :func:`arcface_viz.heads.make_head`, identical on every process.
        sample_rate : float, default 1.0
            Share r in (0, 1] of the negative centres kept per step.
        seed : int, default 0
            Seed of the sampling generators.
        group : ProcessGroup, optional
            The group to shard over (default: the whole world).

        Returns
        -------
        ShardedMarginHead
        """
        return super().from_head(head, sample_rate=sample_rate, seed=seed, group=group)

    def _sizes(self, n: int, device: torch.device) -> list[int]:
        sizes = [torch.zeros(1, dtype=torch.long, device=device) for _ in range(self.world_size)]
        dist.all_gather(sizes, torch.tensor([n], device=device), group=self.group)
        return [int(v) for v in sizes]

    def _gather(self, x: Tensor, labels: Tensor) -> tuple[Tensor, Tensor, slice]:
        sizes = self._sizes(x.shape[0], x.device)
        most = max(sizes)
        pad = most - x.shape[0]  # the collectives need one shape on every process
        x_pad = F.pad(x, (0, 0, 0, pad)) if pad else x
        label_pad = F.pad(labels, (0, pad)) if pad else labels
        if _all_gather_autograd is not None:
            xs = _all_gather_autograd(x_pad, 0, self.group or dist.group.WORLD).chunk(self.world_size)
        else:
            xs = dist_nn.all_gather(x_pad, group=self.group)
        ys = [torch.empty_like(label_pad) for _ in range(self.world_size)]
        dist.all_gather(ys, label_pad.contiguous(), group=self.group)
        x_all = torch.cat([part[:size] for part, size in zip(xs, sizes)])
        y_all = torch.cat([part[:size] for part, size in zip(ys, sizes)])
        first = sum(sizes[:self.rank])
        return x_all, y_all, slice(first, first + x.shape[0])

    def _all_reduce(self, tensor: Tensor, op: str, differentiable: bool) -> Tensor:
        if differentiable:  # only sums are differentiated (the normaliser and the target logits)
            return _differentiable_all_reduce(tensor, op, self.group)
        out = tensor.detach().clone()
        dist.all_reduce(out, op=_OPS[op], group=self.group)
        return out

    def _gather_rows(self, tensor: Tensor) -> Tensor:
        counts = [(stop - start) * (self.k if tensor.dim() == 2 else 1) for start, stop in
                  (shard_range(self.out_features, self.world_size, r) for r in range(self.world_size))]
        most = max(counts)
        padded = torch.zeros((most, *tensor.shape[1:]), dtype=tensor.dtype, device=tensor.device)
        padded[:tensor.shape[0]] = tensor
        parts = [torch.empty_like(padded) for _ in range(self.world_size)]
        dist.all_gather(parts, padded, group=self.group)
        return torch.cat([part[:count] for part, count in zip(parts, counts)])


# --------------------------------------------------------------------------- BatchNorm over processes
class SyncedBatchNorm(nn.modules.batchnorm._BatchNorm):
    """BatchNorm whose training-mode statistics are those of the whole batch, over all processes, on any device.

    ``torch.nn.SyncBatchNorm`` does this on GPUs only (torch 2.13 refuses CPU tensors, and
    ``DistributedDataParallel`` refuses CPU modules that contain it). This layer computes the same
    with two autograd-aware all-reduces (SUM) of a process group, so it runs on gloo and CPUs:
    per channel, the sum of the inputs and their count give the global mean μ; the sum of
    (x − μ)² gives the global biased variance σ² (two passes, no cancellation). Each process
    normalises its own rows with μ and σ², so the outputs are the rows one BatchNorm computes on
    the whole batch. The collectives' backward sums the gradients of μ and σ² over the processes,
    so the gradients of the inputs, of the weight and of the bias (the latter summed over the
    processes, as :func:`fit`'s DDP hook does) are those of one process too. The running
    statistics are updated as BatchNorm does (momentum, or a cumulative average when momentum is
    None; the unbiased variance), identically on every process. In eval mode, or outside a process
    group, it is plain BatchNorm with the running statistics.

    Build it with :func:`convert_synced_batchnorm`; :func:`revert_synced_batchnorm` turns it back
    into the original layer. Every process must call ``forward`` the same number of times (the
    collectives pair up across processes), as with DistributedDataParallel.

    Parameters
    ----------
    num_features : int
        Channels C of the input (N, C, ...).
    eps : float, default 1e-5
        Added to σ² before the square root.
    momentum : float or None, default 0.1
        Weight of the new batch in the running statistics; None for a cumulative average.
    affine : bool, default True
        Learn a per-channel weight and bias.
    track_running_stats : bool, default True
        Keep running statistics for eval mode.
    group : ProcessGroup, optional
        The processes that share statistics (default: the whole world).
    source_class : type, default nn.BatchNorm2d
        The BatchNorm class this layer replaces (what :func:`revert_synced_batchnorm` builds).

    References
    ----------
    S. Ioffe and C. Szegedy, "Batch Normalization", ICML 2015, Algorithm 1 (biased variance in the
    normalisation, unbiased in the inference statistics); H. Zhang et al., "Context Encoding for
    Semantic Segmentation", CVPR 2018 (synchronised cross-device BatchNorm).
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, group=None, source_class: type = nn.BatchNorm2d) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats)
        self.group = group
        self.source_class = source_class

    def _check_input_dim(self, input: Tensor) -> None:  # noqa: A002 (torch's name)
        if input.dim() < 2 or input.shape[1] != self.num_features:
            raise ValueError(f"input of shape {tuple(input.shape)}: expected (N, {self.num_features}, ...) for "
                             f"{self.source_class.__name__}({self.num_features})")

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002 (torch's name)
        """Normalise with the statistics of the whole batch over all processes (training), else as BatchNorm.

        Parameters
        ----------
        input : Tensor, shape (n, C, ...)
            This process's rows, floating point.

        Returns
        -------
        Tensor
            Same shape and dtype as ``input``.

        Raises
        ------
        ValueError
            If the input's shape does not fit the layer, or the whole batch holds one value per
            channel (no variance to normalise with).
        """
        self._check_input_dim(input)
        use_batch = self.training or not self.track_running_stats
        if not use_batch or not (dist.is_available() and dist.is_initialized()):
            return super().forward(input)
        dims = [0, *range(2, input.dim())]
        # one all-reduce for the per-channel sums and the count of values per channel (rows × positions)
        count = input.new_tensor([input.numel() // input.shape[1]])
        totals = _differentiable_all_reduce(torch.cat([input.sum(dims), count]), "sum", self.group)
        n = float(totals[-1].detach())
        if n <= 1:
            raise ValueError(f"input of shape {tuple(input.shape)}: BatchNorm in training needs more than one value "
                             "per channel over all processes; use a larger batch")
        shape = [1, -1] + [1] * (input.dim() - 2)
        mean = totals[:-1] / n
        centred = input - mean.view(shape)
        var = _differentiable_all_reduce(centred.square().sum(dims), "sum", self.group) / n
        out = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        if self.training and self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
                self.running_mean.mul_(1 - factor).add_(factor * mean.detach())
                self.running_var.mul_(1 - factor).add_(factor * var.detach() * (n / (n - 1)))
        return out


def convert_synced_batchnorm(module: nn.Module, group=None) -> nn.Module:
    """Replace every BatchNorm layer of ``module`` by a :class:`SyncedBatchNorm` sharing its parameters and buffers.

    The CPU-capable counterpart of ``torch.nn.SyncBatchNorm.convert_sync_batchnorm``: children are
    replaced in place, and the new layers hold the very same weight, bias and running-statistics
    tensors, so an optimizer or ``DistributedDataParallel`` built on ``module`` before or after the
    conversion trains the same tensors.

    Parameters
    ----------
    module : nn.Module
        A model (e.g. :class:`arcface_viz.models.FaceCNN`) or a BatchNorm layer itself.
    group : ProcessGroup, optional
        The processes that share statistics (default: the whole world).

    Returns
    -------
    nn.Module
        ``module`` with its BatchNorm layers replaced (a new :class:`SyncedBatchNorm` when
        ``module`` itself is a BatchNorm layer).

    Examples
    --------
    >>> net = convert_synced_batchnorm(nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4)))
    >>> type(net[1]).__name__
    'SyncedBatchNorm'
    >>> type(revert_synced_batchnorm(net)[1]).__name__
    'BatchNorm2d'
    """
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and not isinstance(module, SyncedBatchNorm):
        return _swap_batchnorm(module, SyncedBatchNorm, group=group, source_class=type(module))
    for name, child in module.named_children():
        module.add_module(name, convert_synced_batchnorm(child, group))
    return module


def revert_synced_batchnorm(module: nn.Module) -> nn.Module:
    """Turn the :class:`SyncedBatchNorm` layers of ``module`` back into the BatchNorm layers they replaced.

    Parameters
    ----------
    module : nn.Module
        A model converted by :func:`convert_synced_batchnorm`.

    Returns
    -------
    nn.Module
        ``module`` with plain BatchNorm layers again, sharing the same parameters and buffers.
    """
    if isinstance(module, SyncedBatchNorm):
        return _swap_batchnorm(module, module.source_class)
    for name, child in module.named_children():
        module.add_module(name, revert_synced_batchnorm(child))
    return module


def _swap_batchnorm(layer: nn.modules.batchnorm._BatchNorm, cls: type, **kwargs) -> nn.Module:
    """A layer of class ``cls`` holding ``layer``'s very parameters and buffers, in its training mode."""
    new = cls(layer.num_features, layer.eps, layer.momentum, layer.affine, layer.track_running_stats, **kwargs)
    new._parameters = layer._parameters  # the same tensors: optimizers and DDP keep working on them
    new._buffers = layer._buffers
    new.train(layer.training)
    return new


# --------------------------------------------------------------------------- training
def _sum_gradients(group, bucket):
    """DDP communication hook: sum the backbone's gradients over the processes instead of averaging.

    Each process backpropagates its share of the *global* mean loss (see the module docstring), so
    the sum, not the mean, is the gradient of one process training on the whole batch.
    """
    work = dist.all_reduce(bucket.buffer(), group=group, async_op=True)
    return work.get_future().then(lambda future: future.value()[0])


def _accuracy(model: nn.Module, head: PartialFC, images: Tensor, labels: Tensor, rank: int, world: int) -> float:
    """Eval-mode accuracy as :func:`arcface_viz.training.accuracy`, each process predicting its chunk."""
    device = next(model.parameters()).device
    mine = torch.arange(len(images)).tensor_split(world)[rank]
    with eval_mode(model, head):
        embeddings = forward_in_chunks(model, images[mine], EVAL_BATCH, device).to(device)
        hits = (head.predict(embeddings).cpu() == labels[mine].cpu()).sum()
    return int(head._all_reduce(hits, "sum", differentiable=False)) / len(images)


def fit(
    model: nn.Module,
    head: nn.Module,
    train,
    *,
    epochs: int,
    batch_size: int = 128,
    lr: float = 1e-3,
    optimizer: str = "adam",
    margin_warmup_epochs: int = 0,
    augment: bool = False,
    seed: int = 0,
    callback: Callable[[int, TrainResult], object] | None = None,
    progress: bool = True,
    lr_schedule: str = "constant",
    heldout=None,
    reestimate_bn: bool = True,
    sample_rate: float = 1.0,
) -> TrainResult:
    """:func:`arcface_viz.training.fit` with a Partial FC head, sharded when torch.distributed is initialised.

    Every process passes the same model initialisation, head, data and settings. Per step the
    global batch is the one :func:`arcface_viz.training.fit` would draw with the same seed (same
    shuffling and augmentation); process r trains on its r-th contiguous chunk, with the backbone
    wrapped in ``DistributedDataParallel`` and the head replaced by a :class:`ShardedMarginHead`
    built from ``head``'s centres. Without a process group the head is a one-process
    :class:`PartialFC`. Afterwards the trained centres are copied back into ``head``.

    Parameters
    ----------
    model : nn.Module
        The backbone, as :func:`arcface_viz.training.fit`.
    head : nn.Module
        A head of :mod:`arcface_viz.heads`; it receives the trained centres.
    train : FaceDataset or tuple(images, labels)
        As :func:`arcface_viz.training.fit`; every process passes all of it.
    epochs : int
        Passes over the data, >= 1.
    batch_size : int, default 128
        The whole batch, split over the processes.
    lr : float, default 1e-3
        Learning rate, > 0.
    optimizer : {"adam", "sgd"}, default "adam"
        As :func:`arcface_viz.training.fit`.
    margin_warmup_epochs : int, default 0
        As :func:`arcface_viz.training.fit`.
    augment : bool, default False
        As :func:`arcface_viz.training.fit`.
    seed : int, default 0
        Shuffling, augmentation and Partial FC's sampling.
    callback : callable, optional
        As :func:`arcface_viz.training.fit`; runs on every process.
    progress : bool, default True
        A progress bar on process 0 only.
    lr_schedule : {"constant", "cosine"}, default "constant"
        As :func:`arcface_viz.training.fit`.
    heldout : FaceDataset or tuple(images, labels), optional
        As :func:`arcface_viz.training.fit`.
    reestimate_bn : bool, default True
        As :func:`arcface_viz.training.fit`.
    sample_rate : float, default 1.0
        Partial FC's share r in (0, 1] of negative centres kept per step (per shard).

    Returns
    -------
    TrainResult
        As :func:`arcface_viz.training.fit` (the backbone without its DDP wrapper, ``head`` with
        every trained centre), identical on every process; ``config["fit"]`` also records
        ``world_size``, ``backend`` and ``sample_rate``.

    Raises
    ------
    ValueError, TypeError
        As :func:`arcface_viz.training.fit`, for a bad ``sample_rate``, and when ``batch_size`` or
        the number of training images is below the number of processes (every batch would be skipped).

    Notes
    -----
    As :func:`arcface_viz.training.fit`, after each epoch the BatchNorm running statistics are
    re-estimated, on a random sample of at most :data:`~arcface_viz.training.BN_IMAGES` = 512
    training images after every epoch but the last and on every training image after the last (so
    the returned model carries the whole training set's statistics), by every process (the same
    weights, images and seed give the same statistics); then the eval-mode accuracy is measured,
    each process predicting its share.
    During training the backbone's BatchNorm layers are :class:`SyncedBatchNorm` (converted on
    entry, reverted on exit, sharing their tensors): each process normalises its chunk with the
    statistics of the whole batch, as one process does (``torch.nn.SyncBatchNorm`` needs GPUs).
    What remains different from one process is the order of floating-point sums. A final batch
    with fewer images than processes is skipped.
    """
    images, labels = images_and_labels(train)
    heldout = check_fit_args(model, head, labels, epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer,
                             margin_warmup_epochs=margin_warmup_epochs, seed=seed, callback=callback,
                             lr_schedule=lr_schedule, heldout=heldout, reestimate_bn=reestimate_bn,
                             augment=augment, progress=progress)
    sample_rate = _check_rate(sample_rate)
    distributed = dist.is_available() and dist.is_initialized()
    world, rank = (dist.get_world_size(), dist.get_rank()) if distributed else (1, 0)
    if min(batch_size, len(labels)) < world:  # every batch would be skipped: nothing would train
        raise ValueError(f"batch_size={batch_size} with {len(labels)} training images for {world} processes: each "
                         f"process needs at least one image of every batch; pass batch_size >= {world} and at least "
                         f"{world} images, or start fewer processes")
    device = next(model.parameters()).device
    images, labels = images.to(device), labels.to(device)
    if distributed:
        sharded = ShardedMarginHead.from_head(head, sample_rate=sample_rate, seed=seed).to(device)
        # the batch statistics of the whole batch, as one process computes them (SyncBatchNorm needs GPUs)
        convert_synced_batchnorm(model)
        # gradients as views of DDP's buckets: no copy between them
        net = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None,
                                                  gradient_as_bucket_view=True)
        net.register_comm_hook(None, _sum_gradients)
    else:
        sharded, net = PartialFC.from_head(head, sample_rate=sample_rate, seed=seed).to(device), model
    config = fit_config(model, head, images, labels, epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer,
                        margin_warmup_epochs=margin_warmup_epochs, augment=augment, seed=seed,
                        lr_schedule=lr_schedule, reestimate_bn=reestimate_bn, world_size=world,
                        backend=dist.get_backend() if distributed else None, sample_rate=sample_rate)
    result = TrainResult(model, head, config=config)

    def batch_loss(x: Tensor, y: Tensor) -> Tensor | None:
        """This process's contiguous chunk of the whole batch; a batch smaller than the world is skipped."""
        if len(y) < world:
            return None
        x, y = x.tensor_split(world)[rank], y.tensor_split(world)[rank]
        return sharded(net(x), y)

    try:
        with warnings.catch_warnings():
            # the 1-channel first convolution's gradient may differ from its DDP bucket only in the stride of the
            # size-1 channel dimension, which is never used; DDP warns about it anyway (in backward)
            warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
            # BatchNorm is re-estimated by every process: each holds every image and the same weights (the synced
            # layers then average identical statistics: the result is each process's own)
            train_epochs(result, net, sharded, images, labels, heldout, callback=callback,
                         progress=progress and rank == 0, batch_loss=batch_loss,
                         eval_accuracy=lambda x, y: _accuracy(model, sharded, x, y, rank, world))
    finally:
        if distributed:  # the caller gets its own BatchNorm layers back, holding the trained tensors
            revert_synced_batchnorm(model)
    trained = sharded.full_head()
    with torch.no_grad():
        for target, source in zip(head.parameters(), trained.parameters()):
            target.copy_(source)
    head.margin_factor = trained.margin_factor
    model.eval()
    head.eval()
    return result


# --------------------------------------------------------------------------- processes
def init_from_env() -> tuple[int, int]:
    """Join the process group torchrun describes in the environment.

    Does nothing when the script was not started by torchrun (no ``WORLD_SIZE``) or the group
    already exists. The backend is nccl when CUDA is available, else gloo.

    Returns
    -------
    tuple of int
        (rank, world size); (0, 1) outside torchrun.
    """
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return 0, 1
    if not dist.is_available():
        raise RuntimeError("WORLD_SIZE is set but this torch build has no torch.distributed; run one process")
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend)
    return dist.get_rank(), dist.get_world_size()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it).

    Returns
    -------
    int
        The port number.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _entry(rank: int, fn: Callable, world_size: int, port: int, queue, args: tuple, kwargs: dict) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world_size), RANK=str(rank))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    try:
        # bytes, not tensors: torch's queues share tensors by file descriptors that die with the process
        buffer = io.BytesIO()
        torch.save(fn(rank, world_size, *args, **kwargs), buffer)
        queue.put((rank, buffer.getvalue()))
    finally:
        dist.destroy_process_group()


def spawn(fn: Callable, world_size: int = 2, args: tuple = (), kwargs: dict | None = None) -> list:
    """Run ``fn(rank, world_size, *args, **kwargs)`` in new processes joined by a gloo group on 127.0.0.1.

    A thin wrapper around ``torch.multiprocessing.spawn`` for tests and lessons on one machine
    (one thread per process); multi-machine runs use torchrun.

    Parameters
    ----------
    fn : callable
        A module-level function (the new processes import it by name: not one defined in a notebook).
    world_size : int, default 2
        Number of processes.
    args : tuple
        Further picklable arguments.
    kwargs : dict, optional
        Picklable keyword arguments.

    Returns
    -------
    list
        ``fn``'s return value of each rank, in rank order (must be picklable).

    Raises
    ------
    torch.multiprocessing.ProcessRaisedException
        If ``fn`` raised in any process (the message carries its traceback).
    """
    context = torch.multiprocessing.get_context("spawn")
    queue = context.SimpleQueue()
    processes = torch.multiprocessing.spawn(_entry, args=(fn, world_size, free_port(), queue, args, kwargs or {}),
                                            nprocs=world_size, join=False)
    results = {}
    while True:  # read while they run: a result larger than the pipe's buffer blocks its process until read
        while not queue.empty():
            rank, data = queue.get()
            results[rank] = data
        if processes.join(timeout=0.05):  # raises if one failed
            break
    while len(results) < world_size:
        rank, data = queue.get()
        results[rank] = data
    # our own child processes wrote these bytes a moment ago
    return [torch.load(io.BytesIO(results[r]), weights_only=False) for r in range(world_size)]


def example_step(rank: int, world_size: int, loss: str = "arcface", n_classes: int = 7, dim: int = 5, batch: int = 12,
                 seed: int = 0, sample_rate: float = 1.0, opposite: float = 0.0, dtype: torch.dtype = torch.float64,
                 **head_kwargs: object) -> dict:
    """One forward and backward on a seeded example batch: this process's share of it.

    Builds the full head with ``torch.manual_seed(seed)`` (as :func:`fit` does on every process),
    a batch of ``batch`` embeddings N(0, 1) with random labels, and — for a share ``opposite`` of
    the rows — embeddings pointing away from their class centre (θ_y near π, the fallback branch
    of the margin). Under a process group the rows are split in contiguous chunks
    (``tensor_split``) and the head is a :class:`ShardedMarginHead`; otherwise a :class:`PartialFC`
    over everything. Call it through :func:`spawn` for several processes, directly for one.

    Returns
    -------
    dict
        ``loss`` (float), ``rows`` and ``classes`` ((start, stop) of this process's rows and
        classes), ``grad_embeddings`` (its rows, (b, D)), ``grad_weight`` (its centres) and
        ``sampled`` (the classes of its shard kept by Partial FC).
    """
    torch.manual_seed(seed)
    head = make_head(loss, dim, n_classes, **head_kwargs).to(dtype)
    generator = torch.Generator().manual_seed(seed + 1)
    labels = torch.randint(0, n_classes, (batch,), generator=generator)
    x = torch.randn(batch, dim, generator=generator, dtype=dtype)
    n_away = round(opposite * batch)
    x[:n_away] = -head.weight.detach()[labels[:n_away] * getattr(head, "k", 1)] * 50 + 0.05 * x[:n_away]
    sharded = dist.is_available() and dist.is_initialized()
    cls = ShardedMarginHead if sharded else PartialFC
    part = cls.from_head(head, sample_rate=sample_rate, seed=seed)
    index = rank if sharded else 0
    chunks = torch.arange(batch).tensor_split(world_size if sharded else 1)
    first = sum(len(chunk) for chunk in chunks[:index])
    mine = chunks[index]
    x_mine = x[mine].clone().requires_grad_(True)
    value = part(x_mine, labels[mine])
    value.backward()
    return {"loss": float(value.detach()), "rows": (first, first + len(mine)), "classes": (part.start, part.stop),
            "grad_embeddings": x_mine.grad, "grad_weight": part.weight.grad, "sampled": part.sampled_classes}
