"""Fonts of every chart gep draws, configured in one place.

Chinese party names and titles need a CJK font: the set-up installs Debian's
``fonts-noto-cjk`` (``make fonts-deps``), and :func:`configure_matplotlib` puts
``Noto Sans CJK SC`` first in matplotlib's sans-serif list with a fallback chain (other CJK
fonts a machine may have, then DejaVu Sans for the symbols CJK fonts lack). matplotlib
(>= 3.6) falls back glyph by glyph along the list, so mixed "林溪县 Linxi ✓" text renders
whole. The test suite turns matplotlib's "Glyph ... missing from font(s)" warning into an
error, so a box instead of a character fails the build.
"""
from __future__ import annotations

import logging

#: CJK fonts in order of preference (Debian fonts-noto-cjk first), then the Latin fallback
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC", "Source Han Sans CN",
             "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC",
             "SimHei")
LATIN_FALLBACK = ("DejaVu Sans",)
FONT_CHAIN = CJK_FONTS + LATIN_FALLBACK
#: where Debian's packages put the CJK fonts (added when matplotlib's font cache predates them)
CJK_FONT_FILES = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
                  "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
                  "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")

_done: dict = {}


def available_fonts() -> set[str]:
    from matplotlib import font_manager

    return {f.name for f in font_manager.fontManager.ttflist}


def configure_matplotlib() -> list[str]:
    """Agg backend and the CJK font chain; returns the chain's fonts present on this machine.

    Idempotent and cheap after the first call.
    """
    import matplotlib

    matplotlib.use("Agg")
    from pathlib import Path

    from matplotlib import font_manager

    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    if "chain" not in _done:
        have = available_fonts()
        if not have.intersection(CJK_FONTS):  # font cache built before the fonts arrived
            for path in CJK_FONT_FILES:
                if Path(path).is_file():
                    try:
                        font_manager.fontManager.addfont(path)
                    except (OSError, RuntimeError):  # pragma: no cover (unreadable font)
                        continue
            have = available_fonts()
        _done["chain"] = [f for f in FONT_CHAIN if f in have] or list(LATIN_FALLBACK)
        if not have.intersection(CJK_FONTS):
            logging.getLogger(__name__).warning(
                "no CJK font found: Chinese text in charts will show as boxes. Fix: install "
                "Debian's fonts-noto-cjk (make fonts-deps)")
    chain = _done["chain"]
    # the list itself, not the generic "sans-serif": matplotlib falls back glyph by glyph
    # only along an explicit family list
    matplotlib.rcParams["font.family"] = list(chain)
    matplotlib.rcParams["font.sans-serif"] = chain + [
        f for f in matplotlib.rcParams["font.sans-serif"] if f not in chain]
    return chain
