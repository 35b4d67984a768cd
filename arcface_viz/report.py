"""Figures and the HTML page of a ``compare`` run (no training here: it only draws results).

The figures come from :mod:`arcface_viz.plots`; the only drawing done here is the 2-D PCA view of
embeddings of more than three dimensions and a static 3-D view for PNG output (plotly's 3-D sphere
needs a browser, so it is written as an extra interactive HTML file).
"""
from __future__ import annotations

import html
import json
from pathlib import Path
from typing import NamedTuple

import numpy as np
from matplotlib.figure import Figure
from sklearn.decomposition import PCA

from arcface_viz import plots
from arcface_viz.losses import LOSSES


#: Figures of two panels side by side, shown at the page's full width.
WIDE_FIGURES = ("history.png", "margin_sweep.png")


def _save(fig: Figure, path: Path) -> str:
    fig.savefig(path, dpi=100, bbox_inches="tight")
    return path.name


def _pca_figure(embeddings: np.ndarray, labels: np.ndarray, identities: list[str], title: str) -> Figure:
    """Scatter of unit embeddings projected on their first two principal components (sklearn PCA)."""
    projected = PCA(n_components=2, random_state=0).fit_transform(embeddings)
    colors = plots.identity_colors(len(identities))
    fig = Figure(figsize=(6.2, 5.6))
    ax = fig.add_subplot()
    for k, name in enumerate(identities):
        member = labels == k
        if member.any():
            ax.scatter(projected[member, 0], projected[member, 1], s=14, color=colors[k], alpha=0.7, lw=0, label=name)
    ax.set_xlabel("principal component 1")
    ax.set_ylabel("principal component 2")
    ax.set_title(f"{title}\n{embeddings.shape[1]}-D unit embeddings, 2-D PCA projection", fontsize="medium")
    ax.legend(fontsize="x-small", loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, ncol=1 + len(identities) // 20)
    return fig


def _sphere_png(embeddings: np.ndarray, labels: np.ndarray, centers, identities: list[str], title: str) -> Figure:
    """Static 3-D view of unit embeddings (matplotlib), with centre rays when given."""
    colors = plots.identity_colors(len(identities))
    fig = Figure(figsize=(6.2, 6.0))
    ax = fig.add_subplot(projection="3d")
    for k, name in enumerate(identities):
        member = labels == k
        ax.scatter(*embeddings[member].T, s=8, color=colors[k], alpha=0.7, label=name)
        if centers is not None:
            ax.plot(*np.stack([np.zeros(3), 1.2 * centers[k]]).T, color=colors[k], lw=2.5)
    ax.set_box_aspect((1, 1, 1))
    ax.set_title(f"{title}\n3-D unit embeddings (rays: class centres W)", fontsize="medium")
    ax.legend(fontsize="x-small", loc="upper left", bbox_to_anchor=(1.05, 1.0), frameon=False)
    return fig


def write_figures(out: Path, views: dict, histories: dict, verifications: dict, angle_sets: dict,
                  losses: list[str] | None = None) -> list[tuple[str, str]]:
    """Write the PNG (and 3-D HTML) figures of one seed; return (caption, file name) pairs.

    Parameters
    ----------
    out : Path
        Existing output folder.
    views : dict[str, dict]
        Per loss name: ``embeddings`` (N, D) unit array, ``labels`` (N,), ``centers`` (C, D) or None,
        ``identities``, ``title``, ``margin`` (radians or None), ``what`` (which images).
    histories : dict[str, TrainResult]
        Per loss, for the training curves.
    verifications : dict[str, VerificationResult]
        Per loss, for the ROC.
    angle_sets : dict[str, AngleStats]
        Per loss, for the target-angle histograms.
    losses : list of str, optional
        The registry name of each entry of ``histories`` and ``verifications``, in order: their
        curves take the loss's colour.

    Returns
    -------
    list of tuple of str
        ``(caption, file name)`` of each PNG written in ``out``: one embedding view per loss (circle
        for D = 2, a static sphere plus an interactive ``embeddings_<loss>.html`` for D = 3, a 2-D PCA
        projection above), then ``angles.png``, ``roc.png`` and ``history.png``.
    """
    figures = []
    for name, view in views.items():
        emb, labels, centers = view["embeddings"], view["labels"], view["centers"]
        dim = emb.shape[1]
        stem = f"embeddings_{name}"
        if dim == 2:
            fig = plots.plot_circle_embeddings(emb, labels, centers, margin=view["margin"],
                                               identities=view["identities"], title=view["title"])
        elif dim == 3:
            fig = _sphere_png(emb, labels, centers, view["identities"], view["title"])
            sphere = plots.plot_sphere_embeddings(emb, labels, centers, identities=view["identities"], title=view["title"])
            # "directory": plotly.min.js is written once next to the pages, so they work offline
            sphere.write_html(out / f"{stem}.html", include_plotlyjs="directory")
        else:
            fig = _pca_figure(emb, labels, view["identities"], view["title"])
        figures.append((f"{view['title']}: {view['what']}", _save(fig, out / f"{stem}.png")))
    fig = plots.plot_angle_histograms(angle_sets, title="Angle between each embedding and its class centre",
                                      losses=losses)
    figures.append(("Target angle θ_y (degrees) per loss", _save(fig, out / "angles.png")))
    fig = plots.plot_roc(verifications, title="Verification on identities never seen in training", losses=losses)
    figures.append(("ROC on unseen identities (TAR against FAR)", _save(fig, out / "roc.png")))
    fig = plots.plot_training_history(histories, losses=losses)
    caption = ("Training loss (log scale) and eval-mode accuracy on the training images, per epoch. A margin loss's "
               "cross-entropy is taken with its margin (a lower target logit), so it is not comparable with NormFace's "
               "or softmax's; it can rise while the margin warm-up raises m")
    figures.append((caption, _save(fig, out / "history.png")))
    return figures


def write_sweep_figure(out: Path, sweep: list[dict], reference: dict | None = None) -> str:
    """Draw verification accuracy and TAR@FAR=1e-2 against the margin m; return the PNG's file name.

    Parameters
    ----------
    out : Path
        Existing output folder; ``margin_sweep.png`` is written there.
    sweep : list of dict
        :func:`arcface_viz.compare.sweep_summary` rows: ``loss``, ``m`` and per metric ``mean`` and
        ``ci95_half_width`` (None for one seed: no error bar).
    reference : dict, optional
        The NormFace summary entry (same s, no margin), drawn as a dashed line with its mean.

    Returns
    -------
    str
        The file name written, ``"margin_sweep.png"``.
    """
    fig = Figure(figsize=(10.0, 3.9), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, (key, title) in zip(axes, (("verification_accuracy", "10-fold verification accuracy"),
                                       ("tar_at_far_1e-2", "TAR at FAR = 1e-2"))):
        for loss in dict.fromkeys(row["loss"] for row in sweep):
            rows = [r for r in sweep if r["loss"] == loss and r[key]["mean"] is not None]
            if not rows:
                continue
            ms = [r["m"] for r in rows]
            means = [100 * r[key]["mean"] for r in rows]
            errors = [100 * (r[key]["ci95_half_width"] or 0.0) for r in rows]
            ax.errorbar(ms, means, yerr=errors, fmt="-o", ms=4, capsize=3, color=LOSSES[loss].color,
                        label=f"{LOSSES[loss].label} (m = {LOSSES[loss].main_margin})")
        if reference is not None and reference.get(key, {}).get("mean") is not None:
            ax.axhline(100 * reference[key]["mean"], color=LOSSES["normface"].color, ls="--", lw=1,
                       label="NormFace (no margin, same s)")
        ax.set_xlabel("margin m (radians for ArcFace, cosine units for CosFace)")
        ax.set_ylabel(f"{title} (%)")
        ax.set_title(f"{title}, unseen identities", fontsize="medium")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    fig.suptitle("Margin sweep: mean over seeds, error bars 95 % CI (Student t)")
    return _save(fig, out / "margin_sweep.png")


class Cell(NamedTuple):
    """One cell of the summary table: mean and std over seeds in the unit shown, and where it goes.

    A plain ``(mean, std)`` pair works wherever a Cell does (no unit, no group).

    Parameters
    ----------
    mean : float or None
        Mean over seeds, already in ``unit`` (e.g. percent); None for n/a.
    std : float or None
        Population standard deviation over seeds, in ``unit``; None for one seed.
    unit : str, default ""
        "%", "°", "seconds" or "".
    group : str, default ""
        The table block of its column ("" for one untitled block).
    """

    mean: float | None
    std: float | None
    unit: str = ""
    group: str = ""


def format_value(value) -> str:
    """A (mean, std) pair as text, one decimal: "93.3 ± 1.4", "93.3" (std None) or "n/a".

    The printed table and the page show every rate in percent and every angle in degrees, to one
    decimal, as the paired differences are shown in percentage points.

    Parameters
    ----------
    value : Cell, tuple of (float or None, float or None), or None
        ``(mean, std)`` in the unit shown (percent, degrees, seconds).

    Returns
    -------
    str
        ``"mean ± std"`` to one decimal each, the mean alone when std is None, or ``"n/a"`` (mean
        None or not finite).

    Examples
    --------
    >>> format_value((93.333, 1.449)), format_value((12.5, None)), format_value((float("nan"), 0.1))
    ('93.3 ± 1.4', '12.5', 'n/a')
    """
    if value is None:
        return "n/a"
    mean, std = value[0], value[1]
    if mean is None or not np.isfinite(mean):
        return "n/a"
    return f"{mean:.1f}" if std is None or not np.isfinite(std) else f"{mean:.1f} ± {std:.1f}"


def table_blocks(rows: list[dict]) -> list[tuple[str, list[tuple[str, str]], list[list[str]]]]:
    """The summary table split into its blocks (column groups), every cell formatted.

    One source for the printed table (:func:`arcface_viz.compare.format_table`) and the page
    (:func:`write_html`): the same blocks, heads, units and numbers.

    Parameters
    ----------
    rows : list of dict
        One row per loss: ``"loss"`` (its description), then column head to a :class:`Cell` (or a
        ``(mean, std)`` pair, or a str shown as is). The first row's cells give each column's unit
        and group.

    Returns
    -------
    list of (str, list of (str, str), list of list of str)
        Per group, in order of first appearance: its title, its ``(head, unit)`` columns and one
        list of cell texts per row, the loss description first. Empty for no rows.

    Examples
    --------
    >>> rows = [{"loss": "ArcFace", "EER": Cell(5.0, 1.04, "%", "unseen")},
    ...         {"loss": "Softmax", "EER": Cell(12.5, None, "%", "unseen")}]
    >>> table_blocks(rows)
    [('unseen', [('EER', '%')], [['ArcFace', '5.0 ± 1.0'], ['Softmax', '12.5']])]
    """
    if not rows:
        return []
    groups: dict[str, list[tuple[str, str]]] = {}
    for head, cell in rows[0].items():
        if head != "loss":
            groups.setdefault(getattr(cell, "group", ""), []).append((head, getattr(cell, "unit", "")))
    return [(group, columns, [[row["loss"]] + [row[head] if isinstance(row.get(head), str)
                                               else format_value(row.get(head)) for head, _ in columns]
                              for row in rows])
            for group, columns in groups.items()]


def _paired_html(paired: list[dict]) -> str:
    if not paired:
        return ""
    rows = []
    for e in paired:
        if e["mean"] is None:
            mean = interval = "n/a"
        else:
            mean = f"{100 * e['mean']:+.1f}"
            interval = "n/a (one seed)" if e["ci95"] is None else \
                f"[{100 * e['ci95'][0]:+.1f}, {100 * e['ci95'][1]:+.1f}]"
        per_seed = ", ".join(f"{100 * d:+.1f}" for d in e["differences"])
        rows.append(f"<tr><td>{html.escape(e['label'])}</td><td class=\"text wrap\">{html.escape(e['metric_label'])}</td>"
                    f"<td>{per_seed}</td><td>{mean}</td><td>{interval}</td><td>{e['n']}</td>"
                    f"<td class=\"text\">{html.escape(e['verdict'])}</td></tr>")
    losing = sorted({e["label"] for e in paired if e["ci95"] is not None and e["ci95"][1] < 0})
    note = ("<p><b>Where a loss loses:</b> " + html.escape(", ".join(losing)) + " is lower than its baseline on at "
            "least one metric (interval below 0). These metrics are measured on identities the network never "
            "trained on; closed-set accuracy, margin satisfaction and the angles measure the training identities: "
            "a margin that separates the training identities better need not place new identities better.</p>"
            ) if losing else ""
    return ("<h2>Paired differences (what normalisation and the margin each add)</h2>"
            "<p>Each seed trains every loss with the same initialisation seed, batch order and split, so "
            "differences are taken seed by seed: a − b in percentage points. NormFace − Softmax is what "
            "normalisation and the scale s give; a margin loss − NormFace is what the margin adds at the same s. "
            "Interval: 95 % confidence interval of the mean difference, Student t over seeds "
            "(<code>scipy.stats.t</code>).</p><table class=\"paired\"><tr><th>a − b</th><th class=\"text\">metric</th><th>per seed (points)</th>"
            "<th>mean (points)</th><th>95 % CI (points)</th><th>seeds</th><th class=\"text\">reading</th></tr>"
            + "".join(rows) + "</table>" + note)


def _head_with_unit(head: str, unit: str) -> str:
    return f"{head} ({unit})" if unit else head


def write_html(out: Path, report: dict, figures: list[tuple[str, str]], table: list[dict], credit: str, *,
               definitions=(), paired: list[dict] = ()) -> Path:
    """Write ``out/index.html``: command, tables, column definitions, paired differences, figures.

    Parameters
    ----------
    out : Path
        Existing output folder; the figures (and any ``embeddings_*.html``) are already in it.
    report : dict
        The run's report (as written to ``report.json``): ``command``, ``data.description``,
        ``settings.seeds``, ``scale.s``, ``seconds``, ``figures_seed`` and ``versions`` are shown.
    figures : list of tuple of str
        ``(caption, file name)`` pairs from :func:`write_figures`.
    table : list of dict
        One row per loss: ``"loss"`` and column head to a :class:`Cell` (see :func:`table_blocks`);
        each group of columns is a table of its own, each head says its unit.
    credit : str
        Credit line of the faces.
    definitions : sequence of (str, str), optional
        ``(column, one-line definition)`` pairs, listed under the table.
    paired : list of dict, optional
        :func:`arcface_viz.compare.paired_analysis` entries, shown as a table with their verdicts.

    Returns
    -------
    Path
        The page written, ``out / "index.html"`` (overwritten if present; the command, captions,
        table cells and credit are HTML-escaped).
    """
    tables = "".join(
        (f"<h3>{html.escape(group)}</h3>" if group else "")
        + "<table><tr>" + "".join(f"<th>{html.escape(_head_with_unit(head, unit))}</th>"
                                  for head, unit in [("loss", "")] + columns) + "</tr>"
        + "".join("<tr>" + "".join(f"<td>{html.escape(text)}</td>" for text in cells) + "</tr>" for cells in rows)
        + "</table>"
        for group, columns, rows in table_blocks(table)
    )
    images = "".join(  # the two-panel figures at full width: at half width their labels were too small to read
        f'<figure class="{"wide" if file in WIDE_FIGURES else "half"}"><img src="{html.escape(file)}" '
        f'alt="{html.escape(caption)}"><figcaption>{html.escape(caption)}</figcaption></figure>'
        for caption, file in figures
    )
    extra = "".join(
        f'<li><a href="{p.name}">{html.escape(p.stem)} (interactive 3-D)</a></li>' for p in sorted(out.glob("embeddings_*.html"))
    )
    legend = "".join(f"<li><b>{html.escape(name)}</b>: {html.escape(text)}</li>" for name, text in definitions)
    scale = report.get("scale", {}).get("s")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>arcface-viz compare</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;}} table{{border-collapse:collapse}}
td,th{{border:1px solid #bbb;padding:4px 8px;text-align:right}}
td:first-child,th:first-child,.text{{text-align:left}}
.paired td{{white-space:nowrap}} .paired td.wrap{{white-space:normal}} figure{{display:inline-block;margin:8px}}
img{{max-width:520px}} .wide img{{max-width:1040px}}
code{{background:#f3f3f3;padding:2px 4px}} .credit{{color:#555;font-size:small}}</style></head>
<body><h1>Softmax and margin losses, side by side</h1>
<p><code>{html.escape(report["command"])}</code></p>
<p>Data: {html.escape(report["data"]["description"])}. Mean ± standard deviation over {report["settings"]["seeds"]} seed(s),
one decimal: rates in percent, angles in degrees, time in seconds (report.json keeps rates as fractions);
verification on identities never seen in training (cosine similarity of unit embeddings).
{"" if scale is None else f"Every normalised head uses the same scale s = {scale:g}. "}
TAR@FAR is n/a where there are fewer than 1/FAR impostor pairs. Whole job: {report["seconds"]:.0f} seconds wall-clock.</p>
{tables}
{"<h3>What each column measures</h3><ul>" + legend + "</ul>" if legend else ""}
{_paired_html(list(paired))}
<h2>Figures (seed {report["figures_seed"]})</h2>{images}
{"<ul>" + extra + "</ul>" if extra else ""}
<p class="credit">{html.escape(credit)}</p>
<p class="credit">Every number: <a href="report.json">report.json</a>. Versions: {html.escape(json.dumps(report["versions"]))}</p>
</body></html>
"""
    path = out / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
