"""Real faces: AT&T/ORL folders, scikit-learn's Olivetti faces, and any folder-per-identity set."""
from __future__ import annotations

import os
import re
import shutil
import tempfile
import urllib.error
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .dataset import FaceDataset
from .._validation import check_size, message

ATT_CREDIT = (
    "Faces: AT&T Laboratories Cambridge (ORL Database of Faces); "
    "F. Samaria & A. Harter, 2nd IEEE Workshop on Applications of Computer Vision, 1994."
)
PROJECT_ROOT = Path(__file__).resolve().parents[2]  # the repository holding arcface_viz/ and data/
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".pgm")

#: scikit-learn's data_home for the Olivetti faces, inside a data folder (as data/README.md documents).
OLIVETTI_HOME = Path("olivetti") / "sklearn_data_home"
#: What proves each kind of real faces is in a data folder: the AT&T folder, or scikit-learn's cache file.
REAL_FACE_MARKERS = {"att": Path("att_faces"), "olivetti": OLIVETTI_HOME / "olivetti_py3.pkz"}
_HOW_TO_GET = {
    "att": "Put the AT&T/ORL faces (folders att_faces/s1 ... s40) in a data folder: set the environment "
           "variable ARCFACE_VIZ_DATA to it, or use <project>/data/ or ../shared/data. data/README.md says "
           "where to get them and under which terms.",
    "olivetti": "With internet access, `python -m arcface_viz compare --data olivetti` downloads them through "
                "scikit-learn into <project>/data/olivetti/sklearn_data_home (as does "
                "sklearn.datasets.fetch_olivetti_faces(data_home=that folder)). See data/README.md.",
}


def _natural_key(name: str) -> list:
    """Sort 's2' before 's10' and '2.pgm' before '10.pgm'."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


#: The way round a failed Olivetti download, ending its messages (the command line says --data att instead).
OLIVETTI_ALTERNATIVE = "use the AT&T folder att_faces/ with load_att_faces"


def _require_folder(path: str | os.PathLike) -> Path:
    folder = Path(path).expanduser()
    if not folder.exists():
        raise FileNotFoundError(message("path", str(folder), "this face folder does not exist",
                                        "check the path (data/README.md says where to get faces)"))
    if not folder.is_dir():
        raise NotADirectoryError(message("path", str(folder), "is a file, not a folder of faces",
                                         "pass the folder that holds it"))
    return folder


#: Pillow modes that hold one 16-bit grey channel: 16-bit PNGs open as "I;16", PGMs with a maxval
#: above 255 as "I" with the values already stretched to 0..65535 (Pillow >= 9.3).
_WIDE_GREY_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")
_WIDE_GREY_MAX = 65535.0
_ALPHA_MODES = ("LA", "La", "PA", "RGBA", "RGBa")  # (LAB's "A" band is a colour, not an alpha)


def _to_grey(image: Image.Image, file: Path, size: tuple[int, int] | None) -> np.ndarray:
    """Grey pixels float32 (H, W) in [0, 1] from any Pillow image mode, or a ValueError naming the file.

    8-bit and lower depths, palettes, RGB, CMYK and opaque alpha go through Pillow's grey conversion
    ("L"). 16-bit grey is divided by 65535 instead: Pillow's conversion to "L" clips it at 255, so a
    16-bit face would load almost white. Transparent pixels are refused: their colour is undefined.
    """
    if image.mode in _ALPHA_MODES or "transparency" in image.info:
        try:
            alpha = np.asarray(image.convert("RGBA").getchannel("A"))
        except ValueError:
            raise ValueError(f"{file}: Pillow cannot read the transparency of mode {image.mode}; "
                             "save it as a grey or RGB PNG") from None
        if alpha.min() < 255:
            raise ValueError(f"{file} has transparent pixels, whose colour is undefined; flatten it onto a "
                             "background (e.g. in an image editor) and save it without alpha")
    if image.mode in _WIDE_GREY_MODES or image.mode == "F":
        values = np.asarray(image, dtype=np.float32)
        top = 1.0 if image.mode == "F" else _WIDE_GREY_MAX
        if not (np.isfinite(values).all() and 0.0 <= values.min() and values.max() <= top):
            raise ValueError(f"{file}: mode {image.mode} pixels span {values.min():g}..{values.max():g}, outside the "
                             "grey range (0..65535 for integers, 0..1 for floats); save it as an 8- or 16-bit grey PNG")
        if image.mode != "F":
            values = values / np.float32(_WIDE_GREY_MAX)
        if size is not None and values.shape != size:
            # resize in Pillow's float mode "F" so that the 16 bits survive; Lanczos can overshoot
            resized = Image.fromarray(values).resize((size[1], size[0]), Image.Resampling.LANCZOS)
            values = np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)
        return values
    try:
        grey = image.convert("L")
    except ValueError:
        raise ValueError(f"{file}: Pillow cannot convert image mode {image.mode} to grey; "
                         "save it as a grey or RGB PNG") from None
    if size is not None and grey.size != (size[1], size[0]):
        # Lanczos averages over the source pixels, so downscaling does not alias.
        grey = grey.resize((size[1], size[0]), Image.Resampling.LANCZOS)
    return np.asarray(grey, dtype=np.float32) / np.float32(255.0)


def _read_grey(file: Path, size: tuple[int, int] | None) -> np.ndarray:
    """Decode one image with Pillow to float32 grey (H, W) in [0, 1], resized to ``size`` = (H, W) if given."""
    try:
        with Image.open(file) as image:
            image.load()  # decode now: a truncated file fails here, not later
            return _to_grey(image, file, size)
    except UnidentifiedImageError:
        raise ValueError(f"{file} is not an image Pillow can read (expected {', '.join(IMAGE_SUFFIXES)})") from None
    except (OSError, SyntaxError) as error:  # Pillow raises these for truncated or damaged files
        raise ValueError(f"{file} is damaged or truncated ({error})") from None


def _image_files(folder: Path) -> list[Path]:
    """Image files of one identity folder, naturally sorted; any other visible file is an error."""
    files = []
    for entry in sorted(folder.iterdir(), key=lambda p: _natural_key(p.name)):
        if entry.name.startswith(".") or entry.is_dir():
            continue  # hidden files (.DS_Store) and sub-folders are not faces
        suffix = entry.suffix.lower()
        # a face saved as BMP, TIFF, GIF, WebP...: Pillow could open it, so "move it out" is the wrong fix
        if suffix not in IMAGE_SUFFIXES and Image.registered_extensions().get(suffix) in Image.OPEN:
            raise ValueError(
                f"{entry} is a {Image.registered_extensions()[suffix]} image, a format these loaders do not read "
                f"({', '.join(IMAGE_SUFFIXES)}); convert it, e.g. Image.open(path).save(path.with_suffix('.png')), "
                f"and move the {suffix} out of {folder}"
            )
        if suffix not in IMAGE_SUFFIXES:
            raise ValueError(
                f"{entry} is not an image file (expected {', '.join(IMAGE_SUFFIXES)}); move it out of {folder}"
            )
        files.append(entry)
    if not files:
        raise ValueError(f"identity folder {folder} holds no images")
    return files


def _load_folders(folders: list[Path], size: int | tuple[int, int] | None, credit: str) -> FaceDataset:
    size_hw = None if size is None else check_size("size", size)
    images, labels = [], []
    for label, folder in enumerate(folders):
        for file in _image_files(folder):
            pixels = _read_grey(file, size_hw)
            if images and pixels.shape != images[0].shape:
                raise ValueError(
                    f"{file} is {pixels.shape[0]}x{pixels.shape[1]} but earlier images are "
                    f"{images[0].shape[0]}x{images[0].shape[1]}; pass size=(H, W) to resize all"
                )
            images.append(pixels)
            labels.append(label)
    stacked = np.stack(images)[:, None]
    return FaceDataset(stacked, np.asarray(labels, dtype=np.int64), [f.name for f in folders], None, credit)


def load_att_faces(path: str | os.PathLike, size: int | tuple[int, int] | None = None) -> FaceDataset:
    """Load the AT&T/ORL Database of Faces from its folders ``s1 ... s40`` of PGM images.

    Parameters
    ----------
    path : str or os.PathLike
        Folder holding ``s1``, ``s2``, ... (other files and folders beside them are ignored).
    size : int or tuple of int, optional
        None (default) keeps the files' size (112x92 for AT&T); an int gives a square, ``(H, W)``
        a rectangle, in pixels; resized with Pillow (Lanczos).

    Returns
    -------
    FaceDataset
        Images float32 (N, 1, H, W) in [0, 1] (400 for the full set). Each image's label is the rank of
        its folder among the ``sX`` folders present, in numeric order (s10 after s9), and
        ``identities[label]`` is that folder's name. With all of s1 ... s40 present, folder ``sX`` has
        label X-1, as Olivetti's target; if some are missing the later labels shift down (s1, s3, s10
        give labels 0, 1, 2), so map labels to subjects through ``identities``. Credit to AT&T
        Laboratories Cambridge and Samaria & Harter (1994).

    Raises
    ------
    FileNotFoundError, NotADirectoryError
        Missing folder.
    ValueError
        No ``sX`` folders, an empty one, a non-image or truncated file (named), mixed sizes, size <= 0.

    References
    ----------
    .. [1] F. Samaria, A. Harter, "Parameterisation of a stochastic model for human face
       identification", 2nd IEEE Workshop on Applications of Computer Vision, 1994.

    Examples
    --------
    A tiny AT&T-style folder with subjects s1 (two images) and s3 (one), made on the spot:

    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from PIL import Image
    >>> tmp = tempfile.TemporaryDirectory()
    >>> root = Path(tmp.name)
    >>> for folder, file, grey in [("s1", "1.pgm", 0), ("s1", "2.pgm", 255), ("s3", "1.pgm", 51)]:
    ...     (root / folder).mkdir(exist_ok=True)
    ...     Image.fromarray(np.full((4, 3), grey, np.uint8)).save(root / folder / file)
    >>> faces = load_att_faces(root)
    >>> tuple(faces.images.shape), faces.labels.tolist(), faces.identities
    ((3, 1, 4, 3), [0, 0, 1], ['s1', 's3'])
    >>> [round(float(v), 4) for v in faces.images.mean(dim=(1, 2, 3))]  # grey levels / 255
    [0.0, 1.0, 0.2]
    >>> tmp.cleanup()
    """
    root = _require_folder(path)
    folders = sorted((p for p in root.iterdir() if p.is_dir() and re.fullmatch(r"s\d+", p.name)),
                     key=lambda p: int(p.name[1:]))
    if not folders:
        raise ValueError(f"{root} holds no subject folders s1, s2, ... (AT&T/ORL layout); see data/README.md")
    return _load_folders(folders, size, ATT_CREDIT)


def load_image_folder(
    path: str | os.PathLike, size: int | tuple[int, int] | None = None, credit: str | None = None
) -> FaceDataset:
    """Load faces stored as one sub-folder per identity (PNG, JPEG or PGM, converted to grey).

    Any bit depth (1 to 16 bits; 16-bit grey keeps its precision, divided by 65535), palettes, RGB,
    CMYK and opaque alpha are read; images with transparent pixels are refused.

    Parameters
    ----------
    path : str or os.PathLike
        Folder whose sub-folders (natural order: id2 before id10) are the identities; hidden
        sub-folders are skipped.
    size : int or tuple of int, optional
        None (default): all images must share one size; an int gives a square, ``(H, W)`` a
        rectangle, in pixels (resized with Pillow, Lanczos).
    credit : str, optional
        Credit line to carry; default ``"Faces from <path>"``.

    Returns
    -------
    FaceDataset
        Images float32 (N, 1, H, W) in [0, 1], label k for the k-th sub-folder, identities = the
        sub-folder names.

    Raises
    ------
    FileNotFoundError, NotADirectoryError
        Missing folder.
    ValueError
        No sub-folders, an empty one, a non-image or damaged file (named), transparent pixels or a
        colour mode Pillow cannot make grey (named), mixed sizes without ``size``, size <= 0.

    Examples
    --------
    Two identities, each one 16-bit grey PNG: a constant 0 and a ramp over the whole 0 ... 65535
    range, whose mean grey level is exactly 0.5:

    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from PIL import Image
    >>> tmp = tempfile.TemporaryDirectory()
    >>> root = Path(tmp.name)
    >>> for name, top in [("ada", 0), ("ben", 65535)]:
    ...     (root / name).mkdir()
    ...     ramp = np.linspace(0, top, 12).astype(np.uint16).reshape(3, 4)
    ...     Image.fromarray(ramp).save(root / name / "1.png")
    >>> faces = load_image_folder(root, credit="made in a doctest")
    >>> faces
    FaceDataset(2 images of 3x4, 2 identities, credit='made in a doctest')
    >>> faces.identities, [round(float(v), 4) for v in faces.images.mean(dim=(1, 2, 3))]
    (['ada', 'ben'], [0.0, 0.5])
    >>> tmp.cleanup()
    """
    root = _require_folder(path)
    folders = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
                     key=lambda p: _natural_key(p.name))
    if not folders:
        raise ValueError(f"{root} holds no identity sub-folders (expected one folder of images per identity)")
    return _load_folders(folders, size, f"Faces from {root}" if credit is None else credit)


def load_olivetti(
    data_home: str | os.PathLike | None = None,
    download_if_missing: bool = True,
    size: int | tuple[int, int] | None = None,
) -> FaceDataset:
    """Olivetti faces (64x64 AT&T/ORL crops) through :func:`sklearn.datasets.fetch_olivetti_faces`.

    Parameters
    ----------
    data_home : str or os.PathLike, optional
        The scikit-learn data folder (None: its default, ``~/scikit_learn_data``). A read-only folder
        is read through a temporary copy of the cache file.
    download_if_missing : bool, default True
        Download when the cache file is absent (needs internet).
    size : int or tuple of int, optional
        None (default) keeps 64x64; an int gives a square, ``(H, W)`` a rectangle, in pixels
        (resized with Pillow, Lanczos, in float precision).

    Returns
    -------
    FaceDataset
        400 images float32 (400, 1, 64, 64) in [0, 1], in scikit-learn's unshuffled order;
        label k is ORL subject ``s{k+1}`` (identities ``["s1", ..., "s40"]``).

    Raises
    ------
    FileNotFoundError
        When the data is absent and ``download_if_missing`` is False, or the download failed (the
        message says whether the server refused it or could not be reached, and how else to get
        the faces).
    ValueError
        size <= 0.

    Examples
    --------
    Skip-safe: it loads the faces only where :func:`find_real_faces` finds them, and never downloads.

    >>> root = find_real_faces("olivetti", warn=False)
    >>> faces = None if root is None else load_olivetti(root / OLIVETTI_HOME, download_if_missing=False)
    >>> faces is None or (tuple(faces.images.shape), faces.identities[-1]) == ((400, 1, 64, 64), "s40")
    True
    """
    from sklearn.datasets import fetch_olivetti_faces

    size_hw = None if size is None else check_size("size", size)
    if data_home is not None and not download_if_missing and not Path(data_home).is_dir():
        # Checked here because scikit-learn would first create the (empty) folder.
        raise FileNotFoundError(
            f"Olivetti data folder {data_home} does not exist; call with download_if_missing=True on a "
            "machine with internet, or see data/README.md"
        )
    where = data_home or "the scikit-learn data folder"
    try:
        bunch = fetch_olivetti_faces(data_home=data_home, download_if_missing=download_if_missing)
    except PermissionError:
        if data_home is None:
            raise
        # sklearn's get_data_home() calls os.makedirs on data_home, which can fail on a read-only
        # mount even though only a read is needed: read from a temporary copy of the cache file
        # (only Olivetti's, not the whole data folder).
        with tempfile.TemporaryDirectory() as tmp:
            for file in Path(data_home).glob("olivetti*.pkz"):
                shutil.copy2(file, tmp)
            bunch = fetch_olivetti_faces(data_home=tmp, download_if_missing=False)
    except urllib.error.HTTPError as error:  # before OSError: HTTPError is one
        raise FileNotFoundError(
            f"Olivetti faces: the download server refused the request (HTTP {error.code}: {error.reason}), "
            f"so they are not in {where}. Get them another way: copy olivetti_py3.pkz from a machine where "
            f"scikit-learn downloaded it into {where}, or {OLIVETTI_ALTERNATIVE} (see data/README.md)"
        ) from None
    except urllib.error.URLError as error:
        raise FileNotFoundError(
            f"Olivetti faces: could not reach the download server ({error.reason}), so they are not in {where}. "
            f"Connect to the internet and retry, or copy olivetti_py3.pkz from another machine into {where}, or "
            f"{OLIVETTI_ALTERNATIVE} (see data/README.md)"
        ) from None
    except OSError as error:
        raise FileNotFoundError(
            f"Olivetti faces not found in {where} ({error}); "
            "call with download_if_missing=True on a machine with internet, or see data/README.md"
        ) from None
    images = np.asarray(bunch.images, dtype=np.float32)
    if size_hw is not None:
        # Resize in Pillow's float mode "F" so no precision is lost to 8 bits; Lanczos can
        # overshoot slightly, hence the clip below.
        target = (size_hw[1], size_hw[0])
        images = np.stack([np.asarray(Image.fromarray(img).resize(target, Image.Resampling.LANCZOS)) for img in images])
    labels = np.asarray(bunch.target, dtype=np.int64)
    names = [f"s{k + 1}" for k in range(int(labels.max()) + 1)]
    return FaceDataset(np.clip(images, 0.0, 1.0)[:, None], labels, names, None, ATT_CREDIT)


def data_folders() -> list[Path]:
    """The folders searched for real faces, in order.

    Returns
    -------
    list of pathlib.Path
        ``$ARCFACE_VIZ_DATA`` (when set), ``<project>/data``, then ``../shared/data`` beside the
        project; they need not exist.
    """
    candidates = [os.environ.get("ARCFACE_VIZ_DATA"), PROJECT_ROOT / "data", PROJECT_ROOT.parent / "shared" / "data"]
    return [Path(c).expanduser() for c in candidates if c]


def olivetti_download_home() -> Path:
    """Where a download of the Olivetti faces goes.

    Returns
    -------
    pathlib.Path
        ``olivetti/sklearn_data_home`` in the first of :func:`data_folders` (``$ARCFACE_VIZ_DATA``
        when set, else ``<project>/data``, which git ignores).
    """
    return data_folders()[0] / OLIVETTI_HOME


def find_real_faces(kind: str = "att", *, warn: bool = True) -> Path | None:
    """The first data folder (see :func:`data_folders`) holding real faces of one kind.

    Parameters
    ----------
    kind : {"att", "olivetti"}, default "att"
        "att": the folder must hold ``att_faces/`` (read it with ``load_att_faces(root / "att_faces")``).
        "olivetti": it must hold scikit-learn's cache ``olivetti/sklearn_data_home/olivetti_py3.pkz``
        (read it with ``load_olivetti(root / OLIVETTI_HOME, download_if_missing=False)``); no
        ``att_faces/`` needed.
    warn : bool, default True
        Warn, saying where it looked and how to get the faces, when none has them. It says nothing
        about what the caller does next. Whatever ``warn``, a warning says when ``$ARCFACE_VIZ_DATA``
        is set but the faces come from another folder (e.g. it names ``att_faces/`` itself).

    Returns
    -------
    Path or None
        The data folder, or None when none of them has this kind of faces.

    Raises
    ------
    ValueError
        ``kind`` is not "att" or "olivetti".
    """
    if kind not in REAL_FACE_MARKERS:
        raise ValueError(f"kind={kind!r}: choose 'att' (AT&T/ORL folders) or 'olivetti' (scikit-learn's cache)")
    marker = REAL_FACE_MARKERS[kind]
    looked = data_folders()
    chosen = os.environ.get("ARCFACE_VIZ_DATA")
    for candidate in looked:
        if (candidate / marker).is_dir() if kind == "att" else (candidate / marker).is_file():
            if chosen and candidate != looked[0]:  # the user's own setting is passed over: say so, always
                hint = (" Set it to the folder that holds att_faces/, not att_faces/ itself."
                        if looked[0].name == "att_faces" else "")
                warnings.warn(f"ARCFACE_VIZ_DATA={chosen!r}: holds no {marker.as_posix()}{'/' if kind == 'att' else ''}; "
                              f"using {candidate} instead.{hint}", stacklevel=2)
            return candidate
    if warn:
        warnings.warn(f"Real faces ({kind}) not found. {_HOW_TO_GET[kind]} (Looked for {marker.as_posix()}"
                      f"{'/' if kind == 'att' else ''} in: {', '.join(map(str, looked))}.)", stacklevel=2)
    return None
