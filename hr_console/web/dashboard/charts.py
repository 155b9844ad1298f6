"""Charts as SVG pictures, drawn on the server (no chart library, no script in the page).

Every piece of text (team names, labels) and every attribute goes through ``escape``; the
numbers are formatted by us. The pictures use presentation attributes only (no ``style``),
so they render under a ``default-src 'none'`` policy."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

FONT = 'font-family="DejaVu Sans, Segoe UI, Roboto, sans-serif"'
INK, MUTED, LINE, ACCENT, ACCENT2 = "#1d2330", "#5b6475", "#d9dde5", "#0b5cad", "#b3261e"


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _nice_max(value: float, least_step: float = 1.0) -> float:
    """The top of an axis with four gridline steps of a round size (1, 2, 2.5 or 5 times a
    power of ten, never below ``least_step``): a count axis never reads 1.2 or 3.8."""
    step = max(value / 4, least_step)
    exp = 10 ** math.floor(math.log10(step))
    for nice in (1, 2, 2.5, 5, 10):
        size = nice * exp
        if step <= size and (least_step < 1 or float(size).is_integer()):
            return 4 * size
    return 40 * exp


def _fmt(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    if value >= 1000:
        return f"{value / 1000:.1f}".rstrip("0").rstrip(".") + "k"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" role="img" aria-label="{_e(title)}">'
            f"<title>{_e(title)}</title>"
            f'<rect width="{width}" height="{height}" fill="#ffffff"/>' + "".join(body) + "</svg>")


def _axes(x0: int, y0: int, w: int, h: int, top: float, unit: str = "") -> list[str]:
    out = []
    for i in range(5):
        y = y0 + h - h * i / 4
        out.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + w}" y2="{y:.1f}" stroke="{LINE}"/>')
        out.append(f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
                   f'fill="{MUTED}" {FONT}>{_e(_fmt(top * i / 4) + unit)}</text>')
    return out


def bars(points: Sequence[tuple[str, float]], title: str, *, empty: str = "",
         parts: Sequence[float] | None = None, legend: tuple[str, str] | None = None) -> str:
    """One bar per label (days), value on top of each. ``parts``: a share of each bar (the
    group posts of each day) drawn at its foot in the second colour, named by ``legend``
    (whole, part)."""
    width, height, x0, y0, h = 680, 260, 48, 16, 200
    if legend:
        y0 = 30
        height += 14
    w = width - x0 - 12
    top = _nice_max(max((v for _, v in points), default=0))
    body = _axes(x0, y0, w, h, top)
    n = max(1, len(points))
    slot = w / n
    for i, (label, value) in enumerate(points):
        bh = h * value / top if top else 0
        x = x0 + i * slot + slot * 0.15
        body.append(f'<rect x="{x:.1f}" y="{y0 + h - bh:.1f}" width="{slot * 0.7:.1f}" '
                    f'height="{bh:.1f}" fill="{ACCENT}"><title>{_e(label)}: {_e(_fmt(value))}</title></rect>')
        part = parts[i] if parts is not None and i < len(parts) else 0
        if part:
            ph = h * min(part, value) / top if top else 0
            name = legend[1] if legend else ""
            body.append(f'<rect x="{x:.1f}" y="{y0 + h - ph:.1f}" width="{slot * 0.7:.1f}" '
                        f'height="{ph:.1f}" fill="{ACCENT2}"><title>{_e(label)} · {_e(name)}: '
                        f'{_e(_fmt(part))}</title></rect>')
        if value:
            body.append(f'<text x="{x + slot * 0.35:.1f}" y="{y0 + h - bh - 3:.1f}" font-size="10" '
                        f'text-anchor="middle" fill="{INK}" {FONT}>{_e(_fmt(value))}</text>')
        body.append(f'<text x="{x + slot * 0.35:.1f}" y="{y0 + h + 16}" font-size="11" '
                    f'text-anchor="middle" fill="{MUTED}" {FONT}>{_e(label)}</text>')
    if legend:
        for k, (name, colour) in enumerate(zip(legend, (ACCENT, ACCENT2), strict=True)):
            lx = x0 + k * 220
            body.append(f'<rect x="{lx}" y="6" width="14" height="14" fill="{colour}"/>')
            body.append(f'<text x="{lx + 20}" y="18" font-size="12" fill="{INK}" {FONT}>{_e(name)}</text>')
    if not any(v for _, v in points) and empty:
        body.append(f'<text x="{x0 + w / 2:.1f}" y="{y0 + h / 2:.1f}" text-anchor="middle" '
                    f'font-size="14" fill="{MUTED}" {FONT}>{_e(empty)}</text>')
    return _svg(width, height, body, title)


def lines(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None], str]],
          title: str, *, unit: str = "", empty: str = "") -> str:
    """Several series over the same labels; ``None`` leaves a gap."""
    width, height, x0, y0, h = 680, 280, 56, 30, 200
    w = width - x0 - 16
    values = [v for _, vs, _ in series for v in vs if v is not None]
    top = _nice_max(max(values, default=0), least_step=0.25)
    body = _axes(x0, y0, w, h, top, unit)
    n = max(1, len(labels))
    step = w / n

    def xy(i: int, v: float) -> tuple[float, float]:
        return x0 + step * (i + 0.5), y0 + h - h * v / top

    for i, label in enumerate(labels):
        body.append(f'<text x="{x0 + step * (i + 0.5):.1f}" y="{y0 + h + 16}" font-size="11" '
                    f'text-anchor="middle" fill="{MUTED}" {FONT}>{_e(label)}</text>')
    for k, (name, vs, colour) in enumerate(series):
        run: list[str] = []
        for i, v in enumerate(list(vs) + [None]):
            if v is None:
                if len(run) > 1:
                    body.append(f'<polyline points="{" ".join(run)}" fill="none" stroke="{_e(colour)}" '
                                f'stroke-width="2.5" stroke-linejoin="round"/>')
                run = []
                continue
            x, y = xy(i, v)
            run.append(f"{x:.1f},{y:.1f}")
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{_e(colour)}">'
                        f"<title>{_e(labels[i])} · {_e(name)}: {_e(_fmt(v) + unit)}</title></circle>")
        lx = x0 + k * 170
        body.append(f'<rect x="{lx}" y="6" width="14" height="14" fill="{_e(colour)}"/>')
        body.append(f'<text x="{lx + 20}" y="18" font-size="12" fill="{INK}" {FONT}>{_e(name)}</text>')
    if not values and empty:
        body.append(f'<text x="{x0 + w / 2:.1f}" y="{y0 + h / 2:.1f}" text-anchor="middle" '
                    f'font-size="14" fill="{MUTED}" {FONT}>{_e(empty)}</text>')
    return _svg(width, height, body, title)


def hbars(rows: Sequence[tuple[str, float, float]], legend: tuple[str, str], title: str,
          *, empty: str = "") -> str:
    """Two horizontal bars per row (sent, received)."""
    label_w, bar_w, row_h = 220, 420, 30
    width = label_w + bar_w + 60
    height = 34 + row_h * max(1, len(rows))
    top = _nice_max(max((max(a, b) for _, a, b in rows), default=0))
    body = []
    for k, (name, colour) in enumerate(zip(legend, (ACCENT, ACCENT2), strict=True)):
        lx = label_w + k * 150
        body.append(f'<rect x="{lx}" y="6" width="14" height="14" fill="{colour}"/>')
        body.append(f'<text x="{lx + 20}" y="18" font-size="12" fill="{INK}" {FONT}>{_e(name)}</text>')
    for i, (label, a, b) in enumerate(rows):
        y = 30 + i * row_h
        body.append(f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end" font-size="12" '
                    f'fill="{INK}" {FONT}>{_e(label[:34])}</text>')
        for j, (v, colour) in enumerate(((a, ACCENT), (b, ACCENT2))):
            bw = bar_w * v / top if top else 0
            body.append(f'<rect x="{label_w}" y="{y + 3 + j * 12}" width="{bw:.1f}" height="10" '
                        f'fill="{colour}"><title>{_e(label)}: {_e(_fmt(v))}</title></rect>')
            body.append(f'<text x="{label_w + bw + 4:.1f}" y="{y + 12 + j * 12}" font-size="10" '
                        f'fill="{MUTED}" {FONT}>{_e(_fmt(v))}</text>')
    if not rows and empty:
        body.append(f'<text x="{width / 2:.0f}" y="52" text-anchor="middle" font-size="14" '
                    f'fill="{MUTED}" {FONT}>{_e(empty)}</text>')
    return _svg(width, height, body, title)


def heatmap(names: Sequence[str], cells: dict[tuple[int, int], int], title: str, *,
            row_axis: str, col_axis: str, empty: str = "") -> str:
    """Rows send to columns; darker means more messages."""
    n = len(names)
    cell, label_w, label_h = 34, 200, 150
    width = label_w + cell * max(1, n) + 20
    height = label_h + cell * max(1, n) + 30
    top = max(cells.values(), default=0)
    body = [f'<text x="{label_w}" y="14" font-size="12" fill="{MUTED}" {FONT}>'
            f'{_e(col_axis)} →</text>',
            f'<text x="8" y="{label_h - 6}" font-size="12" fill="{MUTED}" {FONT}>{_e(row_axis)} ↓</text>']
    for j, name in enumerate(names):
        x = label_w + j * cell + cell / 2
        body.append(f'<text x="{x:.0f}" y="{label_h - 8}" font-size="11" fill="{INK}" {FONT} '
                    f'transform="rotate(-50 {x:.0f} {label_h - 8})">{_e(name[:26])}</text>')
    for i, name in enumerate(names):
        y = label_h + i * cell
        body.append(f'<text x="{label_w - 6}" y="{y + cell / 2 + 4:.0f}" text-anchor="end" '
                    f'font-size="11" fill="{INK}" {FONT}>{_e(name[:30])}</text>')
        for j in range(n):
            v = cells.get((i, j), 0)
            t = (math.log1p(v) / math.log1p(top)) if top and v else 0
            # From near-white to the accent blue.
            r, g, b = (int(244 + (11 - 244) * t), int(246 + (92 - 246) * t), int(249 + (173 - 249) * t))
            body.append(f'<rect x="{label_w + j * cell}" y="{y}" width="{cell - 2}" height="{cell - 2}" '
                        f'fill="#{r:02x}{g:02x}{b:02x}"><title>{_e(names[i])} → {_e(names[j])}: '
                        f"{_e(v)}</title></rect>")
            if v:
                body.append(f'<text x="{label_w + j * cell + cell / 2 - 1:.0f}" y="{y + cell / 2 + 3:.0f}" '
                            f'text-anchor="middle" font-size="9" fill="{"#ffffff" if t > 0.55 else INK}" '
                            f"{FONT}>{_e(_fmt(v))}</text>")
    if not n and empty:
        body.append(f'<text x="{width / 2:.0f}" y="{label_h + 20}" text-anchor="middle" '
                    f'font-size="14" fill="{MUTED}" {FONT}>{_e(empty)}</text>')
    return _svg(width, height, body, title)
