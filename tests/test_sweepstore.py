"""gen_core.experiments.store: sweeps persist like runs — saved as their points end, listed again by a new
process, an interrupted one resumed (only its unfinished points train) or deleted by its owner or the
teacher, a damaged sweep.json one clear line."""
from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import tiny_config, wait_for
from gen_core import experiments as ex
from gen_core.classroom.owners import Actor
from gen_core.experiments.store import SWEEP_FILE, SWEEPS_DIR, StoredSweep, SweepStore


JOIN_S = 60
A, B = Actor.student("sweep-owner-a-token-000000"), Actor.student("sweep-owner-b-token-000000")
TEACHER = Actor.teacher_of("sweep-teacher-token-0000000")


def tiny_base(**kw):
    return tiny_config("mlp-gan", **{**dict(epochs=1, images_per_epoch=64, batch_size=32), **kw})


def finished_sweep(root, mini_data, owner=A.owner) -> tuple[SweepStore, str]:
    store = SweepStore(root=root)
    sid = store.create(tiny_base(), "lr_g", [1e-4, 1e-3], [0, 1], data=mini_data, owner=owner)
    assert store.get(sid).join(JOIN_S) and store.get(sid).state == ex.FINISHED
    return store, sid


def test_a_sweep_round_trips_through_its_folder(tmp_path, mini_data):
    store, sid = finished_sweep(tmp_path, mini_data)
    before = store.get(sid).snapshot()
    assert (tmp_path / SWEEPS_DIR / sid / SWEEP_FILE).is_file()

    again = SweepStore(root=tmp_path)                                # a new process on the same runs dir
    (restored,) = again.list()
    assert isinstance(restored, StoredSweep) and restored.owner == A.owner and not restored.is_active
    after = restored.snapshot()
    assert (after.sweep_id, after.label, after.param, after.values, after.seeds, after.state) == \
           (sid, before.label, "lr_g", (1e-4, 1e-3), (0, 1), ex.FINISHED)
    assert after.base == before.base
    for old, new in zip(before.items, after.items):
        assert (new.value, new.seed, new.state, new.step, new.epoch) == (old.value, old.seed, old.state, old.step,
                                                                         old.epoch)
        assert new.config == old.config and new.final == pytest.approx(old.final)
        assert list(new.epoch_history) == json.loads(json.dumps(list(old.epoch_history)))
        assert len(new.step_history) == len(old.step_history)
        assert np.array_equal(new.samples, old.samples)
    assert ex.results_frame(after).equals(ex.results_frame(before))
    assert not again.problems()


def test_a_sweep_cut_off_by_a_restart_is_interrupted_and_resumes_only_its_remaining_points(tmp_path, mini_data,
                                                                                              monkeypatch):
    first = SweepStore(root=tmp_path)
    # The first point is short (one step per epoch), the second long (128 steps per epoch): the "server" dies
    # while the second trains, after the first was saved. (Both points have the same epochs: with 300 epochs of
    # 64 images the first point alone outlasted a minute on a busy machine.)
    sid = first.create(tiny_base(epochs=40), "images_per_epoch", [32, 4096], [0], data=mini_data, owner=A.owner)
    live = first.get(sid)
    assert wait_for(lambda: live.snapshot().items[1].state == ex.RUNNING and live.snapshot().items[1].step > 0, 180)
    first.disk = None             # a crash: the dying process writes nothing more
    live.stop()
    assert live.join(JOIN_S)
    done = live.snapshot().items[0]

    restarted = SweepStore(root=tmp_path)
    stored = restarted.get(sid)
    snap = stored.snapshot()
    assert snap.state == ex.INTERRUPTED and stored.resumable
    assert [it.state for it in snap.items] == [ex.FINISHED, ex.PENDING] and snap.items[0].final

    from gen_core.training import trainer as training
    trained = []
    real = training.Trainer

    class Counting(real):
        def __init__(self, config, *a, **kw):
            trained.append(config.images_per_epoch)
            super().__init__(config.replace(epochs=1), *a, **kw)    # keep the test short: one epoch
    monkeypatch.setattr(training, "Trainer", Counting)

    with pytest.raises(ex.SweepError, match="Only the student who started"):
        restarted.resume(sid, B, data=mini_data)
    assert restarted.resume(sid, A, data=mini_data) == sid
    resumed = restarted.get(sid)
    assert resumed is not stored and resumed.join(JOIN_S)
    final = resumed.snapshot()
    assert trained == [4096]                                        # only the point that had not finished
    assert final.state == ex.FINISHED and [it.state for it in final.items] == [ex.FINISHED, ex.FINISHED]
    assert final.items[0].final == pytest.approx(done.final)        # the first point's results, kept
    assert SweepStore(root=tmp_path).get(sid).state == ex.FINISHED  # and saved as finished
    with pytest.raises(ex.SweepError, match="only a sweep cut off"):
        SweepStore(root=tmp_path).resume(sid, A, data=mini_data)


def test_only_the_owner_or_the_teacher_deletes_a_saved_sweep(tmp_path, mini_data):
    _, sid = finished_sweep(tmp_path, mini_data)
    store = SweepStore(root=tmp_path)
    with pytest.raises(ex.SweepError, match="Only the student who started"):
        store.delete(sid, B)
    assert store.get(sid) is not None and (tmp_path / SWEEPS_DIR / sid).is_dir()
    store.delete(sid, TEACHER)
    assert store.get(sid) is None and not (tmp_path / SWEEPS_DIR / sid).exists()
    assert SweepStore(root=tmp_path).list() == []


@pytest.mark.parametrize("damage", [
    b"{ not json", b"[]", b'{"format": "gen_core.sweep", "version": 1}',
    b'{"format": "gen_core.sweep", "version": 99}', b"\xff\xfe\x00",
])
def test_a_damaged_sweep_file_is_one_clear_line_and_the_others_still_list(tmp_path, mini_data, damage):
    _, good = finished_sweep(tmp_path, mini_data)
    bad = tmp_path / SWEEPS_DIR / "broken01"
    bad.mkdir()
    (bad / SWEEP_FILE).write_bytes(damage)
    store = SweepStore(root=tmp_path)
    assert [s.sweep_id for s in store.list()] == [good]
    (line,) = store.problems()
    assert "broken01 cannot be shown" in line and "can be deleted" in line


def test_a_point_that_does_not_match_its_sweep_is_refused(tmp_path, mini_data):
    _, sid = finished_sweep(tmp_path, mini_data)
    path = tmp_path / SWEEPS_DIR / sid / SWEEP_FILE
    data = json.loads(path.read_text())
    data["items"][0]["value"] = 0.5
    path.write_text(json.dumps(data))
    store = SweepStore(root=tmp_path)
    assert store.list() == [] and "does not match" in store.problems()[0]


def test_a_new_store_lists_only_the_newest_saved_sweeps(tmp_path, mini_data):
    import os
    store, first = finished_sweep(tmp_path, mini_data)
    second = store.create(tiny_base(), "lr_g", [1e-4], [0], data=mini_data, owner=A.owner)
    assert store.get(second).join(JOIN_S)
    os.utime(tmp_path / SWEEPS_DIR / first / SWEEP_FILE, (1, 1))       # the older one
    assert [s.sweep_id for s in SweepStore(root=tmp_path, max_sweeps=1).list()] == [second]
    assert {s.sweep_id for s in SweepStore(root=tmp_path).list()} == {first, second}
