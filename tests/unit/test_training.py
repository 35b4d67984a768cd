"""fit / embed / save / load on tiny synthetic data (16×16 images: seconds, not minutes)."""
from __future__ import annotations

import copy
import json

import pytest
import torch

from arcface_viz import distributed, experiment, training
from arcface_viz.faces import make_toy_faces
from arcface_viz.heads import make_head
from arcface_viz.models import FaceCNN
from arcface_viz.training import TrainResult, accuracy, augment_batch, embed, fit, load, save


def blobs(n_classes: int = 4, per_class: int = 32, size: int = 16, seed: int = 0):
    """Class k is a bright square at a class-specific place plus noise: easy to learn."""
    g = torch.Generator().manual_seed(seed)
    images = torch.rand(n_classes * per_class, 1, size, size, generator=g) * 0.3
    labels = torch.arange(n_classes).repeat_interleave(per_class)
    for k in range(n_classes):
        r, c = divmod(k, 2)
        images[labels == k, :, r * 8 : r * 8 + 8, c * 8 : c * 8 + 8] += 0.7
    return images, labels


def build(name="arcface", dim=3, n_classes=4, seed=0, **kwargs):
    torch.manual_seed(seed)
    return FaceCNN(dim, width=8), make_head(name, dim, n_classes, **kwargs)


def train(name="arcface", epochs=3, seed=0, **kwargs):
    model, head = build(name)
    return fit(model, head, blobs(), epochs=epochs, batch_size=32, seed=seed, progress=False, **kwargs)


def test_same_seed_same_history_and_weights():
    a, b = train(augment=True, margin_warmup_epochs=2), train(augment=True, margin_warmup_epochs=2)
    for key in ("loss", "eval_accuracy_train", "margin_factor"):
        assert a.history[key] == b.history[key]
    for pa, pb in zip(a.model.parameters(), b.model.parameters()):
        assert torch.equal(pa, pb)
    c = train(augment=True, margin_warmup_epochs=2, seed=1)
    assert c.history["loss"] != a.history["loss"]


@pytest.mark.parametrize("name, optimizer", [("softmax", "adam"), ("arcface", "adam"), ("cosface", "sgd")])
def test_learns_easy_classes(name, optimizer):
    lr = 0.05 if optimizer == "sgd" else 0.01
    result = train(name, epochs=8, optimizer=optimizer, lr=lr)
    assert result.history["loss"][-1] < result.history["loss"][0]
    assert result.history["eval_accuracy_train"][-1] >= 0.9
    assert accuracy(result.model, result.head, blobs(seed=1)) >= 0.9  # fresh noise, same classes
    assert not result.model.training and not result.head.training
    assert result.seconds > 0 and len(result.history["seconds"]) == 8


def train_mode_accuracy(result, images, labels, batch_size=32, passes=1) -> float:
    """Accuracy with BatchNorm on batch statistics (train mode) in shuffled batches, on a copy of the model.

    The head is in eval mode (no margin); the mean over ``passes`` shuffles, as benchmarks/bench_train_eval.py.
    """
    model = copy.deepcopy(result.model).train()
    scores = []
    for p in range(passes):
        order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(1 if passes == 1 else 1000 + p))
        with torch.no_grad():
            predicted = torch.cat([result.head.eval()(model(images[order[i:i + batch_size]])).argmax(1)
                                   for i in range(0, len(labels), batch_size)])
        scores.append(float((predicted == labels[order]).float().mean()))
    return sum(scores) / passes


@pytest.mark.parametrize("name, dim", [("softmax", 3), ("normface", 3), ("arcface", 2), ("cosface", 64)])
def test_eval_mode_model_is_the_trained_model(name, dim):
    # Without re-estimating the BatchNorm statistics these runs scored 0.75, 0.50 and 0.71 in eval mode
    # on their own training images while train mode scored 1.0 (running averages of a moving network).
    images, labels = blobs()
    model, head = build(name, dim=dim)
    result = fit(model, head, (images, labels), epochs=6, batch_size=32, progress=False)
    eval_accuracy = accuracy(result.model, result.head, (images, labels))
    assert result.history["eval_accuracy_train"][-1] == eval_accuracy  # the history reports this model
    assert eval_accuracy >= 0.9
    assert abs(eval_accuracy - train_mode_accuracy(result, images, labels)) <= 0.05


def lesson_2_run(loss, dim=2, seed=0):
    # Lesson 2's recipe: 8 toy identities x 200 faces, 20 epochs, Adam 5e-3 on a cosine, the registry's s and m.
    data = make_toy_faces(n_identities=8, images_per_identity=200, size=32, seed=0)
    return data, experiment.train(loss, data, dim=dim, epochs=20, lr=5e-3, lr_schedule="cosine", seed=seed,
                                  progress=False)


@pytest.mark.slow
@pytest.mark.parametrize("loss", ["softmax", "arcface"])
def test_lesson_2_setting_draws_the_trained_model(loss):
    # Before fit re-estimated BatchNorm, ArcFace (s = 16, m = 0.5, seed 0) scored 0.858 on its own training faces in
    # eval mode (the embeddings the lesson draws) against 0.985 in train mode. With fit re-estimating on every one of
    # the 1,600 faces after the last epoch (1 Dec 2026): eval mode 0.994, train mode 0.977 in batches of 128 (mean of
    # 3 shuffles) and 0.994 with all faces as one batch; softmax 1.000, 1.000 and 1.000.
    data, run = lesson_2_run(loss)
    eval_accuracy = accuracy(run.model, run.head, data)
    assert eval_accuracy >= 0.95
    assert abs(eval_accuracy - train_mode_accuracy(run, data.images, data.labels, batch_size=128, passes=3)) <= 0.02
    assert abs(eval_accuracy - train_mode_accuracy(run, data.images, data.labels, batch_size=len(data))) <= 0.01


@pytest.mark.slow
def test_lesson_2_large_gap_is_train_mode_batch_noise():
    # One of the largest eval/train-mode gaps benchmarks/bench_train_eval.py found in lesson 2's recipe (every
    # registered head at 2-D, 3-D and 64-D; the largest while fit re-estimated on 512 faces after every epoch; for the
    # largest since it uses all faces after the last one, see fit's docstring): 2-D NormFace, seed 2, eval mode 0.963
    # against 0.930 in train mode (+3.3 points; 1 Dec 2026, every face after the last epoch) -- eval mode is the
    # BETTER one. Train mode normalises with each batch of 128's own statistics, which move 2-D embeddings across the
    # narrow class borders: one shuffle scored 0.916-0.957 (10 shuffles), and the larger the batch the closer train
    # mode comes to eval mode (256: 0.947, 512: 0.954, all 1,600 faces: 0.964, one face from eval mode's 0.963).
    data, run = lesson_2_run("normface", dim=2, seed=2)
    eval_accuracy = accuracy(run.model, run.head, data)
    train_128 = train_mode_accuracy(run, data.images, data.labels, batch_size=128, passes=3)
    train_all = train_mode_accuracy(run, data.images, data.labels, batch_size=len(data))
    assert eval_accuracy >= train_128 - 0.02  # the drawn model is not worse than the trained one (it is better)
    assert abs(eval_accuracy - train_all) <= 0.01  # with the whole set as its batch, train mode agrees


def one_batch_train_mode(model, images):
    """Each BatchNorm layer's input (via forward hooks) and the embeddings, with all images in ONE train-mode batch.

    Computed on a copy of the model, independently of reestimate_batchnorm / torch's update_bn.
    """
    model = copy.deepcopy(model).train()
    inputs = []
    hooks = [layer.register_forward_hook(lambda module, args, output: inputs.append(args[0]))
             for layer in model.modules() if isinstance(layer, torch.nn.BatchNorm2d)]
    with torch.no_grad():
        embeddings = model(images)
    for hook in hooks:
        hook.remove()
    return inputs, embeddings


def assert_batchnorm_holds_statistics_of(model, images):
    inputs, _ = one_batch_train_mode(model, images)
    trained = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(trained) == len(inputs) == 3
    for index, (layer, values) in enumerate(zip(trained, inputs)):
        per_channel = values.transpose(0, 1).flatten(1)  # (C, N*H*W)
        mean, var = per_channel.mean(1), per_channel.var(1)  # var: unbiased, as BatchNorm's running_var
        assert torch.all((layer.running_mean - mean).abs() <= 1e-3 * var.sqrt()), f"running_mean of layer {index}"
        assert torch.all((layer.running_var - var).abs() <= 2e-3 * var), f"running_var of layer {index}"


def test_after_fit_batchnorm_holds_the_statistics_of_every_training_image():
    # fit re-estimates BatchNorm on a sample of BN_IMAGES = 512 images after each epoch but on EVERY image after the
    # last one. Reference: each BatchNorm layer's input with all 1,024 images in one train-mode batch. Measured here:
    # running means within 2.5e-4 standard deviations, running variances within 1e-3 (relative) of it;
    # re-estimating on a 512-image sample instead left them 1e-3-1e-2 off (the tolerances fail it).
    images, labels = blobs(per_class=256)
    assert len(labels) > training.BN_IMAGES
    model, head = build("arcface", dim=2)
    result = fit(model, head, (images, labels), epochs=2, batch_size=128, progress=False)
    assert_batchnorm_holds_statistics_of(result.model, images)
    # the requirement as values: eval mode is train mode with the whole training set as one batch
    eval_accuracy = accuracy(result.model, result.head, (images, labels))
    assert 0.6 <= eval_accuracy < 1.0  # not a saturated run, where any model would agree (0.733 here)
    assert eval_accuracy == train_mode_accuracy(result, images, labels, batch_size=len(labels))
    assert eval_accuracy == result.history["eval_accuracy_train"][-1]
    _, train_mode_embeddings = one_batch_train_mode(result.model, images)
    torch.testing.assert_close(embed(result.model, images, normalize=False), train_mode_embeddings,
                               rtol=0, atol=1e-3)  # 2.3e-4 here; embeddings of size up to 2.1


def test_a_run_stopped_by_its_callback_also_ends_on_every_training_image():
    # The last epoch is the one the callback stops at (the training lab's Stop button), not only epoch == epochs:
    # the returned model, and the history's last entries, are those of the statistics of every image.
    images, labels = blobs(per_class=256)
    heldout = blobs(seed=1)
    model, head = build("arcface", dim=2)
    seen = []
    result = fit(model, head, (images, labels), epochs=3, batch_size=128, progress=False, heldout=heldout,
                 callback=lambda epoch, run: seen.append(epoch) or epoch == 1)
    assert seen == [1] and result.epochs_done == 1
    assert_batchnorm_holds_statistics_of(result.model, images)
    assert result.history["eval_accuracy_train"] == [accuracy(result.model, result.head, (images, labels))]
    assert result.history["eval_accuracy_heldout"] == [accuracy(result.model, result.head, heldout)]

def test_reestimation_leaves_the_weights_alone_and_can_be_switched_off():
    images, labels = blobs()
    runs = {}
    for flag in (True, False):
        model, head = build("arcface", dim=2)
        runs[flag] = fit(model, head, (images, labels), epochs=6, batch_size=32, progress=False, reestimate_bn=flag)
    for a, b in zip(runs[True].model.parameters(), runs[False].model.parameters()):
        assert torch.equal(a, b)  # same training: only the BatchNorm buffers differ
    assert runs[False].config["fit"]["reestimate_bn"] is False
    # the running averages of training: the eval-mode model is not the trained one (0.71 here, 1.0 re-estimated)
    assert runs[False].history["eval_accuracy_train"][-1] <= runs[True].history["eval_accuracy_train"][-1] - 0.2
    with pytest.raises(TypeError, match="reestimate_bn"):
        fit(model, head, (images, labels), epochs=1, progress=False, reestimate_bn="no")


def test_heldout_accuracy_is_recorded_per_epoch():
    result = train(epochs=3, heldout=blobs(seed=1))
    assert len(result.history["eval_accuracy_heldout"]) == 3
    assert result.history["eval_accuracy_heldout"][-1] == accuracy(result.model, result.head, blobs(seed=1))
    assert "eval_accuracy_heldout" not in train(epochs=1).history
    images, labels = blobs(seed=1)
    with pytest.raises(ValueError, match=r"heldout labels span \[0, 4\] but the head has out_features=4"):
        train(epochs=1, heldout=(images, labels + (labels == 3).long()))


def test_margin_warmup_ramps_linearly_per_step():
    seen = []
    model, head = build()
    fit(model, head, blobs(), epochs=4, batch_size=32, margin_warmup_epochs=2, progress=False,
        callback=lambda epoch, result: seen.append(head.margin_factor))
    # 4 steps per epoch, 8 warm-up steps: factor after epoch 1 is 4/8
    assert seen == [0.5, 1.0, 1.0, 1.0]
    no_warmup = train(epochs=1)
    assert no_warmup.history["margin_factor"] == [1.0]


def test_callback_sees_growing_history_and_can_stop():
    calls = []

    def callback(epoch: int, result: TrainResult):
        calls.append((epoch, len(result.history["loss"]), result.model.training))
        return epoch == 2

    result = train(epochs=5, callback=callback)
    assert calls == [(1, 1, True), (2, 2, True)]
    assert result.epochs_done == 2 and result.config["fit"]["epochs_done"] == 2


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"epochs": 0}, ValueError, "epochs=0: must be >= 1"),
        ({"epochs": 1.5}, TypeError, "epochs=1.5: expected an int"),
        ({"epochs": 1, "lr": 0}, ValueError, r"lr=0: must lie in \(0, inf\); pass a positive"),
        ({"epochs": 1, "lr": float("nan")}, ValueError, "lr=nan: must be a finite number"),
        ({"epochs": 1, "optimizer": "rmsprop"}, ValueError, "adam, sgd"),
        ({"epochs": 1, "batch_size": 0}, ValueError, "batch_size"),
        ({"epochs": 1, "margin_warmup_epochs": -1}, ValueError, "margin_warmup_epochs"),
        ({"epochs": 1, "callback": 3}, TypeError, "callable"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, match):
    model, head = build()
    with pytest.raises(error, match=match):
        fit(model, head, blobs(), progress=False, **kwargs)


def test_labels_beyond_head_and_dimension_mismatch():
    model, _ = build()
    with pytest.raises(ValueError, match=r"out_features=4"):
        fit(model, make_head("arcface", 3, 3), blobs(), epochs=1, progress=False)
    with pytest.raises(ValueError, match="embedding_dim=3 but head.in_features=2"):
        fit(model, make_head("arcface", 2, 4), blobs(), epochs=1, progress=False)
    images, labels = blobs()
    with pytest.raises(TypeError, match=r"labels.dtype=.*must be integers"):
        fit(model, make_head("arcface", 3, 4), (images, labels.float()), epochs=1, progress=False)


def test_embed_unit_norm_chunked_and_mode_restored():
    model, _ = build()
    images, _ = blobs()
    model.train()
    whole = embed(model, images, batch_size=len(images))
    chunks = embed(model, images, batch_size=7)
    assert model.training  # restored
    assert whole.shape == (len(images), 3) and whole.dtype == torch.float32 and not whole.requires_grad
    torch.testing.assert_close(whole.norm(dim=1), torch.ones(len(images)))
    torch.testing.assert_close(whole, chunks)  # eval-mode BN: chunking changes nothing
    with pytest.raises(TypeError, match="FaceDataset or a float tensor"):
        embed(model, [1, 2, 3])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_fit_refuses_a_half_precision_model_before_torch_does(dtype):
    model, head = build()
    with pytest.raises(TypeError, match=rf"model.dtype={dtype}: fit trains in float32; call model.float\(\)"):
        fit(model.to(dtype), head, blobs(), epochs=1, progress=False)
    model, head = build()
    with pytest.raises(TypeError, match="head.dtype="):
        fit(model, head.to(dtype), blobs(), epochs=1, progress=False)


def test_fit_and_embed_refuse_pixels_outside_0_1_and_nan():
    model, head = build()
    images, labels = blobs()
    with pytest.raises(ValueError, match=r"images.max=2\d\d\.\d+: pixel values must lie in \[0, 1\]; divide by 255"):
        fit(model, head, (images * 255, labels), epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"images.max=2\d\d\.\d+: .*divide by 255"):
        embed(model, images * 255)
    with pytest.raises(ValueError, match=r"images.min=-"):
        embed(model, images - 0.5)
    with pytest.raises(ValueError, match="images='NaN/inf': contains NaN or inf pixels"):
        embed(model, images * float("nan"))
    images[3, 0, 2, 2] = float("inf")
    with pytest.raises(ValueError, match="images='NaN/inf'"):
        fit(model, head, (images, labels), epochs=1, progress=False)


def test_augment_shifts_and_scales_within_range():
    image = torch.zeros(1, 1, 8, 8)
    image[0, 0, 4, 4] = 1.0
    out = augment_batch(image.repeat(50, 1, 1, 1), torch.Generator().manual_seed(0), max_shift=2, brightness=0.0)
    peaks = [divmod(int(o.argmax()), 8) for o in out]
    assert all(abs(r - 4) <= 2 and abs(c - 4) <= 2 for r, c in peaks)
    assert len(set(peaks)) > 5  # several different shifts happened
    assert torch.all(out.sum(dim=(1, 2, 3)) == 1)  # a pure shift keeps the pixel
    bright = augment_batch(torch.full((100, 1, 8, 8), 0.5), torch.Generator().manual_seed(0), max_shift=0)
    assert 0.5 * 0.85 - 1e-6 <= bright.min() < 0.49 and 0.51 < bright.max() <= 0.5 * 1.15 + 1e-6


def test_save_load_roundtrip(tmp_path, monkeypatch):
    result = train("cosface", epochs=1)
    path = save(result, tmp_path / "run" / "cosface.pt")
    assert path.is_file() and (tmp_path / "run" / "cosface.json").is_file()
    document = json.loads((tmp_path / "run" / "cosface.json").read_text())
    assert document["config"]["head"]["kwargs"] == {"s": 16.0, "m": 0.35}
    assert document["config"]["model"] == {"class": "FaceCNN", "embedding_dim": 3, "in_channels": 1, "width": 8}

    calls = []
    real_load = torch.load
    monkeypatch.setattr(training.torch, "load", lambda *a, **k: calls.append(k) or real_load(*a, **k))
    loaded = load(path)
    assert calls and calls[0]["weights_only"] is True
    assert loaded.head.describe() == result.head.describe() and loaded.history == result.history
    images, _ = blobs()
    torch.testing.assert_close(embed(loaded.model, images), embed(result.model, images))
    torch.testing.assert_close(loaded.head.centers, result.head.centers)

    with pytest.raises(FileExistsError, match="overwrite=True"):
        save(result, path)
    for truthy in ("False", "yes", 1):  # a string or int used to count as True and overwrite
        with pytest.raises(TypeError, match=rf"^overwrite={truthy!r}: expected True or False"):
            save(result, path, overwrite=truthy)
    save(result, path, overwrite=True)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.pt")


@pytest.fixture(scope="module")
def saved_pair(tmp_path_factory):
    """Two good checkpoints (3-D and 2-D embeddings) whose files the corruption tests copy."""
    folder = tmp_path_factory.mktemp("good")
    three = save(train("cosface", epochs=1), folder / "three.pt")
    model, head = build("arcface", dim=2)
    two = save(fit(model, head, blobs(), epochs=1, batch_size=32, progress=False), folder / "two.pt")
    return three, two


@pytest.mark.parametrize("damage, what", [
    (lambda w, j, other: w.write_bytes(b"garbage"), "three.pt"),  # before: UnpicklingError about weights_only
    (lambda w, j, other: w.write_bytes(w.read_bytes()[:100]), "three.pt"),  # before: RuntimeError from miniz
    (lambda w, j, other: j.write_text("{not json"), "three.json"),  # before: JSONDecodeError, no file named
    (lambda w, j, other: j.write_text("{}"), "three.json"),  # before: KeyError: 'config'
    (lambda w, j, other: w.write_bytes(other.read_bytes()), "three.pt"),  # weights of another run: size mismatch
])
def test_load_names_the_damaged_checkpoint_and_the_fix(saved_pair, tmp_path, damage, what):
    three, two = saved_pair
    weights, sidecar = tmp_path / "three.pt", tmp_path / "three.json"
    weights.write_bytes(three.read_bytes())
    sidecar.write_bytes(three.with_suffix(".json").read_bytes())
    load(weights)  # the copy loads before the damage
    damage(weights, sidecar, two)
    with pytest.raises(ValueError, match=rf"^path='.*{what}': cannot be read as a checkpoint .*; the file is damaged "
                                         r"or .pt and .json come from different runs: save the run again"):
        load(weights)


def test_accuracy_refuses_labels_outside_the_head_s_classes():
    # before: 0.0 without a word -- e.g. unseen identities 4..7 scored against a 4-class head
    result = train("arcface", epochs=1)
    images, labels = blobs()
    with pytest.raises(ValueError, match=r"^label=7: outside \[0, 3\] for 4 classes; relabel to 0\.\.C-1"):
        accuracy(result.model, result.head, (images, labels + 4))


@pytest.mark.parametrize("call", [lambda r, x: embed(r.model, x), lambda r, x: training.predict(r.model, r.head, x)])
def test_embed_and_predict_refuse_no_images(call):
    # before: RuntimeError "torch.cat(): expected a non-empty list of Tensors"
    result = train("arcface", epochs=1)
    images, _ = blobs()
    with pytest.raises(ValueError, match=r"^images\.shape=\(0, 1, 16, 16\): no images; pass at least one image"):
        call(result, images[:0])


@pytest.mark.parametrize("trainer", ["training", "distributed"])
@pytest.mark.parametrize("option", ["augment", "progress"])
@pytest.mark.parametrize("value", ["no", "False", 0])
def test_fit_refuses_truthy_stand_ins_for_its_switches(option, value, trainer):
    # before: augment="no" trained WITH augmentation (a non-empty string is true); 0 passed as False; both fits
    # share check_fit_args
    model, head = build()
    train = fit if trainer == "training" else distributed.fit
    with pytest.raises(TypeError, match=rf"^{option}={value!r}: expected True or False, got .*; pass True or False"):
        train(model, head, blobs(), epochs=1, **{"progress": False, option: value})


def test_fit_refuses_a_head_with_one_class():
    # before: loss 0.0 and train accuracy 1.0 every epoch, nothing learned and nothing said
    images, labels = blobs()
    model, head = FaceCNN(3, width=8), make_head("arcface", 3, 1)
    with pytest.raises(ValueError, match=r"^head\.out_features=1: must be >= 2; a softmax over one class is always 1 "
                                         r"\(loss 0, nothing to learn\); train on at least 2 identities"):
        fit(model, head, (images, labels * 0), epochs=1, progress=False)


@pytest.mark.parametrize("overwrite", [False, True])
def test_save_to_a_folder_names_a_file_path_as_the_fix(tmp_path, overwrite):
    # before: FileExistsError "pass overwrite=True to replace it", and with overwrite=True an IsADirectoryError
    result = train("arcface", epochs=1)
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "notes.txt").write_text("keep me")
    with pytest.raises(IsADirectoryError, match=r"^path='.*runs': is a folder; give a checkpoint file in it, "
                                                r"e.g. .*runs/arcface\.pt"):
        save(result, tmp_path / "runs", overwrite=overwrite)
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["notes.txt"]
    assert not (tmp_path / "runs.json").exists()
