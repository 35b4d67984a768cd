"""One set of argument checks for the whole package, with one message style and one rule for types.

Every message reads ``name=value: what is wrong; what to do``. A value of the wrong *kind* (a str
where a number belongs, a float where an int belongs, a bool where a number belongs) raises
``TypeError``; a value of the right kind that is not allowed (NaN, out of range, unknown name) raises
``ValueError``. The legal range of every loss quantity -- the scale s and the margins m1, m2, m3 --
comes from :mod:`arcface_viz.losses`, so the heads, the explorer, the figures, the widgets and the
command line accept and refuse the same values with the same words. The command line passes its
option name (``name="--scale"``) and turns the error into its exit code 2.

This module imports nothing from the package but :mod:`arcface_viz.losses`; every module may use it.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

import numpy as np

import torch

from .losses import INTERACTIVE_LOSSES, LOSS_NAMES, MARGIN_NAMES, M1_RANGE, M2_RANGE, M3_RANGE, S_RANGE, Loss, get_loss

__all__ = [
    "message",
    "check_real",
    "check_int",
    "check_bool",
    "check_choice",
    "check_loss",
    "check_scale",
    "check_margins",
    "check_margin",
    "check_logit_range",
    "check_head_parameters",
    "check_probability",
    "check_fraction",
    "check_angles",
    "check_degrees",
    "check_size",
    "check_callable",
    "check_labels",
    "check_array",
    "check_label_array",
    "check_index_pairs",
    "check_roc",
    "check_pixels",
    "check_cosines",
    "check_float32_module",
]

#: Rounding slack for cosines beyond ±1: a float32 product of unit vectors overshoots 1 by a few ulp
#: (measured: at most 4.8e-7 for D = 2..4096; the bound for naive sums is ~D·6e-8, 2.5e-4 at D = 4096).
COS_TOLERANCE = 1e-3

#: Largest float32: s·(1 + m3 + π) must stay below it, or the logits overflow to inf without an error.
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _show(value: object) -> str:
    """A short, readable rendering of a value for a message (numpy scalars as plain numbers, long reprs cut)."""
    if isinstance(value, np.generic):
        value = value.item()
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def message(name: str, value: object, problem: str, fix: str) -> str:
    """The package's one error-message format: ``name=value: problem; fix``.

    Parameters
    ----------
    name : str
        Name of the argument (or command-line option, e.g. ``"--scale"``) that is wrong.
    value : object
        The offending value; numpy scalars are shown as plain numbers, long reprs are cut to 60
        characters.
    problem : str
        What is wrong with it.
    fix : str
        What the caller should do instead.

    Returns
    -------
    str
        The message, ready for an exception.

    Examples
    --------
    >>> message("s", -1.0, "must lie in [0.001, 10000]", "typical 16")
    's=-1.0: must lie in [0.001, 10000]; typical 16'
    """
    return f"{name}={_show(value)}: {problem}; {fix}"


def _interval(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    left = "(" if low_open or low is None else "["
    right = ")" if high_open or high is None or high == math.inf else "]"
    lo = "-inf" if low is None else f"{low:g}"
    hi = "inf" if high is None or high == math.inf else ("π" if high == math.pi else f"{high:g}")
    return f"{left}{lo}, {hi}{right}"


def check_real(name: str, value: object, *, low: float | None = None, high: float | None = None,
               low_open: bool = False, high_open: bool = False, fix: str = "") -> float:
    """``value`` as a finite float, optionally within ``[low, high]`` (ends open on request).

    Parameters
    ----------
    name : str
        Argument name used in the message.
    value : object
        The value to check: a Python or numpy real number.
    low, high : float or None, optional
        Bounds of the legal interval; None means unbounded on that side.
    low_open, high_open : bool, optional
        Exclude the lower / upper bound itself (default: both ends included).
    fix : str, optional
        Ends the message (a typical value, a unit hint); default ``"pass a plain number"``.

    Returns
    -------
    float
        ``float(value)``.

    Raises
    ------
    TypeError
        If ``value`` is a bool, str, tensor or other non-real object (use ``float(...)`` on a
        one-element tensor).
    ValueError
        If ``value`` is NaN or ±inf, or lies outside the interval.

    Examples
    --------
    >>> check_real("p", 0.25, low=0.0, high=1.0)
    0.25
    >>> check_real("p", 1.5, low=0.0, high=1.0, high_open=True)
    Traceback (most recent call last):
    ...
    ValueError: p=1.5: must lie in [0, 1); pass a plain number
    """
    hint = fix or "pass a plain number"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(message(name, value, f"expected a real number, got {type(value).__name__}",
                                hint + " (use float(...) on a tensor)"))
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(message(name, value, "must be a finite number", hint))
    below = low is not None and (number <= low if low_open else number < low)
    above = high is not None and (number >= high if high_open else number > high)
    if below or above:
        raise ValueError(message(name, value, f"must lie in {_interval(low, high, low_open, high_open)}", hint))
    return number


def check_int(name: str, value: object, *, minimum: int | None = None, maximum: int | None = None,
              fix: str = "") -> int:
    """``value`` as an int in ``[minimum, maximum]``.

    Parameters
    ----------
    name : str
        Argument name used in the message.
    value : object
        A Python or numpy integer.
    minimum, maximum : int or None, optional
        Inclusive bounds; None means unbounded on that side.
    fix : str, optional
        Ends the message; default ``"pass a whole number"``.

    Returns
    -------
    int
        ``int(value)``.

    Raises
    ------
    TypeError
        If ``value`` is a bool, a float (even ``3.0``) or not a number.
    ValueError
        If ``value`` lies outside ``[minimum, maximum]``.
    """
    hint = fix or "pass a whole number"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(message(name, value, f"expected an int, got {type(value).__name__}", hint))
    number = int(value)
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        bounds = (f">= {minimum}" if maximum is None else f"<= {maximum}" if minimum is None
                  else f"in [{minimum}, {maximum}]")
        raise ValueError(message(name, value, f"must be {bounds}", hint))
    return number


def check_bool(name: str, value: object) -> bool:
    """``value`` as a bool, refusing truthy stand-ins (``bool("False")`` would be True).

    Parameters
    ----------
    name : str
        Argument name used in the message.
    value : object
        A Python or numpy bool.

    Returns
    -------
    bool
        ``bool(value)``.

    Raises
    ------
    TypeError
        If ``value`` is anything but a bool (0/1, strings and None included).
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(message(name, value, f"expected True or False, got {type(value).__name__}",
                                "pass True or False"))
    return bool(value)


def check_choice(name: str, value: object, choices: Iterable[str]) -> str:
    """``value`` lower-cased, if it is one of ``choices`` (compared case-insensitively).

    Parameters
    ----------
    name : str
        Argument name used in the message.
    value : object
        A str.
    choices : iterable of str
        The allowed values, lower-case.

    Returns
    -------
    str
        ``value.lower()``.

    Raises
    ------
    TypeError
        If ``value`` is not a str.
    ValueError
        If ``value`` is not one of ``choices``; the message lists them.
    """
    options = tuple(choices)
    if not isinstance(value, str):
        raise TypeError(message(name, value, f"expected a str, got {type(value).__name__}",
                                f"use one of {', '.join(options)}"))
    key = value.lower()
    if key not in options:
        raise ValueError(message(name, value, "unknown", f"use one of {', '.join(options)}"))
    return key


def check_loss(name: str, value: object, *, custom: bool = False, interactive: bool = False) -> str:
    """A registered loss name (case-insensitive), lower-cased.

    Parameters
    ----------
    name : str
        Argument name used in the message.
    value : object
        A loss name, one of :data:`arcface_viz.losses.LOSS_NAMES`.
    custom : bool, optional
        Also accept ``"custom"`` (the explorer's user-defined margin). Default False.
    interactive : bool, optional
        Accept only the losses the margin explorer and the training lab offer,
        :data:`arcface_viz.losses.INTERACTIVE_LOSSES`. Default False.

    Returns
    -------
    str
        The lower-cased loss name.

    Raises
    ------
    TypeError
        If ``value`` is not a str.
    ValueError
        If ``value`` names no registered loss, or (with ``interactive``) one the widgets do not offer.

    Examples
    --------
    >>> check_loss("loss", "subcenter", custom=True, interactive=True)
    Traceback (most recent call last):
    ...
    ValueError: loss='subcenter': Sub-center ArcFace is not offered in the margin explorer and the training lab; use one of softmax, normface, sphereface, cosface, arcface, combined, custom
    """
    extra = ("custom",) if custom else ()
    offered = (*INTERACTIVE_LOSSES, *extra) if interactive else (*LOSS_NAMES, *extra)
    if not isinstance(value, str) or value.lower() not in LOSS_NAMES:
        return check_choice(name, value, offered)  # raises: the message lists what is offered
    key = value.lower()
    if interactive:
        if key not in offered:
            raise ValueError(message(name, value, f"{get_loss(key).label} is not offered in the margin explorer "
                                     "and the training lab",
                                     f"use one of {', '.join(offered)}"))
    return key


def check_scale(s: object, name: str = "s") -> float:
    """The scale s: a finite number in :data:`arcface_viz.losses.S_RANGE`, ``[1e-3, 1e4]``.

    Parameters
    ----------
    s : object
        The scale (dimensionless; the radius of the hypersphere the logits live on).
    name : str, optional
        Argument name used in the message; default ``"s"``.

    Returns
    -------
    float
        ``float(s)``.

    Raises
    ------
    TypeError
        If ``s`` is not a real number.
    ValueError
        If ``s`` is NaN, infinite or outside ``[1e-3, 1e4]``.
    """
    return check_real(name, s, low=S_RANGE[0], high=S_RANGE[1],
                      fix="typical 16 for few identities, 64 in the paper")


def check_margins(m1: object, m2: object, m3: object) -> tuple[float, float, float]:
    """The margins (m1, m2, m3) of the combined form, as floats within the registry's ranges.

    m1 < 1 is accepted only with m2 >= (1 − m1)·π: then m1·θ + m2 >= θ for every θ in [0, π], so the
    angular part never rewards the target (ArcFace, Deng et al. 2019, Table 1: CM2 = (0.9, 0.4, 0.15)).

    Parameters
    ----------
    m1 : object
        Multiplicative angular margin, in :data:`~arcface_viz.losses.M1_RANGE` = ``(0, 10]`` (1 means
        none).
    m2 : object
        Additive angular margin in radians, in :data:`~arcface_viz.losses.M2_RANGE` = ``[0, π)``.
    m3 : object
        Additive cosine margin, in :data:`~arcface_viz.losses.M3_RANGE` = ``[0, 2]``.

    Returns
    -------
    tuple of float
        ``(m1, m2, m3)``.

    Raises
    ------
    TypeError
        If a margin is not a real number.
    ValueError
        If a margin is NaN, infinite or outside its range (m2 = π is refused), or m1 < 1 with
        m2 < (1 − m1)·π.

    References
    ----------
    .. [1] J. Deng et al., "ArcFace: Additive Angular Margin Loss for Deep Face Recognition",
       CVPR 2019, arXiv:1801.07698, eq. 4 (the combined margin ``cos(m1·θ + m2) − m3``) and
       Table 1 (combined margins CM1, CM2).
    """
    m1 = check_real("m1", m1, low=M1_RANGE[0], high=M1_RANGE[1], low_open=True,
                    fix="the multiplicative margin is in (0, 10] (1 means none; SphereFace uses 1.35)")
    m2 = check_real("m2", m2, low=M2_RANGE[0], high=M2_RANGE[1], high_open=True,
                    fix="the additive angular margin is in radians (ArcFace uses 0.5 = 28.6°)")
    m3 = check_real("m3", m3, low=M3_RANGE[0], high=M3_RANGE[1],
                    fix="the additive cosine margin is in [0, 2] (CosFace uses 0.35; beyond 2 the target never wins)")
    if m1 < 1.0 and m2 < (1.0 - m1) * math.pi:
        raise ValueError(message(
            "m1", m1, f"below 1 with m2={m2:g}, m1·θ + m2 < θ for θ > m2/(1 − m1) = {m2 / (1.0 - m1):.3g} rad, "
            "where the margin would reward the target",
            f"use m2 >= (1 − m1)·π = {(1.0 - m1) * math.pi:.3g} (the paper's CM2 is m1=0.9, m2=0.4) or m1 >= 1"))
    return m1, m2, m3


def check_margin(loss: str | Loss, m: object, name: str = "m") -> float:
    """The single margin ``m`` of a loss, within that loss's legal range (``Loss.m_range``).

    Parameters
    ----------
    loss : str or Loss
        A registered loss name or entry; its ``main_margin`` says whether ``m`` is m1, m2 (radians,
        open at π) or m3.
    m : object
        The margin value.
    name : str, optional
        Argument name used in the message; default ``"m"``.

    Returns
    -------
    float
        ``float(m)``.

    Raises
    ------
    TypeError
        If ``m`` is not a real number, or ``loss`` is neither a str nor a Loss.
    ValueError
        If ``loss`` has no single margin (softmax, NormFace, combined), is unknown, ``m`` lies
        outside its range, or ``m`` with the loss's other margins breaks the rule of
        :func:`check_margins`.
    """
    entry = loss if isinstance(loss, Loss) else get_loss(loss)
    if entry.main_margin is None:
        raise ValueError(message(name, m, f"{entry.label} has no single margin m",
                                 "pass m1, m2 and m3 instead (or choose arcface, cosface or sphereface)"))
    low, high = entry.m_range
    unit = " radians" if entry.main_margin == "m2" else ""
    m = check_real(name, m, low=low, high=high, high_open=entry.main_margin == "m2",
                   fix=f"{entry.label}'s m is its {entry.main_margin}{unit} (default {entry.default_m:g})")
    # with the loss's other margins: the same combined rule as the heads (e.g. SphereFace m1 < 1 rewards the target)
    margins = dict(zip(MARGIN_NAMES, entry.margins), **{entry.main_margin: m})
    check_margins(margins["m1"], margins["m2"], margins["m3"])
    return m


def check_logit_range(s: float, m3: float) -> None:
    """Refuse s and m3 whose largest logit s·(1 + m3 + π) would overflow float32 to inf.

    Parameters
    ----------
    s : float
        The scale, already checked.
    m3 : float
        The additive cosine margin, already checked.

    Raises
    ------
    ValueError
        If ``s·(1 + m3 + π)`` reaches the largest float32 (about 3.4e38).
    """
    if s * (1.0 + m3 + math.pi) >= _FLOAT32_MAX:
        raise ValueError(message("m3", m3, f"with s={s:g} the logits s·(1 + m3 + π) overflow float32 to inf",
                                 "use m3 <= 1 (CosFace uses 0.35)"))


def check_head_parameters(s: object, m1: object, m2: object, m3: object,
                          easy_margin: object) -> tuple[float, float, float, float, bool]:
    """Scale, margins and ``easy_margin`` of a margin head, checked together.

    Parameters
    ----------
    s : object
        The scale, see :func:`check_scale`.
    m1, m2, m3 : object
        The margins of the combined form (m2 in radians), see :func:`check_margins`.
    easy_margin : object
        A bool, see :func:`check_bool`.

    Returns
    -------
    tuple
        ``(s, m1, m2, m3, easy_margin)`` as four floats and a bool.

    Raises
    ------
    TypeError
        If a value has the wrong kind (see the checks above).
    ValueError
        If a value is out of range, or the logits would overflow float32.
    """
    s = check_scale(s)
    m1, m2, m3 = check_margins(m1, m2, m3)
    check_logit_range(s, m3)
    return s, m1, m2, m3, check_bool("easy_margin", easy_margin)


def check_probability(name: str, value: object) -> float:
    """A probability strictly between 0 and 1.

    Parameters
    ----------
    name : str
        Argument name used in the message.
    value : object
        The probability.

    Returns
    -------
    float
        ``float(value)``.

    Raises
    ------
    TypeError
        If ``value`` is not a real number.
    ValueError
        If ``value`` is NaN or not in the open interval ``(0, 1)``.
    """
    return check_real(name, value, low=0.0, high=1.0, low_open=True, high_open=True,
                      fix="pass a probability strictly between 0 and 1, e.g. 0.9")


def check_fraction(name: str, value: object) -> float:
    """A fraction in [0, 1] (a rate, an accuracy); percentages are refused.

    Parameters
    ----------
    name : str
        Argument name used in the message.
    value : object
        The fraction.

    Returns
    -------
    float
        ``float(value)``.

    Raises
    ------
    TypeError
        If ``value`` is not a real number.
    ValueError
        If ``value`` is NaN or outside ``[0, 1]`` (e.g. a percentage such as 95).
    """
    return check_real(name, value, low=0.0, high=1.0, fix="pass a fraction in [0, 1] (percent? divide by 100)")


def check_angles(name: str, theta: object) -> np.ndarray:
    """Angles in radians within [0, π] as a float64 array (degrees are caught here).

    Parameters
    ----------
    name : str
        Argument name used in the message.
    theta : number, array_like or torch.Tensor
        Angles in radians, any shape; a tensor is detached and moved to the CPU.

    Returns
    -------
    numpy.ndarray
        A float64 array of the same shape.

    Raises
    ------
    TypeError
        If ``theta`` cannot be converted to a float array.
    ValueError
        If an angle is NaN/inf or outside ``[0, π]`` (with 1e-6 slack for float32 π), which is how
        angles in degrees are caught.
    """
    try:
        array = np.asarray(theta.detach().cpu() if hasattr(theta, "detach") else theta, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(message(name, theta, "expected angles as a number, array or tensor",
                                "pass radians in [0, π]")) from None
    if not np.all(np.isfinite(array)):
        raise ValueError(message(name, "NaN/inf", "angles must be finite", "pass radians in [0, π]"))
    if array.size and (array.min() < 0 or array.max() > math.pi + 1e-6):  # float32 π is 8.7e-8 above math.pi
        bad = float(array.min() if array.min() < 0 else array.max())
        raise ValueError(message(name, bad, "outside [0, π] radians", "convert degrees with np.radians"))
    return array


def check_degrees(name: str, value: object) -> float:
    """One angle in degrees within [0, 180] (a probe angle, a slider).

    Parameters
    ----------
    name : str
        Argument name used in the message.
    value : object
        The angle in degrees.

    Returns
    -------
    float
        ``float(value)``, in degrees.

    Raises
    ------
    TypeError
        If ``value`` is not a real number.
    ValueError
        If ``value`` is NaN or outside ``[0, 180]``.
    """
    return check_real(name, value, low=0.0, high=180.0, fix="pass degrees in [0, 180]")


def check_size(name: str, size: object, minimum: int = 1) -> tuple[int, int]:
    """An image size ``N`` or ``(H, W)`` of ints >= ``minimum``, as (H, W).

    Parameters
    ----------
    name : str
        Argument name used in the message.
    size : int or tuple of int
        One side ``N`` (a square image) or ``(H, W)``, in pixels.
    minimum : int, optional
        Smallest legal side; default 1.

    Returns
    -------
    tuple of int
        ``(H, W)`` in pixels.

    Raises
    ------
    TypeError
        If a side is not an int.
    ValueError
        If a tuple does not have two entries, or a side is below ``minimum``.
    """
    if isinstance(size, (tuple, list)):
        if len(size) != 2:
            raise ValueError(message(name, size, "expected N or (H, W)", "pass one int or two"))
        return (check_int(name, size[0], minimum=minimum, fix="pass (H, W) in pixels"),
                check_int(name, size[1], minimum=minimum, fix="pass (H, W) in pixels"))
    side = check_int(name, size, minimum=minimum, fix="pass N or (H, W) in pixels")
    return side, side


def check_callable(name: str, value: object, usage: str) -> object:
    """``value`` if it can be called.

    Parameters
    ----------
    name : str
        Argument name used in the message.
    value : object
        The callable to check.
    usage : str
        How it will be called; ends the message.

    Returns
    -------
    object
        ``value`` itself.

    Raises
    ------
    TypeError
        If ``value`` is not callable.
    """
    if not callable(value):
        raise TypeError(message(name, value, f"expected a callable, got {type(value).__name__}", usage))
    return value


def check_labels(labels: object, batch: int, n_classes: int | None, device: torch.device) -> None:
    """Class labels for a batch: None, or an integer tensor (batch,) on ``device`` with values in [0, C-1].

    ``n_classes=None`` skips the range check (the caller compares the labels with a head later).

    Checked before any kernel runs: an out-of-range label would otherwise be a CUDA assert or a
    silently wrong gather, and -1 "ignore" labels are not supported.

    Parameters
    ----------
    labels : torch.Tensor or None
        Integer tensor of shape ``(batch,)``, or None (no labels: plain cosine logits).
    batch : int
        Number of embeddings in the batch.
    n_classes : int
        Number of classes C.
    device : torch.device
        Device of the embeddings / cosines the labels go with.

    Raises
    ------
    TypeError
        If ``labels`` is not a tensor, or its dtype is bool, floating or complex.
    ValueError
        If its shape is not ``(batch,)``, it is on another device, or a label lies outside
        ``[0, C-1]``.
    """
    if labels is None:
        return
    if not isinstance(labels, torch.Tensor):
        raise TypeError(message("labels", labels, f"expected a torch integer tensor, got {type(labels).__name__}",
                                f"pass torch.tensor(labels) of shape ({batch},)"))
    if labels.dtype == torch.bool or labels.is_floating_point() or labels.is_complex():
        raise TypeError(message("labels.dtype", labels.dtype, "class labels must be integers", "use labels.long()"))
    if labels.shape != (batch,):
        raise ValueError(message("labels.shape", tuple(labels.shape), f"expected ({batch},)",
                                 "pass one class index per embedding"))
    if labels.device != device:
        raise ValueError(message("labels.device", str(labels.device), f"the embeddings/cosines are on {device}",
                                 "move both to one device"))
    if batch and n_classes is not None:
        low, high = (int(v) for v in torch.aminmax(labels))
        if low < 0 or high >= n_classes:
            bad = low if low < 0 else high
            raise ValueError(message("label", bad, f"outside [0, {n_classes - 1}] for {n_classes} classes",
                                     "relabel to 0..C-1 (-1 'ignore' labels are not supported; drop those samples)"))


def _numpy(values: object) -> object:
    """A tensor as a CPU numpy array (out of the autograd graph); anything else unchanged.

    float16 and bfloat16 tensors become float32 first: numpy has no bfloat16.
    """
    if not isinstance(values, torch.Tensor):
        return values
    values = values.detach().cpu()
    if values.dtype in (torch.float16, torch.bfloat16):
        values = values.float()
    return values.numpy()


def check_array(name: str, values: object, *, ndim: int | None = None, dtype=np.float64) -> np.ndarray:
    """A numpy array of ``dtype`` from a tensor or array-like, with ``ndim`` dimensions and no NaN/inf.

    Parameters
    ----------
    name : str
        Argument name used in the message.
    values : array_like or torch.Tensor
        The numbers; a tensor is detached and moved to the CPU.
    ndim : int, optional
        Required number of dimensions; None accepts any.
    dtype : numpy dtype, default numpy.float64
        The dtype of the result.

    Returns
    -------
    numpy.ndarray
        The values as ``dtype``.

    Raises
    ------
    TypeError
        If ``values`` is not numeric.
    ValueError
        If it has the wrong number of dimensions, or (for floating dtypes) contains NaN or inf.
    """
    try:
        array = np.asarray(_numpy(values), dtype=dtype)
    except (TypeError, ValueError):
        raise TypeError(message(name, values, "expected numbers (an array or a tensor)",
                                "pass a numeric array")) from None
    if ndim is not None and array.ndim != ndim:
        raise ValueError(message(f"{name}.shape", array.shape, f"must have {ndim} dimension(s)",
                                 "reshape, or pass the right array"))
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise ValueError(message(name, "NaN/inf", "contains NaN or inf",
                                 "check the model output (learning rate, input scaling) upstream"))
    return array


def check_label_array(name: str, values: object, n: int) -> np.ndarray:
    """Class labels as an int64 (n,) array: integers, one per sample, >= 0.

    Parameters
    ----------
    name : str
        Argument name used in the message.
    values : array_like or torch.Tensor
        Integer class labels.
    n : int
        Number of samples (embeddings) the labels belong to.

    Returns
    -------
    numpy.ndarray, shape (n,), int64
        The labels.

    Raises
    ------
    TypeError
        If the labels are not integers (floats, bools).
    ValueError
        If their shape is not ``(n,)`` or a label is negative.
    """
    array = np.asarray(_numpy(values))
    if array.dtype.kind not in "iu":
        raise TypeError(message(f"{name}.dtype", str(array.dtype), "labels must be integers (class indices)",
                                "use labels.astype(int) or labels.long()"))
    if array.shape != (n,):
        raise ValueError(message(f"{name}.shape", array.shape, f"expected ({n},) to match the embeddings",
                                 "pass one label per embedding"))
    if n and array.min() < 0:
        raise ValueError(message("label", int(array.min()), "labels must be >= 0", "relabel to 0..C-1"))
    return array.astype(np.int64)


def check_index_pairs(pairs: object, n: int) -> np.ndarray:
    """Index pairs into ``n`` samples as an int64 (P, 2) array with P >= 1 and every index in [0, n).

    Parameters
    ----------
    pairs : array_like or torch.Tensor, shape (P, 2)
        Integer index pairs, e.g. from :func:`arcface_viz.faces.make_pairs`.
    n : int
        Number of samples the indices point into.

    Returns
    -------
    numpy.ndarray, shape (P, 2), int64
        The pairs.

    Raises
    ------
    TypeError
        If the indices are not integers.
    ValueError
        If the shape is not (P, 2) with P >= 1, or an index lies outside [0, n).
    """
    array = np.asarray(_numpy(pairs))
    if array.ndim != 2 or array.shape[1:] != (2,) or array.shape[0] == 0:
        raise ValueError(message("pairs.shape", array.shape, "expected (P, 2) with P >= 1",
                                 "make pairs with faces.make_pairs or experiment.all_pairs"))
    if array.dtype.kind not in "iu":
        raise TypeError(message("pairs.dtype", str(array.dtype), "pair indices must be integers",
                                "use pairs.astype(int)"))
    if array.min() < 0 or array.max() >= n:
        bad = int(array.min() if array.min() < 0 else array.max())
        raise ValueError(message("pair index", bad, f"pair indices must lie in [0, {n})", "index the embeddings given"))
    return array.astype(np.int64)


def check_roc(fpr: object, tpr: object) -> tuple[np.ndarray, np.ndarray]:
    """A full ROC as two float64 (K,) arrays: rates in [0, 1], non-decreasing, from (0, 0) to (1, 1).

    Parameters
    ----------
    fpr, tpr : array_like or torch.Tensor, shape (K,)
        False and true positive rates ordered by decreasing threshold, as
        ``sklearn.metrics.roc_curve(..., drop_intermediate=False)`` returns them.

    Returns
    -------
    tuple of numpy.ndarray
        ``(fpr, tpr)`` as float64 arrays.

    Raises
    ------
    TypeError
        If either is not numeric.
    ValueError
        If either is not 1-D, has NaN/inf, fewer than 2 points or another length than the other; a
        rate lies outside [0, 1] (percentages); the rates decrease; or the curve does not run from
        (0, 0) to (1, 1) (a cut or reversed ROC).

    Examples
    --------
    >>> check_roc([0.0, 50.0, 100.0], [0.0, 100.0, 100.0])
    Traceback (most recent call last):
    ...
    ValueError: fpr.max=100.0: rates lie in [0, 1]; divide percentages by 100
    """
    fix = "pass fpr, tpr from the same roc_curve(is_same, scores, drop_intermediate=False)"
    rates = {name: check_array(name, values, ndim=1) for name, values in (("fpr", fpr), ("tpr", tpr))}
    f, t = rates["fpr"], rates["tpr"]
    if f.size < 2:
        raise ValueError(message("fpr.shape", f.shape, "a ROC has at least 2 points, (0, 0) and (1, 1)", fix))
    if t.shape != f.shape:
        raise ValueError(message("tpr.shape", t.shape, f"fpr has {f.size} points", fix))
    for name, r in rates.items():
        if r.min() < 0.0 or r.max() > 1.0:
            which, bad = ("max", r.max()) if r.max() > 1.0 else ("min", r.min())
            raise ValueError(message(f"{name}.{which}", bad, "rates lie in [0, 1]", "divide percentages by 100"))
        drops = np.flatnonzero(np.diff(r) < 0)
        if drops.size:
            i = int(drops[0]) + 1
            raise ValueError(message(f"{name}[{i}]", r[i], f"below {name}[{i - 1}]={r[i - 1]:g}: the rates of a ROC "
                                     "are non-decreasing (ordered by decreasing threshold)", fix))
    for end, target in ((0, 0.0), (-1, 1.0)):
        if f[end] != target or t[end] != target:
            raise ValueError(message(f"fpr[{end}]", f[end], f"with tpr[{end}]={t[end]:g}: a full ROC must start at "
                                     "(0, 0) and end at (1, 1)", fix))
    return f, t


def check_pixels(name: str, images: torch.Tensor) -> torch.Tensor:
    """Images whose every pixel is finite and in [0, 1], the range the models are trained on.

    Parameters
    ----------
    name : str
        Argument name used in the message.
    images : torch.Tensor
        Floating-point images of any shape (usually (N, C, H, W)).

    Returns
    -------
    torch.Tensor
        ``images`` itself.

    Raises
    ------
    ValueError
        If a pixel is NaN or inf, or lies outside [0, 1] (e.g. 0..255 grey levels).

    Examples
    --------
    >>> check_pixels("images", torch.full((1, 1, 2, 2), 255.0))
    Traceback (most recent call last):
    ...
    ValueError: images.max=255.0: pixel values must lie in [0, 1]; divide by 255
    """
    if images.numel() == 0:
        return images
    if not bool(torch.isfinite(images).all()):
        raise ValueError(message(name, "NaN/inf", "contains NaN or inf pixels",
                                 "check how the images were made (a division by zero?) and pass values in [0, 1]"))
    low, high = (float(v) for v in torch.aminmax(images.detach()))
    if high > 1.0:
        raise ValueError(message(f"{name}.max", high, "pixel values must lie in [0, 1]", "divide by 255"))
    if low < 0.0:
        raise ValueError(message(f"{name}.min", low, "pixel values must lie in [0, 1]",
                                 "undo a mean/std normalisation, or rescale to [0, 1]"))
    return images


def check_float32_module(name: str, module: torch.nn.Module, task: str) -> torch.nn.Module:
    """A module whose floating-point parameters are all float32.

    Parameters
    ----------
    name : str
        Argument name used in the message (``"model"``, ``"head"``).
    module : torch.nn.Module
        The module to check.
    task : str
        What runs in float32, for the message (e.g. ``"fit trains in float32"``).

    Returns
    -------
    torch.nn.Module
        ``module`` itself.

    Raises
    ------
    TypeError
        If a floating-point parameter or buffer is not float32 (e.g. after ``model.half()``).
    """
    for tensor in (*module.parameters(), *module.buffers()):
        if tensor.is_floating_point() and tensor.dtype != torch.float32:
            raise TypeError(message(f"{name}.dtype", tensor.dtype, task,
                                    f"call {name}.float()"))
    return module


def check_cosines(name: str, cos: torch.Tensor) -> torch.Tensor:
    """Cosines within [-1, 1], up to rounding: ``COS_TOLERANCE`` (1e-3), or 8 ulp for float16/bfloat16.

    Parameters
    ----------
    name : str
        Argument name used in the message.
    cos : torch.Tensor
        Floating-point cosines, any shape, already checked finite.

    Returns
    -------
    torch.Tensor
        ``cos`` itself (not clamped: the margin code clamps where it needs to).

    Raises
    ------
    ValueError
        If a value lies further than the tolerance outside [-1, 1]: these are not cosines of unit
        vectors (e.g. unnormalised embeddings).

    Examples
    --------
    >>> check_cosines("cos", torch.tensor([[1.5, 0.0]]))
    Traceback (most recent call last):
    ...
    ValueError: cos.max=1.5: a cosine lies in [-1, 1] (up to 0.001 of rounding); normalise the embeddings and the class centres (F.normalize) before their product
    """
    if cos.numel() == 0:
        return cos
    tol = max(COS_TOLERANCE, 8 * torch.finfo(cos.dtype).eps)
    low, high = (float(v) for v in torch.aminmax(cos.detach()))
    if high > 1.0 + tol or low < -1.0 - tol:
        which, bad = ("max", high) if high > 1.0 + tol else ("min", low)
        raise ValueError(message(f"{name}.{which}", float(f"{bad:.6g}"), f"a cosine lies in [-1, 1] (up to {tol:g} of rounding)",
                                 "normalise the embeddings and the class centres (F.normalize) before their product"))
    return cos
