"""Starts the kiosk window. Kivy reads its window settings when ``kivy.core.window`` is
first imported, so they are set here before anything imports the App."""

from __future__ import annotations

import logging
import os

from kiosk_app.config import KioskConfig


def density(width: int, height: int) -> float:
    """Kivy's dp scale for the window: 1.0 on a 7" 800x480 terminal, a little larger on a
    10" 1280x800 one (the square root keeps more room on screen than a pure zoom)."""
    return round(max(1.0, min(width / 800, height / 480)) ** 0.5, 2)


def prepare(config: KioskConfig) -> None:
    logging.getLogger("PIL").setLevel(logging.INFO)  # not every PNG chunk in the kiosk log
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_METRICS_DENSITY", str(density(config.width, config.height)))
    from kivy.config import Config

    Config.set("graphics", "width", str(config.width))
    Config.set("graphics", "height", str(config.height))
    Config.set("graphics", "resizable", "0")
    Config.set("graphics", "fullscreen", "auto" if config.fullscreen else "0")
    Config.set("graphics", "show_cursor", "1")
    Config.set("kivy", "exit_on_escape", "0")
    Config.set("kivy", "keyboard_mode", "system")  # the badge reader is the keyboard
    Config.set("input", "mouse", "mouse,disable_multitouch")


def run(config: KioskConfig) -> None:
    prepare(config)
    from kiosk_app.ui.app import KioskApp

    KioskApp(config).run()
