"""Deep links into the Train pages: `?preset=seed000-linear-gan` or `?model=dcgan&lr_g=0.0004`.

Applied once per session, before the sidebar and the page draw their widgets: the link's
settings go through gen_core.classroom.links (and so through TrainConfig's validation) and fill in the
form of the page's family. A bad link changes nothing: the page shows one line saying why, and
the defaults stay. The settings keys then leave the URL (a run started from them puts its own
?run= there), so a refresh does not apply them over what the user changed since.
"""
from __future__ import annotations

import streamlit as st

from gen_core.classroom.links import config_from_link, settings_in
from gen_core.config.checks import ConfigError

from . import settings, state


NOTICE = "_link_notice"        # session key: (kind, text) shown above the page's settings
_SEEN = "_link_seen"           # session key: the query already applied

FAMILY_PREFIX = {"gan": "gan", "vae": "vae"}


def _family_of_link(wanted: dict) -> str | None:
    from gen_core import presets
    from gen_core.models.registry import get_model_spec
    try:
        if "preset" in wanted:
            return presets.get_preset(wanted["preset"]).family
        if "model" in wanted:
            return get_model_spec(wanted["model"]).family
    except (ConfigError, KeyError, ValueError):
        return None
    return None


def apply_from_url(page_family: str | None) -> str | None:
    """Fill the form of `page_family` ("gan"/"vae"; on other pages: the link's family) from the URL.
    Returns the family whose form was filled (None when the URL carries no new link)."""
    try:
        wanted = settings_in(dict(st.query_params.to_dict()))
    except Exception:  # noqa: BLE001 — a URL we cannot read is no link
        return None
    if not wanted:
        return None
    signature = repr(sorted(wanted.items()))
    if st.session_state.get(_SEEN) == signature:
        return None
    st.session_state[_SEEN] = signature
    family = page_family or _family_of_link(wanted) or "gan"
    prefix = FAMILY_PREFIX[family]
    model = wanted.get("model") if wanted.get("model") in (settings.GAN_MODELS if family == "gan"
                                                           else settings.VAE_MODELS) else settings.first_model(family)
    base = settings.demo_defaults(model, dataset=state.dataset(), device=state.device())
    try:
        cfg = config_from_link(wanted, base=base, family=family)
    except ConfigError as e:
        st.session_state[NOTICE] = ("error", f"The link's settings were not applied: {e} The defaults are kept.")
    else:
        if cfg is not None:
            preset = wanted.get("preset", settings.CUSTOM)
            settings.load_config(prefix, cfg, preset=preset if preset in _preset_names(family) else settings.CUSTOM)
            if cfg.dataset != state.dataset():
                st.session_state[state.DATASET_KEY] = cfg.dataset  # before the sidebar draws its picker
            what = f"preset {wanted['preset']}" if "preset" in wanted else "settings"
            st.session_state[NOTICE] = ("info", f"The form holds the link's {what}; press **Start training** "
                                                "to train with them.")
    for key in wanted:  # the link has done its job; later reruns must not re-apply it
        try:
            del st.query_params[key]
        except KeyError:
            pass
    return family


def _preset_names(family: str) -> list[str]:
    return [p.name for p in settings.presets_for(family)]


def show_notice() -> None:
    """The one-line outcome of a deep link, above the page's settings (until a run is started)."""
    notice = st.session_state.get(NOTICE)
    if not notice:
        return
    kind, text = notice
    if kind == "error":
        st.warning(text, icon=":material/link_off:")
    else:
        st.info(text, icon=":material/link:")


def clear_notice() -> None:
    st.session_state.pop(NOTICE, None)
