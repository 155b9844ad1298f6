"""Benchmarks: ``relais bench`` (relay against the raw broker), console and kiosk figures.

Every producer of figures rewrites only its own section of docs/benchmarks.md
(see :mod:`hr_console.bench.report`), so they can run at different times.
"""
