"""A badge-in sync always fits one MQTT packet, however many photos the history holds:
the newest photos travel inline, older ones as ``has_image`` (fetched over the kiosk API)."""

from __future__ import annotations

import random

from PIL import Image

from kiosk_app.link import events as ev
from kiosk_app.media import normalise_photo
from relais_wire.envelope import encode
from relais_wire.limits import MAX_DOWNLINK_BYTES, SYNC_HISTORY_BYTES
from tests.system_fixture import expect


def _noisy_photo(seed: int) -> bytes:
    """A photo JPEG cannot shrink much: random noise, normalised as a kiosk would."""
    rng = random.Random(seed)
    img = Image.frombytes("RGB", (900, 700), rng.randbytes(900 * 700 * 3))
    return normalise_photo(_png(img))


def _png(img: Image.Image) -> bytes:
    import io

    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def test_sync_with_many_photos_fits_and_flags_the_rest(system) -> None:  # noqa: ANN001
    k1 = system.link("kiosk-1")
    system.badge_in(k1, "Sophie Martin")
    karim = system.employee("Karim Benali")
    photos = [_noisy_photo(i) for i in range(6)]
    assert sum(len(p) for p in photos) * 4 // 3 > MAX_DOWNLINK_BYTES, "the history must not fit whole"
    sent = [k1.send_photo(karim, p, caption=f"photo {i}") for i, p in enumerate(photos)]
    sent.append(k1.send_text(karim, "et un texte"))
    for msg in sent:
        expect(k1, ev.StateChanged, lambda e, m=msg: e.msg == m and e.state in ("held", "accepted"))

    k1.logout()
    expect(k1, ev.LoggedOut)
    synced = system.badge_in(k1, "Sophie Martin")
    by_id = {m["msg"]: m for m in synced.history}
    assert set(sent) <= set(by_id), "every message is listed, photos with or without image"
    size = len(encode({"history": synced.history}))
    assert size <= SYNC_HISTORY_BYTES + 4096 < MAX_DOWNLINK_BYTES
    inline = [m for m in sent[:-1] if by_id[m].get("image")]
    flagged = [m for m in sent[:-1] if by_id[m].get("has_image") and not by_id[m].get("image")]
    assert inline and flagged and len(inline) + len(flagged) == len(photos)
    # Newest first keep their image: every flagged photo is older than every inline one.
    assert max(sent.index(m) for m in flagged) < min(sent.index(m) for m in inline)
    assert by_id[sent[-1]]["text"] == "et un texte"
