"""Starts the kiosk window. Kivy reads its window settings when ``kivy.core.window`` is
first imported, so they are set here before anything imports the App."""

from __future__ import annotations

import ctypes
import logging
import os
from pathlib import Path

from kiosk_app.config import KioskConfig

log = logging.getLogger("relais.kiosk")
SDL_INIT_VIDEO = 0x20


def density(width: int, height: int) -> float:
    """Kivy's dp scale for the window: 1.0 on a 7" 800x480 terminal, a little larger on a
    10" 1280x800 one (the square root keeps more room on screen than a pure zoom)."""
    return round(max(1.0, min(width / 800, height / 480)) ** 0.5, 2)


class _DisplayMode(ctypes.Structure):
    _fields_ = [("format", ctypes.c_uint32), ("w", ctypes.c_int), ("h", ctypes.c_int),
                ("refresh_rate", ctypes.c_int), ("driverdata", ctypes.c_void_p)]


def _loaded_sdl() -> str | None:
    """The path of the SDL2 library Kivy itself uses (its wheel bundles one): asking a
    second copy would start a second video subsystem in the same process. Kivy's SDL2
    window module is opened as a plain library (importing it would create the window)."""
    import importlib.util

    spec = importlib.util.find_spec("kivy")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "core" / "window"
    try:
        for module in folder.glob("_window_sdl2*.so"):
            ctypes.CDLL(str(module))
            break
        maps = Path("/proc/self/maps").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in maps.splitlines():
        path = line.split()[-1] if line.split() else ""
        if path.rsplit("/", 1)[-1].startswith(("libSDL2-2", "libSDL2.so")):
            return path
    return None


def screen_size() -> tuple[int, int] | None:
    """The size of the screen the kiosk opens on (display 0), asked from SDL before any
    window exists. Fullscreen alone is not enough: without a window manager (a kiosk's X
    session) SDL's desktop fullscreen keeps the window at its configured size, centred and
    cropped, so the window is created at the screen's size instead. None when unknown."""
    path = _loaded_sdl()
    if path is None:
        return None
    try:
        sdl = ctypes.CDLL(path)
        if sdl.SDL_InitSubSystem(SDL_INIT_VIDEO) != 0:
            return None
        try:
            mode = _DisplayMode()
            if sdl.SDL_GetDesktopDisplayMode(0, ctypes.byref(mode)) != 0:
                return None
        finally:
            sdl.SDL_QuitSubSystem(SDL_INIT_VIDEO)
    except (OSError, AttributeError):
        return None
    return (mode.w, mode.h) if mode.w > 0 and mode.h > 0 else None


def prepare(config: KioskConfig) -> None:
    logging.getLogger("PIL").setLevel(logging.INFO)  # not every PNG chunk in the kiosk log
    # Kivy's own handlers on the root logger would print every line a second time beside the
    # command's (and a third time in ~/.kivy/logs): Kivy logs through ours alone.
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    width, height = config.width, config.height
    screen = screen_size() if config.fullscreen else None
    if config.fullscreen and screen is None:
        log.warning("kiosk: the screen size is unknown; fullscreen uses %dx%d", width, height)
    if screen is not None:
        width, height = screen
    os.environ.setdefault("KIVY_METRICS_DENSITY", str(density(width, height)))
    from kivy.config import Config

    Config.set("graphics", "width", str(width))
    Config.set("graphics", "height", str(height))
    Config.set("graphics", "resizable", "0")
    Config.set("graphics", "fullscreen", "auto" if config.fullscreen else "0")
    if config.fullscreen:  # where a window manager does not place it: the screen's corner
        Config.set("graphics", "position", "custom")
        Config.set("graphics", "left", "0")
        Config.set("graphics", "top", "0")
    Config.set("graphics", "show_cursor", "1")
    Config.set("kivy", "exit_on_escape", "0")
    Config.set("kivy", "keyboard_mode", "system")  # the badge reader is the keyboard
    Config.set("input", "mouse", "mouse,disable_multitouch")


def run(config: KioskConfig) -> None:
    prepare(config)
    from kiosk_app.ui.app import KioskApp

    KioskApp(config).run()
