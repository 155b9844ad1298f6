"""Colours and sizes of the kiosk, in one place for the .kv files and the Python widgets.

High contrast for a bright, dusty workshop: dark text on white, white text on deep blue,
red or green; every pair here is at least 7:1 (WCAG AAA) except the amber banner, which
carries black text (12:1). Targets are at least ``TARGET`` dp (48 dp is the floor; most
buttons are larger because the people using them wear gloves).
"""

from __future__ import annotations

# RGBA in 0..1, as Kivy wants them.
BG = (1, 1, 1, 1)
SURFACE = (0.93, 0.94, 0.96, 1)  # lists and panels on the white background
TEXT = (0.07, 0.07, 0.09, 1)
TEXT_MUTED = (0.25, 0.27, 0.31, 1)  # 10:1 on white
PRIMARY = (0.04, 0.24, 0.55, 1)  # deep blue, white text 10:1
PRIMARY_DARK = (0.02, 0.14, 0.36, 1)
DANGER = (0.70, 0.07, 0.07, 1)  # "Terminer", refusals: white text 7.3:1
SUCCESS = (0.09, 0.40, 0.16, 1)  # white text 7.6:1
WARNING = (1.0, 0.80, 0.0, 1)  # amber, black text
URGENT = (0.70, 0.07, 0.07, 1)
ON_DARK = (1, 1, 1, 1)
MINE = (0.85, 0.91, 1.0, 1)  # my bubbles: light blue, dark text 15:1
THEIRS = (0.93, 0.94, 0.96, 1)
PRESSED = (0.0, 0.0, 0.0, 0.25)  # overlay while a button is held down
DIVIDER = (0.75, 0.77, 0.80, 1)

TARGET = 48  # dp, the smallest touch target anywhere
BUTTON = 64  # dp, the usual button height
BAR = 64  # dp, the top bar
FONT = 20  # sp, body text
FONT_SMALL = 16  # sp, secondary text (times, states)
FONT_LARGE = 26  # sp, titles and big buttons
FONT_HUGE = 56  # sp, the idle clock
PAD = 8  # dp
