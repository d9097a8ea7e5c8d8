"""CIFAR-10: the batches format, the validation split, the augmented pipeline and bad-input errors."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import numpy as np
import pytest

from rena_lib.data.cifar10 import Cifar10Data, augment_image, find_cifar10_dir, load_cifar10
from rena_lib.data.paths import DataDownloadError


@pytest.fixture(scope="module")
def cifar(data_dir) -> Cifar10Data:
    return Cifar10Data()  # through $RENA_DATA_DIR/cifar10/cifar-10-batches-py


def test_shapes_and_class_balance(cifar, data_dir):
    a = cifar.arrays
    assert find_cifar10_dir() == data_dir / "cifar10" / "cifar-10-batches-py"
    assert a.x_train.shape == (9000, 32, 32, 3) and a.x_train.dtype == np.uint8
    assert a.x_val.shape == (1000, 32, 32, 3) and a.x_test.shape == (5000, 32, 32, 3)
    assert np.bincount(a.y_train).tolist() == [900] * 10
    assert np.bincount(a.y_val).tolist() == [100] * 10
    assert np.bincount(a.y_test).tolist() == [500] * 10
    assert a.mean.shape == a.std.shape == (3,)


def test_pipelines(cifar):
    ds, n = cifar.train_dataset(128, seed=0, num_examples=1000)
    assert n == 1000
    x, y = next(iter(ds))
    assert x.shape == (128, 32, 32, 3) and y.shape == (128,)
    assert abs(float(np.mean(x))) < 0.5 and 0.5 < float(np.std(x)) < 1.5  # normalised
    batches = list(cifar.eval_dataset("test", 512, max_examples=1000))
    assert sum(len(b[1]) for b in batches) == 1000


def test_augmentation_changes_inputs_not_labels(cifar):
    plain = next(iter(cifar.train_dataset(64, seed=5, augment=False, num_examples=512)[0]))
    aug = next(iter(cifar.train_dataset(64, seed=5, augment=True, num_examples=512)[0]))
    np.testing.assert_array_equal(plain[1].numpy(), aug[1].numpy())
    assert np.abs(plain[0].numpy() - aug[0].numpy()).mean() > 0.05
    again = next(iter(cifar.train_dataset(64, seed=5, augment=True, num_examples=512)[0]))
    np.testing.assert_array_equal(again[0].numpy(), aug[0].numpy())


def test_augment_image_is_stateless_and_in_range():
    img = np.random.default_rng(0).random((32, 32, 3)).astype(np.float32)
    a, b = augment_image(img, [1, 2]).numpy(), augment_image(img, [1, 2]).numpy()
    c = augment_image(img, [3, 4]).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.shape == (32, 32, 3) and a.min() >= 0 and a.max() <= 1


# ---------------------------------------------------------------- fake batches and bad input


def write_batch(path: Path, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    d = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"labels": list(np.arange(n) % 10)}
    path.write_bytes(pickle.dumps(d))


def fake_batches(folder: Path, n_batches: int = 2) -> Path:
    folder.mkdir(parents=True)
    for i in range(1, n_batches + 1):
        write_batch(folder / f"data_batch_{i}", 50, i)
    write_batch(folder / "test_batch", 30, 0)
    return folder


def test_any_number_of_batches_and_explicit_paths(tmp_path):
    folder = fake_batches(tmp_path / "cifar10" / "cifar-10-batches-py", n_batches=3)
    for given in (folder, folder.parent, tmp_path):  # the batches folder or a parent of it
        a = load_cifar10(given, validation_fraction=0.2)
        assert (len(a.x_train), len(a.x_val), len(a.x_test)) == (120, 30, 30)
    # the layout is channels-last: pixel (row 0, col 0) is bytes 0, 1024, 2048 of the CHW row
    raw = pickle.loads((folder / "data_batch_1").read_bytes())[b"data"][0]
    from rena_lib.data.cifar10 import read_batch

    x, _ = read_batch(folder / "data_batch_1")
    assert x[0, 0, 0].tolist() == [raw[0], raw[1024], raw[2048]]


def test_missing_test_batch(tmp_path):
    folder = fake_batches(tmp_path / "b")
    (folder / "test_batch").unlink()
    with pytest.raises(FileNotFoundError, match=re.escape(str(folder / "test_batch"))):
        load_cifar10(folder)


def test_corrupt_batch_names_the_file(tmp_path):
    folder = fake_batches(tmp_path / "b")
    (folder / "data_batch_2").write_bytes(b"\x80\x04 not a pickle")
    with pytest.raises(ValueError, match=re.escape(str(folder / "data_batch_2"))):
        load_cifar10(folder)


def test_missing_folder_and_empty_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("RENA_DATA_DIR", raising=False)
    with pytest.raises(FileNotFoundError, match="RENA_DATA_DIR"):
        load_cifar10(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="data_batch_N"):
        load_cifar10(tmp_path / "empty")


def test_rena_data_dir_without_cifar_is_an_error_not_a_download(tmp_path, monkeypatch):
    monkeypatch.setenv("RENA_DATA_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "cifar10"))):
        load_cifar10()


def test_no_internet_points_to_rena_data_dir(monkeypatch):
    import keras

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: [Errno -3] Temporary failure in name resolution")

    monkeypatch.delenv("RENA_DATA_DIR", raising=False)
    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(DataDownloadError, match="RENA_DATA_DIR"):
        load_cifar10()
