"""Training a backbone with a head, embedding faces, and checkpoints.

``fit`` is a plain loop over ready tensors (no DataLoader workers: at 32×32 the images fit in
memory and worker start-up would cost more than an epoch). It is seeded with its own
``torch.Generator``, so the same seed, model initialisation and data give the same history on CPU.
Training never plots: it reports a history and calls ``callback`` so a widget can redraw.
"""
from __future__ import annotations

import inspect
import json
import math
import pickle
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

import arcface_viz
from arcface_viz._validation import (check_bool, check_callable, check_choice, check_float32_module, check_int, check_labels,
                                     check_pixels, check_real, message)
from arcface_viz.heads import make_head
from arcface_viz.losses import get_loss
from arcface_viz.models import FaceCNN
from arcface_viz.runtime import apply_thread_policy

OPTIMIZERS = ("adam", "sgd")
LR_SCHEDULES = ("constant", "cosine")
EVAL_BATCH = 256  # one 2,000-image batch made epochs 2-3× slower than chunks of this size (DESIGN.md)
BN_IMAGES = 512  # images behind fit's BatchNorm re-estimation after every epoch but the last (the last uses all)


@dataclass
class TrainResult:
    """What :func:`fit` returns (and :func:`load` restores).

    The constructor arguments are also the attributes.

    Parameters
    ----------
    model : nn.Module
        The trained backbone (left in eval mode).
    head : nn.Module
        The trained head; ``head.centers`` are the learned class centres W.
    history : dict[str, list[float]]
        One value per epoch: "loss" (mean cross-entropy with margin over the epoch's batches),
        "eval_accuracy_train" (accuracy on the training images, measured at the epoch's end in eval
        mode, without augmentation or margin, after the BatchNorm statistics were re-estimated: the
        model :func:`embed` and :func:`predict` use; a fraction in [0, 1]), "eval_accuracy_heldout"
        (the same on ``heldout``, only when it was given), "margin_factor" (at the epoch's end),
        "lr" (at the epoch's end) and "seconds" (cumulative wall-clock, evaluation included).
    seconds : float
        Wall-clock training time, seconds.
    config : dict
        JSON-ready description: model and head constructor arguments, fit arguments, data sizes,
        versions. :func:`load` rebuilds the model and head from it.
    """

    model: nn.Module
    head: nn.Module
    history: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0
    config: dict = field(default_factory=dict)

    @property
    def epochs_done(self) -> int:
        """Number of epochs in ``history``."""
        return len(self.history.get("loss", []))


# --------------------------------------------------------------------------- argument checks
def images_and_labels(data) -> tuple[torch.Tensor, torch.Tensor]:
    """The checked training tensors of a FaceDataset or an (images, labels) pair.

    Parameters
    ----------
    data : FaceDataset or tuple(images, labels)
        Images floating point (N, C, H, W) with pixels in [0, 1], N >= 1; labels integer (N,).

    Returns
    -------
    images : torch.Tensor
        (N, C, H, W) float32.
    labels : torch.Tensor
        (N,) int64.

    Raises
    ------
    TypeError
        Data of another type, or images that are not floating point.
    ValueError
        Images not 4-D, no images, labels of another length, or pixels outside [0, 1] or NaN.
    """
    if hasattr(data, "images") and hasattr(data, "labels"):
        images, labels = data.images, data.labels
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        images, labels = data
    else:
        raise TypeError(message("data", type(data).__name__, "expected a FaceDataset or a tuple (images, labels)",
                                "load faces with arcface_viz.faces"))
    images, labels = torch.as_tensor(images), torch.as_tensor(labels)
    if not images.is_floating_point():
        raise TypeError(message("images.dtype", str(images.dtype), "images must be floating point in [0, 1]",
                                "use images.float() / 255"))
    if images.ndim != 4:
        raise ValueError(message("images.shape", tuple(images.shape), "expected (N, C, H, W)",
                                 "add the channel axis, e.g. images[:, None]"))
    check_labels(labels, images.shape[0], None, labels.device)  # fit compares them with the head's classes
    if images.shape[0] == 0:
        raise ValueError(message("images.shape", tuple(images.shape), "the training data is empty",
                                 "pass at least one image"))
    return check_pixels("images", images.float()), labels.long()


def check_fit_args(model: nn.Module, head: nn.Module, labels: torch.Tensor, *, epochs: int, batch_size: int, lr: float,
                   optimizer: str, margin_warmup_epochs: int, seed: int,
                   callback: Callable[[int, TrainResult], object] | None, lr_schedule: str, heldout,
                   reestimate_bn: bool, augment: bool, progress: bool) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Check :func:`fit`'s arguments before any training starts (also used by ``distributed.fit``).

    Parameters
    ----------
    model : nn.Module
        The backbone; float32 parameters.
    head : nn.Module
        A head of :mod:`arcface_viz.heads`, float32, with ``in_features`` equal to the model's
        ``embedding_dim`` (when it has one).
    labels : torch.Tensor
        (N,) int64 training labels, each in [0, head.out_features).
    epochs : int
        Passes over the data, >= 1.
    batch_size : int
        Images per step, >= 1.
    lr : float
        Learning rate, > 0.
    optimizer : str
        One of :data:`OPTIMIZERS`.
    margin_warmup_epochs : int
        Epochs of margin warm-up, >= 0.
    seed : int
        Seed, >= 0.
    callback : callable or None
        ``callback(epoch, result)``, or None.
    lr_schedule : str
        One of :data:`LR_SCHEDULES`.
    heldout : FaceDataset or tuple(images, labels) or None
        Held-out images of the training identities, labels in [0, head.out_features).
    reestimate_bn, augment, progress : bool
        True or False (not a truthy stand-in: ``augment="no"`` would otherwise augment).

    Returns
    -------
    tuple(images, labels) or None
        The checked held-out tensors, as :func:`images_and_labels` returns them (None without ``heldout``).

    Raises
    ------
    TypeError
        Model or head not a module, a non-float32 module, a value of the wrong type, held-out data
        of another type, a callback that cannot be called.
    ValueError
        A value out of range, an unknown schedule, labels or held-out labels outside the head's
        classes, a head of one class, or model and head dimensions that differ.
    """
    if not isinstance(model, nn.Module) or not isinstance(head, nn.Module):
        raise TypeError("model and head must be torch.nn.Module instances (e.g. FaceCNN and heads.make_head(...))")
    check_float32_module("model", model, "fit trains in float32")
    check_float32_module("head", head, "fit trains in float32")
    check_int("epochs", epochs, minimum=1, fix="pass the number of passes over the data")
    check_int("batch_size", batch_size, minimum=1, fix="pass images per step, e.g. 64")
    check_int("margin_warmup_epochs", margin_warmup_epochs, minimum=0, fix="pass 0 for the full margin from the start")
    check_int("seed", seed, minimum=0, fix="pass a seed >= 0")
    check_real("lr", lr, low=0.0, low_open=True, fix="pass a positive learning rate, e.g. 1e-3")
    check_choice("optimizer", optimizer, OPTIMIZERS)
    if callback is not None:
        check_callable("callback", callback, "pass a function called as callback(epoch, result)")
    check_label_range(labels, head, "labels")
    check_int("head.out_features", head.out_features, minimum=2, fix="a softmax over one class is always 1 (loss 0, "
              "nothing to learn); train on at least 2 identities")
    dim = getattr(model, "embedding_dim", None)
    if dim is not None and getattr(head, "in_features", dim) != dim:
        raise ValueError(f"model.embedding_dim={dim} but head.in_features={head.in_features}: make them equal")
    check_choice("lr_schedule", lr_schedule, LR_SCHEDULES)
    if heldout is not None:
        heldout = images_and_labels(heldout)
        check_label_range(heldout[1], head, "heldout labels")
    for switch, value in (("reestimate_bn", reestimate_bn), ("augment", augment), ("progress", progress)):
        check_bool(switch, value)
    return heldout


def check_label_range(labels: torch.Tensor, head: nn.Module, name: str = "labels") -> None:
    """Check that every label names one of the head's classes.

    Parameters
    ----------
    labels : torch.Tensor
        (N,) integer labels.
    head : nn.Module
        A head of :mod:`arcface_viz.heads` (it has ``out_features`` classes).
    name : str, default "labels"
        What the labels are, for the error message (e.g. "heldout labels").

    Raises
    ------
    TypeError
        If ``head`` has no ``out_features``.
    ValueError
        If a label is negative or >= ``head.out_features``.
    """
    n_classes = getattr(head, "out_features", None)
    if n_classes is None:
        raise TypeError("head has no out_features: build it with arcface_viz.heads.make_head")
    low, high = int(labels.min()), int(labels.max())
    if low < 0:
        raise ValueError(message("label", low, f"{name} must be >= 0", "relabel to 0..C-1 (dataset.relabel())"))
    if high >= n_classes:
        raise ValueError(message("label", high, f"{name} span [{low}, {high}] but the head has out_features={n_classes}",
                                 f"build the head with out_features={high + 1} (or relabel with dataset.relabel())"))


# --------------------------------------------------------------------------- augmentation
def augment_batch(images: torch.Tensor, generator: torch.Generator, max_shift: int = 2, brightness: float = 0.15) -> torch.Tensor:
    """Light augmentation on tensors: a random shift (crop of an edge-padded image) and brightness.

    Parameters
    ----------
    images : torch.Tensor
        (B, C, H, W) float32 in [0, 1].
    generator : torch.Generator
        Source of randomness (keeps ``fit`` deterministic).
    max_shift : int, default 2
        Largest shift in pixels along each axis (uniform in [-max_shift, max_shift]). No flips:
        the toy faces and the AT&T faces are not left-right symmetric in lighting.
    brightness : float, default 0.15
        Each image is scaled by a factor uniform in [1 - brightness, 1 + brightness] and
        clipped to [0, 1].

    Returns
    -------
    torch.Tensor
        (B, C, H, W) float32 in [0, 1].
    """
    b, _, h, w = images.shape
    if max_shift > 0:
        padded = F.pad(images, (max_shift,) * 4, mode="replicate")
        oy = torch.randint(0, 2 * max_shift + 1, (b,), generator=generator)
        ox = torch.randint(0, 2 * max_shift + 1, (b,), generator=generator)
        rows = (oy[:, None] + torch.arange(h))[:, :, None]  # (B, H, 1)
        cols = (ox[:, None] + torch.arange(w))[:, None, :]  # (B, 1, W)
        # advanced indices around a slice put their dims first: (B, H, W, C) -> back to (B, C, H, W)
        images = padded[torch.arange(b)[:, None, None], :, rows, cols].permute(0, 3, 1, 2)
    if brightness > 0:
        scale = 1 + (torch.rand(b, 1, 1, 1, generator=generator) * 2 - 1) * brightness
        images = (images * scale).clamp_(0.0, 1.0)
    return images.contiguous()


# --------------------------------------------------------------------------- fit
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
) -> TrainResult:
    """Train ``model`` and ``head`` together with cross-entropy on the head's logits.

    After every epoch ``fit`` re-estimates the BatchNorm running statistics of ``model`` on a random
    sample of at most :data:`BN_IMAGES` = 512 training images, and after the last epoch (or the one a
    callback stops at) on every training image (:func:`reestimate_batchnorm`: no augmentation, one
    pass with torch's own ``torch.optim.swa_utils.update_bn``), and then measures eval-mode accuracy.
    So the returned model's eval mode normalises with the whole training set's statistics: it is the
    trained network in train mode with all training images as one batch. Why: in training mode
    BatchNorm normalises with each batch's statistics, in eval mode with running averages (momentum
    0.1) gathered over the last steps of a network whose weights kept moving. Those averages need not
    describe the final network: in lesson 2's setting (8 toy identities, 2-D, Adam 1e-3, 20 epochs)
    the eval-mode ArcFace model (s=16, m=0.5, seed 0) classified its own training faces at 0.86 while
    train mode scored 0.99, so the drawn embeddings were not the trained ones; over 2-D, 3-D and 64-D,
    softmax, NormFace, CosFace and ArcFace and 3 seeds the eval/train-mode gap reached 13 points.

    What it gives, measured with ``benchmarks/bench_train_eval.py`` in lesson 2's recipe (8 toy
    identities × 200 faces, Adam 5e-3 on a cosine, batch 128, 20 epochs, the registry's s and
    margins) for every registered head at seeds 0-4, on the training faces, against two readings of
    "train mode" (the network on batch statistics, the head without margin):

    - all 1,600 faces as one batch: eval mode differed from it by at most 0.13 points at 2-D (40 runs;
      Combined, seed 2) and not at all at 3-D and 64-D (40 runs each; at 64-D every head scored 1.000 in
      both modes). With the 512-image sample alone (before the pass over every image), 3 of the 40 2-D runs
      were more than 2 points below it (Sub-center ArcFace seed 4 -3.87, AdaFace seed 0 -3.00, Combined seed
      0 -2.44): a sample's statistics move 2-D embeddings across narrow class borders.
    - shuffled batches of 128, as the loss saw them (mean of 3 shuffles): within 0.19 points at 3-D and 0 at
      64-D. At 2-D eval mode was never more than 0.04 points below it, but above it by more than 2 points in
      5 of the 40 runs, by up to 4.06 (Sub-center ArcFace, seed 4: 0.939 against 0.898). That excess is
      train mode's own noise, which no fixed eval-mode model can follow: in one run (2-D NormFace, seed 2)
      single shuffles of batches of 128 scored 0.916-0.957 (10 shuffles), batches of 256 0.947, of 512
      0.954, and one batch of all faces 0.964.

    Eval-mode accuracy is what the training reached: 2-D softmax 0.999-1.000 over seeds 0-4; 2-D
    ArcFace 0.994, 0.994, 0.575, 0.923 and 0.963 at seeds 0-4, where seeds 2 and 3 score as low in
    train mode (0.575, 0.922 with one batch): the 2-D training stalls there, not the evaluation.

    GroupNorm instead of BatchNorm has no such gap but trained worse here (2-D softmax 0.86,
    NormFace 0.25-0.98 over 3 seeds). The re-estimation does not touch the weights, so training is
    the same as without it; it costs no-grad forward passes: per epoch one over a sample of at most
    512 images and one over every image for the accuracy, and once at the end one more over every
    image (two epochs on 1,280 2-D toy faces took 1.7-1.8 CPU seconds, against 1.0 before ``fit``
    evaluated each epoch). The callback therefore sees, and ``embed`` draws, the model whose
    accuracy ``history`` records; the last entry describes the returned model.

    Parameters
    ----------
    model : nn.Module
        Backbone mapping images (B, C, H, W) to embeddings (B, D), e.g. :class:`FaceCNN`.
    head : nn.Module
        A head from :func:`arcface_viz.heads.make_head` with ``out_features`` > every label.
    train : FaceDataset or tuple(images, labels)
        Images float32 (N, C, H, W) in [0, 1]; labels int (N,) in [0, head.out_features).
    epochs : int
        Passes over the data, >= 1.
    batch_size : int, default 128
        Images per optimisation step, >= 1.
    lr : float, default 1e-3
        Learning rate, > 0.
    optimizer : {"adam", "sgd"}, default "adam"
        "sgd" uses momentum 0.9.
    margin_warmup_epochs : int, default 0
        Ramp ``head.margin_factor`` linearly from 0 to 1 over this many epochs (per step), so
        the margin starts as NormFace and grows: training from scratch with the full margin can
        stall at chance (DESIGN.md, "Known traps"). 0 = full margin from the start.
    augment : bool, default False
        Apply :func:`augment_batch` (random shift <= 2 px, brightness ±15 %) to each batch.
    seed : int, default 0
        Seeds the shuffling and the augmentation. Model/head initialisation is the caller's:
        call ``torch.manual_seed`` before building them for a fully repeatable run.
    callback : callable, optional
        ``callback(epoch, result)`` after each epoch; ``epoch`` counts completed epochs from 1,
        ``result`` holds the history so far. Returning True stops training early; that epoch is then the
        last: BatchNorm is re-estimated on every training image and the history's last accuracies are
        measured again on that model (the callback saw the per-epoch sample's).
    progress : bool, default True
        Show a ``tqdm.auto`` bar over epochs.
    lr_schedule : {"constant", "cosine"}, default "constant"
        "cosine" lowers the learning rate per step from ``lr`` to 0 along a half cosine
        (Loshchilov & Hutter, SGDR, 2017): with 2-D embeddings the held-out accuracy of a constant
        rate swings by tens of points between epochs; the decay makes the final model stable.
    heldout : FaceDataset or tuple(images, labels), optional
        Images of the training identities not trained on (labels in the head's numbering): their
        eval-mode accuracy is recorded per epoch as ``history["eval_accuracy_heldout"]``.
    reestimate_bn : bool, default True
        False keeps BatchNorm's running averages from training: the eval-mode model then differs
        from the trained one (the fault described above; for demonstrations and benchmarks). The
        weights are the same either way.

    Returns
    -------
    TrainResult
        Model and head (in eval mode, BatchNorm statistics re-estimated), per-epoch history,
        seconds, config.

    Raises
    ------
    ValueError
        epochs/batch_size < 1, lr <= 0, unknown optimizer or schedule, labels outside the head's classes,
        a head of one class, model and head dimensions that differ, or a loss that became NaN/inf.
    TypeError
        Model/head not modules, data of an unknown type, callback not callable, ``augment``,
        ``progress`` or ``reestimate_bn`` not a bool.

    Examples
    --------
    >>> from arcface_viz import faces, heads, models
    >>> data = faces.make_toy_faces(n_identities=8, images_per_identity=200, size=32, seed=0)
    >>> result = fit(models.FaceCNN(2), heads.ArcFaceHead(2, 8, s=16, m=0.5), data, epochs=20,
    ...              progress=False)  # doctest: +SKIP
    >>> result.history["eval_accuracy_train"][-1] == accuracy(result.model, result.head, data)  # doctest: +SKIP
    True
    """
    images, labels = images_and_labels(train)
    heldout = check_fit_args(model, head, labels, epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer,
                             margin_warmup_epochs=margin_warmup_epochs, seed=seed, callback=callback,
                             lr_schedule=lr_schedule, heldout=heldout, reestimate_bn=reestimate_bn,
                             augment=augment, progress=progress)
    apply_thread_policy()  # threads from the CPUs free now: kernels sharing a server do not fight
    device = next(model.parameters()).device
    images, labels = images.to(device), labels.to(device)
    result = TrainResult(model, head, config=fit_config(
        model, head, images, labels, epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer,
        margin_warmup_epochs=margin_warmup_epochs, augment=augment, seed=seed, lr_schedule=lr_schedule,
        reestimate_bn=reestimate_bn))
    train_epochs(result, model, head, images, labels, heldout, callback=callback, progress=progress,
                 batch_loss=lambda x, y: F.cross_entropy(head(model(x), y), y),
                 # chunks of 128: faster per image than EVAL_BATCH on two CPU cores, and this runs every epoch
                 eval_accuracy=lambda x, y: accuracy(model, head, (x, y), batch_size=128))
    model.eval()
    head.eval()
    return result


def train_epochs(result: TrainResult, net: nn.Module, head: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                 heldout: tuple[torch.Tensor, torch.Tensor] | None, *,
                 batch_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor | None],
                 eval_accuracy: Callable[[torch.Tensor, torch.Tensor], float],
                 callback: Callable[[int, TrainResult], object] | None, progress: bool) -> TrainResult:
    """The epoch loop of :func:`fit` (and of ``distributed.fit``), run with the settings its config records.

    Per epoch: shuffle with the seed's generator; per step, set the margin warm-up factor and the
    learning rate, draw the whole batch (and its augmentation), backpropagate ``batch_loss`` and
    step; then check the loss is finite, re-estimate BatchNorm (when the config says so: on a sample of
    at most :data:`BN_IMAGES` images, on every image after the last epoch), measure ``eval_accuracy``,
    append to the history and call ``callback`` (when it stops the run early, BatchNorm is re-estimated
    on every image and the last accuracies are measured again). What differs between one
    process and several (which rows a process trains on, how the loss and gradients are reduced,
    how accuracy is counted, who shows a bar) comes in through ``net``, ``batch_loss``,
    ``eval_accuracy`` and ``progress``; the loop is the same.

    Parameters
    ----------
    result : TrainResult
        The run: ``model`` is the backbone whose BatchNorm is re-estimated, ``config["fit"]`` (from
        :func:`fit_config`) gives epochs, batch_size, lr, optimizer, margin_warmup_epochs, augment,
        seed, lr_schedule and reestimate_bn. Its history is replaced by the new one.
    net : nn.Module
        The backbone as trained: ``result.model`` or its ``DistributedDataParallel`` wrapper.
    head : nn.Module
        The head as trained (its ``margin_factor`` is warmed up and recorded).
    images : torch.Tensor
        (N, C, H, W) float32 training images, on the backbone's device.
    labels : torch.Tensor
        (N,) int64 training labels, on the backbone's device.
    heldout : tuple(images, labels) or None
        Checked held-out tensors (see :func:`fit`), or None.
    batch_loss : callable
        ``batch_loss(x, y)`` with the whole batch x (B, C, H, W) and y (B,): the scalar tensor this
        process backpropagates, whose value is the batch's mean loss; or None to skip the batch (the
        step still counts for the warm-up and the learning rate).
    eval_accuracy : callable
        ``eval_accuracy(images, labels)``: eval-mode accuracy in [0, 1] of the current model.
    callback : callable or None
        As :func:`fit`.
    progress : bool
        Show a ``tqdm.auto`` bar over epochs.

    Returns
    -------
    TrainResult
        ``result``, with its history, ``seconds`` and ``config["fit"]["epochs_done"]`` filled in.

    Raises
    ------
    ValueError
        If the loss became NaN or inf.
    """
    settings = result.config["fit"]
    epochs, batch_size, lr, seed = settings["epochs"], settings["batch_size"], settings["lr"], settings["seed"]
    params = list(net.parameters()) + list(head.parameters())
    adam = settings["optimizer"] == "adam"
    opt = torch.optim.Adam(params, lr=lr) if adam else torch.optim.SGD(params, lr=lr, momentum=0.9)
    generator = torch.Generator().manual_seed(seed)
    n = images.shape[0]
    steps_per_epoch = math.ceil(n / batch_size)
    warmup_steps = settings["margin_warmup_epochs"] * steps_per_epoch
    total_steps = epochs * steps_per_epoch
    history: dict[str, list[float]] = {"loss": [], "eval_accuracy_train": [], "margin_factor": [], "lr": [],
                                       "seconds": []}
    if heldout is not None:
        history["eval_accuracy_heldout"] = []
    result.history = history
    start = time.perf_counter()
    step = 0

    def settle(every_image: bool) -> dict[str, float]:
        """Re-estimate BatchNorm (when configured; every image or a sample) and measure the eval-mode accuracies."""
        if settings["reestimate_bn"]:
            reestimate_batchnorm(result.model, images, seed=seed, max_images=None if every_image else BN_IMAGES)
        measured = {"eval_accuracy_train": eval_accuracy(images, labels)}
        if heldout is not None:
            measured["eval_accuracy_heldout"] = eval_accuracy(*heldout)
        return measured

    bar = tqdm(range(1, epochs + 1), desc=_describe(head), unit="epoch", disable=not progress, leave=False)
    for epoch in bar:
        net.train()
        head.train()
        order = torch.randperm(n, generator=generator).to(images.device)
        loss_sum, seen = 0.0, 0
        for first in range(0, n, batch_size):
            if warmup_steps:
                head.margin_factor = min(1.0, step / warmup_steps)
            if settings["lr_schedule"] == "cosine":
                for group in opt.param_groups:
                    group["lr"] = lr * 0.5 * (1.0 + math.cos(math.pi * step / total_steps))
            index = order[first : first + batch_size]
            x, y = images[index], labels[index]
            if settings["augment"]:  # drawn for the whole batch on every process: the generators stay in step
                x = augment_batch(x, generator)
            step += 1
            loss = batch_loss(x, y)
            if loss is None:
                continue
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += float(loss.detach()) * len(index)
            seen += len(index)
        if not math.isfinite(loss_sum):
            raise ValueError(
                f"the loss became {loss_sum / seen} in epoch {epoch}: lower lr, s or the margin, or use margin_warmup_epochs"
            )
        if warmup_steps:
            head.margin_factor = min(1.0, step / warmup_steps)
        history["loss"].append(loss_sum / seen)
        for key, value in settle(every_image=epoch == epochs).items():  # every image for the model fit returns
            history[key].append(value)
        history["margin_factor"].append(float(getattr(head, "margin_factor", 1.0)))
        history["lr"].append(float(opt.param_groups[0]["lr"]))
        history["seconds"].append(time.perf_counter() - start)
        result.seconds = history["seconds"][-1]
        bar.set_postfix(loss=f"{history['loss'][-1]:.3f}", eval_acc=f"{history['eval_accuracy_train'][-1]:.3f}")
        if callback is not None and callback(epoch, result) is True:
            if settings["reestimate_bn"] and epoch < epochs and n > BN_IMAGES:
                # stopped early: this epoch is the last, so the model fit returns gets every image too, and the
                # history's last entries describe that model
                for key, value in settle(every_image=True).items():
                    history[key][-1] = value
            break
    bar.close()
    result.seconds = time.perf_counter() - start
    result.config["fit"]["epochs_done"] = result.epochs_done
    return result


def reestimate_batchnorm(model: nn.Module, dataset_or_images, *, seed: int = 0, max_images: int | None = BN_IMAGES,
                         batch_size: int = 128) -> None:
    """Replace the running statistics of every BatchNorm layer by their values over the images.

    One forward pass without gradients in training mode, with
    ``torch.optim.swa_utils.update_bn``: each layer's running mean and variance become the average
    of the per-chunk statistics (momentum None). The images are a random sample drawn from
    ``seed`` (all of them when there are at most ``max_images``), in random chunks, because data are
    often sorted by identity and the mean variance of one-identity chunks would underestimate the
    variance over all faces. Weights are not touched; the model's training/eval mode is restored.
    A model without BatchNorm is left as it is.

    Parameters
    ----------
    model : nn.Module
        Backbone, e.g. :class:`FaceCNN`.
    dataset_or_images : FaceDataset or torch.Tensor
        The training images (N, C, H, W), float32, without augmentation.
    seed : int, default 0
        Seed of the sample and chunk order (its own generator: no global random state is used).
    max_images : int or None, default 512
        Use a random sample of this many images when there are more (None: all). Each channel's
        statistics then rest on 512 × H × W values (8,192 at the last 4×4 block of 32×32 faces),
        at a third of the cost of all 1,600 images in lesson 2, but with less accuracy there: on
        lesson 2's seed-0 runs a 512 sample left eval-mode accuracy up to 1.6 points below all 1,600
        images (ArcFace 0.987 against 0.994, NormFace 0.976 against 0.992; softmax 1.000 both),
        which is why :func:`fit` uses every image after its last epoch.
    batch_size : int, default 128
        Largest chunk (128 was faster per image than 256 on two CPU cores).
    """
    images = _images(dataset_or_images)
    check_int("batch_size", batch_size, minimum=1, fix="pass images per chunk, e.g. 128")
    check_int("seed", seed, minimum=0, fix="pass a seed >= 0")
    if max_images is not None:
        check_int("max_images", max_images, minimum=2, fix="pass None for all images, or e.g. 512")
    device = next(model.parameters()).device
    order = torch.randperm(images.shape[0], generator=torch.Generator().manual_seed(seed))[:max_images]
    chunks = torch.tensor_split(order, math.ceil(len(order) / batch_size))
    torch.optim.swa_utils.update_bn((images[chunk.to(images.device)].to(device) for chunk in chunks), model)


def _describe(head: nn.Module) -> str:
    describe = getattr(head, "describe", None)
    return describe() if callable(describe) else type(head).__name__


def head_config(head: nn.Module) -> dict:
    """Name and constructor arguments of a head from :mod:`arcface_viz.heads`, enough to rebuild it.

    Parameters
    ----------
    head : nn.Module
        A head of :mod:`arcface_viz.heads`.

    Returns
    -------
    dict
        ``{"name", "in_features", "out_features", "kwargs", "margin_factor"}``.

    Raises
    ------
    TypeError
        If ``head`` is not one of the named heads (it has no ``name``).
    """
    name = getattr(head, "name", "")
    if not name:
        raise TypeError(f"{type(head).__name__} is not a named head from arcface_viz.heads; cannot describe it")
    kwargs = {}
    for param in inspect.signature(type(head).__init__).parameters:
        if param in ("self", "in_features", "out_features"):
            continue
        if param == "bias":
            kwargs[param] = head.linear.bias is not None
        elif param == "m":  # the loss's single margin: which of m1, m2, m3 it is comes from the registry
            kwargs[param] = getattr(head, get_loss(name).main_margin)
        else:
            kwargs[param] = getattr(head, param)
    return {
        "name": name,
        "in_features": head.in_features,
        "out_features": head.out_features,
        "kwargs": kwargs,
        "margin_factor": float(head.margin_factor),
    }


def fit_config(model: nn.Module, head: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, epochs: int,
               batch_size: int, lr: float, optimizer: str, margin_warmup_epochs: int, augment: bool, seed: int,
               lr_schedule: str, reestimate_bn: bool, **extra: object) -> dict:
    """The JSON-ready description of a training run that :attr:`TrainResult.config` holds.

    Parameters
    ----------
    model : nn.Module
        The backbone (its ``config()`` is recorded when it has one, as :class:`FaceCNN` does).
    head : nn.Module
        The head (recorded with :func:`head_config` when it is a named head).
    images : torch.Tensor
        (N, C, H, W) training images: their number and size are recorded.
    labels : torch.Tensor
        (N,) training labels: the number of classes is ``labels.max() + 1``.
    epochs, batch_size, lr, optimizer, margin_warmup_epochs, augment, seed, lr_schedule, reestimate_bn : object
        :func:`fit`'s arguments of the same names.
    **extra : object
        Further JSON-ready entries of ``config["fit"]`` (``distributed.fit`` adds ``world_size``,
        ``backend`` and ``sample_rate``).

    Returns
    -------
    dict
        ``{"model", "head", "fit", "data", "versions"}``; :func:`load` rebuilds the model and
        head from it.
    """
    fit_args = {
        "epochs": epochs, "batch_size": batch_size, "lr": float(lr), "optimizer": optimizer,
        "margin_warmup_epochs": margin_warmup_epochs, "augment": bool(augment), "seed": seed,
        "lr_schedule": lr_schedule, "reestimate_bn": reestimate_bn, **extra,
    }
    model_config = model.config() if hasattr(model, "config") else {}
    return {
        "model": {"class": type(model).__name__, **model_config},
        "head": head_config(head) if getattr(head, "name", "") else {"class": type(head).__name__},
        "fit": fit_args,
        "data": {
            "n_images": int(images.shape[0]),
            "n_classes": int(labels.max()) + 1,
            "image_size": list(images.shape[2:]),
        },
        "versions": {"arcface_viz": arcface_viz.__version__, "torch": torch.__version__},
    }


# --------------------------------------------------------------------------- inference
def _images(data) -> torch.Tensor:
    images = data.images if hasattr(data, "images") else data
    if not isinstance(images, torch.Tensor):
        raise TypeError(message("images", type(images).__name__, "expected a FaceDataset or a float tensor (N, C, H, W)",
                                "pass dataset or dataset.images"))
    if images.ndim != 4:
        raise ValueError(message("images.shape", tuple(images.shape), "expected (N, C, H, W)",
                                 "pass a FaceDataset or a float tensor (N, C, H, W)"))
    if images.shape[0] == 0:  # else torch.cat of no chunks fails far from the cause
        raise ValueError(message("images.shape", tuple(images.shape), "no images", "pass at least one image"))
    return check_pixels("images", images)


@torch.no_grad()
def forward_in_chunks(fn: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, batch_size: int,
                      device: torch.device | str) -> torch.Tensor:
    """``fn`` applied to the images in chunks, without gradients, the results joined on the CPU.

    Parameters
    ----------
    fn : callable
        Maps a (b, C, H, W) float32 batch on ``device`` to a (b, ...) tensor, e.g. a backbone.
    images : torch.Tensor
        (N, C, H, W) float32.
    batch_size : int
        Images per chunk (bounds memory; :data:`EVAL_BATCH` is fast on two CPU cores).
    device : torch.device or str
        Where ``fn`` runs.

    Returns
    -------
    torch.Tensor
        (N, ...) float32 on the CPU.
    """
    return torch.cat([fn(images[i : i + batch_size].to(device)).float().cpu() for i in range(0, len(images), batch_size)])


@contextmanager
def eval_mode(*modules: nn.Module) -> Iterator[None]:
    """Put modules in eval mode and restore each one's previous mode afterwards.

    So a callback can embed or evaluate mid-training without leaving the model in eval mode.

    Parameters
    ----------
    *modules : nn.Module
        The modules, e.g. a backbone and its head.

    Yields
    ------
    None
        Inside the ``with`` block every module is in eval mode.
    """
    modes = [m.training for m in modules]
    for m in modules:
        m.eval()
    try:
        yield
    finally:
        for m, mode in zip(modules, modes):
            m.train(mode)


def embed(model: nn.Module, dataset_or_images, batch_size: int = EVAL_BATCH, normalize: bool = True) -> torch.Tensor:
    """Unit-length embeddings of images, computed in eval mode without gradients, in chunks.

    Parameters
    ----------
    model : nn.Module
        Backbone, e.g. :class:`FaceCNN`; its training/eval mode is restored afterwards.
    dataset_or_images : FaceDataset or torch.Tensor
        A dataset (its ``images``) or a float tensor (N, C, H, W).
    batch_size : int, default 256
        Chunk size; bounds memory and keeps the convolutions fast.
    normalize : bool, default True
        False returns the raw embeddings, whose norm ‖z‖ is what feature-norm quality measures
        (AdaFace, MagFace) read.

    Returns
    -------
    torch.Tensor
        (N, D) float32 on the CPU, each row of L2 norm 1 (raw rows with ``normalize=False``).

    Raises
    ------
    TypeError
        If the input is neither a dataset nor a 4-D tensor.
    ValueError
        If there are no images, or a pixel lies outside [0, 1].
    """
    images = _images(dataset_or_images)
    check_int("batch_size", batch_size, minimum=1, fix="pass images per chunk, e.g. 256")
    device = next(model.parameters()).device
    normalize = check_bool("normalize", normalize)
    with eval_mode(model):
        raw = forward_in_chunks(model, images, batch_size, device)
    return F.normalize(raw, dim=1) if normalize else raw


def predict(model: nn.Module, head: nn.Module, dataset_or_images, batch_size: int = EVAL_BATCH) -> torch.Tensor:
    """Closed-set class prediction (argmax of the margin-free logits), in eval mode, no gradients.

    Parameters
    ----------
    model : nn.Module
        The trained backbone.
    head : nn.Module
        The trained head (its classes are the predicted labels).
    dataset_or_images : FaceDataset or torch.Tensor
        The faces, or images float32 (N, C, H, W) in [0, 1].
    batch_size : int, default 256
        Images per forward pass.

    Returns
    -------
    torch.Tensor
        (N,) int64 predicted labels.
    """
    images = _images(dataset_or_images)
    device = next(model.parameters()).device
    with eval_mode(model, head):
        return forward_in_chunks(lambda x: head(model(x)), images, batch_size, device).argmax(1)


def accuracy(model: nn.Module, head: nn.Module, dataset, batch_size: int = EVAL_BATCH) -> float:
    """Share of ``dataset`` images whose predicted class equals their label (classes of the head).

    Parameters
    ----------
    model : nn.Module
        The trained backbone.
    head : nn.Module
        The trained head.
    dataset : FaceDataset or tuple(images, labels)
        Held-out images of the *training* identities (labels in the head's numbering).
    batch_size : int, default 256
        Images per forward pass.

    Returns
    -------
    float
        Accuracy in [0, 1].

    Raises
    ------
    ValueError
        No images, or a label outside the head's classes [0, C-1] (unseen identities: use
        :func:`arcface_viz.metrics.verification`).
    """
    images, labels = images_and_labels(dataset)
    check_labels(labels, len(labels), head.out_features, labels.device)  # an unknown class would count as wrong
    return float((predict(model, head, images, batch_size) == labels.cpu()).float().mean())


# --------------------------------------------------------------------------- checkpoints
def _paths(path) -> tuple[Path, Path]:
    path = Path(path)
    if path.suffix == ".json":
        raise ValueError(f"{path}: give the checkpoint path (e.g. model.pt); the JSON config is written next to it")
    return path, path.with_suffix(".json")


def save(result: TrainResult, path, overwrite: bool = False) -> Path:
    """Write ``path`` (state_dicts of model and head) and ``path`` with suffix .json (config, history).

    Parameters
    ----------
    result : TrainResult
        From :func:`fit`; the model must be a :class:`FaceCNN` and the head a named head.
    path : str or Path
        Checkpoint file, e.g. ``runs/arcface.pt``; ``runs/arcface.json`` is written beside it.
    overwrite : bool, default False
        Replace existing files; otherwise an existing file is an error.

    Returns
    -------
    Path
        The checkpoint path.

    Raises
    ------
    FileExistsError
        If either file exists and ``overwrite`` is False.
    IsADirectoryError
        If ``path`` is a folder.
    TypeError
        If ``overwrite`` is not a bool (``"False"`` would be true), or the model or head cannot be
        rebuilt from a config.
    """
    weights, sidecar = _paths(path)
    if weights.is_dir():  # overwrite=True cannot help: a checkpoint is a file
        raise IsADirectoryError(f"path={str(weights)!r}: is a folder; give a checkpoint file in it, e.g. "
                                f"{weights / (getattr(result.head, 'name', '') or 'model')}.pt")
    if not check_bool("overwrite", overwrite):
        for p in (weights, sidecar):
            if p.exists():
                raise FileExistsError(f"{p} exists: pass overwrite=True to replace it, or choose another path")
    if not isinstance(result.model, FaceCNN):
        raise TypeError(f"save supports FaceCNN backbones, got {type(result.model).__name__}")
    config = dict(result.config)
    config["model"] = {"class": "FaceCNN", **result.model.config()}
    config["head"] = head_config(result.head)
    weights.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": result.model.state_dict(), "head": result.head.state_dict()}, weights)
    document = {"config": config, "history": result.history, "seconds": result.seconds}
    sidecar.write_text(json.dumps(document, indent=2))
    return weights


def load(path) -> TrainResult:
    """Rebuild a :class:`TrainResult` written by :func:`save` (model and head in eval mode).

    The weights are read with ``torch.load(weights_only=True)``: no pickled code runs.

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint written by :func:`save` (its JSON config sits beside it).

    Returns
    -------
    TrainResult
        Model and head with their trained weights, the history, seconds and config.

    Raises
    ------
    FileNotFoundError
        If the checkpoint or its JSON config is missing.
    ValueError
        If the config names an unknown model class or head, or a file is damaged (not JSON, keys
        missing, a truncated .pt) or the weights do not fit the config (files of different runs).
    """
    weights, sidecar = _paths(path)
    for p in (weights, sidecar):
        if not p.is_file():
            raise FileNotFoundError(f"{p} not found: save(result, {weights}) writes both files")
    try:
        document = json.loads(sidecar.read_text())
        config = document["config"]
        model_config = dict(config["model"])
        model_class = model_config.pop("class")
    except (ValueError, KeyError, TypeError) as error:
        raise _unreadable(sidecar, error) from error
    if model_class != "FaceCNN":
        raise ValueError(f"{sidecar}: unknown model class {model_class!r}")
    try:
        model = FaceCNN(**model_config)
        h = config["head"]
        head = make_head(h["name"], h["in_features"], h["out_features"], **h["kwargs"])
        head.margin_factor = h["margin_factor"]
        history, seconds = document["history"], float(document["seconds"])
    except (ValueError, KeyError, TypeError) as error:
        raise _unreadable(sidecar, error) from error
    try:  # a damaged zip, a pickle weights_only refuses, or weights that do not fit the config's shapes
        state = torch.load(weights, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"])
        head.load_state_dict(state["head"])
    except (RuntimeError, pickle.UnpicklingError, EOFError, KeyError, TypeError) as error:
        raise _unreadable(weights, error) from error
    model.eval()
    head.eval()
    return TrainResult(model, head, history, seconds, config)


def _unreadable(path: Path, error: Exception) -> ValueError:
    """The error of a checkpoint file that exists but cannot be used, naming the whole path and the cause."""
    text = str(error).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    first = " ".join(lines[:2]) if lines and lines[0].endswith(":") else (lines[0] if lines else "")  # state_dict errors
    cause = type(error).__name__ + (f": {first.split('. ')[0][:160]}" if first else "")
    return ValueError(f"path={str(path)!r}: cannot be read as a checkpoint ({cause}); the file is damaged or .pt and "
                      ".json come from different runs: save the run again with training.save")
