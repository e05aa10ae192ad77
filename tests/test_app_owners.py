"""Two browser sessions on one server (AppTest): B cannot stop, pause, resume or dequeue A's run and
does not land on it; the teacher (password) can; the compare page's click flood stays in the caps."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import ME_TOKEN, OTHER_TOKEN, me, wait_for
from gen_core.classroom.owners import Actor
from gen_core.training.runner import FINAL_STATES, STOPPED
from ui import identity, state


APP = str(Path(__file__).resolve().parents[1] / "app.py")
TINY_GAN = dict(gan_g_hidden="32", gan_d_hidden="32", gan_ipe=128, gan_batch=64, gan_epochs=500)
PASSWORD = "correct horse battery"


@pytest.fixture
def registry(tmp_path, monkeypatch):
    from ui import sources
    monkeypatch.setattr(sources, "CHECKPOINT_DIRS", (tmp_path / "no-checkpoints",))
    monkeypatch.setenv("GEN_CORE_TEACHER_PASSWORD", PASSWORD)
    reg = state.registry()
    reg.clear()
    policy = (reg.policy.running_per_student, reg.policy.queued_per_student, reg.policy.others)
    yield reg
    reg.clear()
    reg.set_policy(None, running_per_student=policy[0], queued_per_student=policy[1], others=policy[2])
    reg.policy.shown = []


def session(token: str, page: str | None = None, run: str | None = None, **widgets) -> AppTest:
    """A browser: its owner token (its cookie), optionally a page, a ?run= link and widget values."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[identity.TOKEN_KEY] = token
    at.query_params["dataset"] = "mnist-mini"
    if run:
        at.query_params["run"] = run
    at.run()
    if page:
        at.switch_page(page)
    for k, v in widgets.items():
        at.session_state[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def buttons(at) -> set[str]:
    return {b.key for b in at.button if b.key}


def test_b_cannot_act_on_as_run_and_does_not_land_on_it(registry):
    a = session(ME_TOKEN, "app_pages/train_gan.py", **TINY_GAN)
    a.button(key="gan_start").click().run()
    rid = a.session_state[state.FOCUS]["gan"]
    assert registry.owner_of(rid) == me().owner and "gan_ctl_pause" in buttons(a)

    fresh = session(OTHER_TOKEN, "app_pages/train_gan.py")
    assert state.FOCUS not in fresh.session_state or not fresh.session_state[state.FOCUS].get("gan")
    assert "gan_ctl_pause" not in buttons(fresh)

    for page in ("app_pages/train_gan.py", "app_pages/latent_explorer.py"):
        b = session(OTHER_TOKEN, page)                  # no link: never someone else's run
        assert b.query_params.get("run") in (None, [], [""]), b.query_params
    b = session(OTHER_TOKEN, "app_pages/train_gan.py", run=rid)   # the link: read-only
    assert not {"gan_ctl_pause", "gan_ctl_stop", "gan_ctl_step", "gan_ctl_resume"} & buttons(b)
    assert any("read-only" in c.value for c in b.caption)
    assert not b.button(key="gan_start").disabled      # B may still start their own run
    # knowing the id is not enough: the registry refuses B's actor whatever the UI draws
    assert not registry.may_control(rid, Actor.student(OTHER_TOKEN))

    a.button(key="gan_ctl_pause").click().run()        # A can
    assert wait_for(lambda: registry.get(rid).state == "paused", 30)

    t = session(OTHER_TOKEN, "app_pages/teacher.py")
    t.text_input[0].input(PASSWORD)
    t.get("form_submit_button")[0].click()
    t.run()
    assert identity.TEACHER_KEY in t.session_state and t.session_state[identity.TEACHER_KEY]
    assert any(rid in str(df.value) for df in t.dataframe)
    t.selectbox(key="teacher_run").set_value(rid).run()
    t.button(key="teacher_stop").click().run()
    assert not t.exception
    assert wait_for(lambda: registry.get(rid).state == STOPPED, 30)
    t.button(key="teacher_delete").click().run()
    assert rid not in registry


def test_a_wrong_teacher_password_unlocks_nothing(registry):
    t = session(OTHER_TOKEN, "app_pages/teacher.py")
    t.text_input[0].input("guess")
    t.get("form_submit_button")[0].click()
    t.run()
    assert not t.session_state[identity.TEACHER_KEY]
    assert any("not the teacher password" in e.value for e in t.error)
    assert "teacher_stop" not in buttons(t)


def test_the_34_click_pair_flood_stays_within_the_caps(registry):
    a = session(ME_TOKEN, "app_pages/compare.py", pair_ipe=128, pair_batch=64, pair_epochs=500)
    for _ in range(34):
        a.button(key="pair_start").click().run()
    assert not a.exception
    running, queued = registry.scheduler.owner_counts(me().owner)
    assert running + queued <= 3 and len(registry.list()) <= 3
    assert any("the most one student may have" in e.value for e in a.error)
    b = session(OTHER_TOKEN, "app_pages/train_gan.py", **TINY_GAN)
    b.button(key="gan_start").click().run()
    rid = b.session_state[state.FOCUS]["gan"]
    assert registry.get(rid).started or registry.get(rid).state not in FINAL_STATES
    assert registry.owner_of(rid) == Actor.student(OTHER_TOKEN).owner


def test_the_runs_page_and_its_overlay_show_only_what_the_teachers_policy_allows(registry, monkeypatch):
    from conftest import tiny_config
    from gen_core.classroom.owners import OTHERS_HIDDEN
    registry.set_policy(None, others=OTHERS_HIDDEN)
    rid = registry.create(tiny_config(), actor=me(), label="A's secret GAN", note="A's note")
    assert registry.get(rid).join(60)

    def listed(at) -> bool:
        return rid in at.multiselect(key="runs_overlay").options or any(
            rid in str(df.value) or "A's secret GAN" in str(df.value) for df in at.dataframe)

    def overlaid(at) -> bool:
        return any("A's secret GAN" in str(c.proto.spec) for c in at.get("plotly_chart"))

    a = session(ME_TOKEN, "app_pages/runs.py")
    assert f"run:{rid}" in a.session_state["runs_overlay"] and overlaid(a)   # A sees and overlays their own

    b = session(OTHER_TOKEN, "app_pages/runs.py")
    options = b.multiselect(key="runs_overlay").options
    assert not any(rid in o or "A's secret GAN" in o for o in options)
    assert not any("A's secret GAN" in str(df.value) or "A's note" in str(df.value) for df in b.dataframe)
    assert not overlaid(b)
    from ui import overlay  # a crafted key: the loader itself refuses it
    with monkeypatch.context() as m:
        m.setattr(identity, "actor", lambda: Actor.student(OTHER_TOKEN))
        items, problems = overlay.load([f"run:{rid}", f"file:{registry.store.root}/{rid}/checkpoint.pt"])
    assert items == [] and len(problems) == 2

    registry.show_to_class(rid, None)                    # the teacher shows it: B may look and overlay
    b = session(OTHER_TOKEN, "app_pages/runs.py")
    b.multiselect(key="runs_overlay").set_value([f"run:{rid}"]).run()
    assert not b.exception and overlaid(b)
    assert not [k for k in buttons(b) if k.startswith("runs_card")]   # read-only: not among "your runs"
    registry.show_to_class(rid, None, shown=False)

    t = session(OTHER_TOKEN, "app_pages/runs.py", **{identity.TEACHER_KEY: True})
    assert any("A's secret GAN" in str(df.value) for df in t.dataframe)
    t.multiselect(key="runs_overlay").set_value([f"run:{rid}"]).run()
    assert not t.exception and overlaid(t)
