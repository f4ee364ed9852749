"""Precomputing every customer's top N: the same result whatever the number of workers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from growthloop.errors import ModelError
from growthloop.recommend import Interactions, TrainingData, _precompute
from growthloop.recommend._pipeline import Recommender
from growthloop.recommend._precompute import TOP_FILES, precompute

DAY0 = np.datetime64("2024-01-01T00:00:00", "s")


class _Rows:
    """Collects what precompute stages for the recommendations table."""

    def __init__(self) -> None:
        self.frames: list[pd.DataFrame] = []

    def append(self, frame: pd.DataFrame) -> None:
        self.frames.append(frame)


@pytest.fixture(scope="module")
def model() -> Recommender:
    rng = np.random.default_rng(4)
    rows = [(f"u{u:03d}", f"i{(u % 3) * 10 + int(rng.integers(10)):02d}",
             DAY0 + np.timedelta64(int(rng.integers(90)), "D")) for u in range(150)
            for _ in range(8)]
    log = Interactions.from_frame(pd.DataFrame(rows, columns=["user", "item", "time"]),
                                  user_col="user", item_col="item", time_col="time")
    return Recommender(sources=["popular", "cooccurrence", "als"], candidates=10,
                       validation_days=20).fit(TrainingData(interactions=log))


def _run(model: Recommender, folder, workers: int) -> tuple[pd.DataFrame, list, dict]:
    folder.mkdir()
    rows = _Rows()
    reasons = precompute(model, n=4, folder=folder, staged=rows, batch_size=7, workers=workers)
    arrays = {stem: np.load(folder / f"{stem}.npy") for stem in TOP_FILES}
    return pd.concat(rows.frames, ignore_index=True), reasons, arrays


def test_threads_give_the_result_of_one(model, tmp_path):
    one, reasons_one, arrays_one = _run(model, tmp_path / "one", 1)
    two, reasons_two, arrays_two = _run(model, tmp_path / "two", 3)
    pd.testing.assert_frame_equal(one, two)
    assert reasons_one == reasons_two
    for stem in TOP_FILES:
        np.testing.assert_array_equal(arrays_one[stem], arrays_two[stem])
    # Every customer is there, in batch order, with 4 items each.
    assert one["canonical_id"].drop_duplicates().tolist() == list(
        model.data_.interactions.user_ids)
    assert one.groupby("canonical_id").size().eq(4).all()
    assert (arrays_one["top_items"] >= 0).all()


def test_a_large_build_compiles_the_ranker_and_recommends_the_same(model, tmp_path,
                                                                     monkeypatch):
    plain, reasons, arrays = _run(model, tmp_path / "plain", 2)
    assert not hasattr(model.ranker_, "compiled_")
    monkeypatch.setattr(_precompute, "COMPILE_FROM", model.data_.interactions.n_users)
    try:
        compiled, compiled_reasons, compiled_arrays = _run(model, tmp_path / "compiled", 2)
        assert set(model.ranker_.compiled_) == {None, model.ranker_.screen_trees}
    finally:
        model.ranker_.__dict__.pop("compiled_", None)
    pd.testing.assert_frame_equal(plain.drop(columns="score"), compiled.drop(columns="score"))
    np.testing.assert_allclose(plain["score"], compiled["score"], rtol=0, atol=1e-9)
    assert reasons == compiled_reasons
    np.testing.assert_array_equal(arrays["top_items"], compiled_arrays["top_items"])


def test_bad_settings_are_named(model, tmp_path):
    with pytest.raises(ModelError, match="workers=0 must be a whole number >= 1; try 2"):
        precompute(model, n=4, folder=tmp_path, staged=_Rows(), workers=0)
