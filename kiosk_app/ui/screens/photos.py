"""Photo: from the camera where the terminal has one, otherwise from its image folder.
The picture is normalised (kiosk_app.media) before it is shown for confirmation, so what
the person sees is exactly what leaves; a file that is not a safe picture gets a clear
message instead."""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any

from kivy.clock import Clock
from kivy.metrics import dp
from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty

from kiosk_app import media
from kiosk_app.ui import theme
from kiosk_app.ui.i18n import tr
from kiosk_app.ui.screens.base import KioskScreen
from kiosk_app.ui.widgets import PhotoThumb, pictogram, texture_from

EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
MAX_FILES = 60


def folder_photos(folder: Path) -> list[Path]:
    try:
        files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in EXTENSIONS]
    except OSError:
        return []
    files.sort(key=lambda p: (-p.stat().st_mtime, p.name))
    return files[:MAX_FILES]


def camera_available() -> bool:
    try:
        from kivy.core.camera import Camera as CoreCamera
    except Exception:
        return False
    return CoreCamera is not None


class FolderThumb(PhotoThumb):
    path = StringProperty("")
    broken = BooleanProperty(False)


class PhotosScreen(KioskScreen):
    contact_id = NumericProperty(0)
    group_id = NumericProperty(0)  # a photo posted to a workgroup
    urgent = BooleanProperty(False)  # asked for in the conversation's compose bar
    mode = StringProperty("pick")  # pick | working | preview | camera
    error = StringProperty("")  # a PhotoError code, shown in the person's language
    jpeg = ObjectProperty(None, allownone=True)
    has_camera = BooleanProperty(False)
    # A team lead's broadcast takes the photo instead of a conversation (screens/broadcast).
    for_broadcast = BooleanProperty(False)
    for_alert = BooleanProperty(False)  # so does a safety alert (screens/alert)

    def show(self, contact_id: int = 0, group_id: int = 0, urgent: bool = False,
             for_broadcast: bool = False, for_alert: bool = False, **_: Any) -> None:
        self.for_broadcast, self.for_alert = for_broadcast, for_alert
        self.contact_id, self.group_id = contact_id, group_id
        self.urgent = bool(urgent and group_id)
        self.has_camera = bool(self.kiosk.config.camera) and camera_available()
        self._reset_preview()
        self.mode = "pick"
        self._fill()

    def _fill(self) -> None:
        grid = self.ids.grid
        grid.clear_widgets()
        files = folder_photos(self.kiosk.config.images())
        self.ids.empty.opacity = 0 if files else 1
        for path in files:
            thumb = FolderThumb(path=str(path), size_hint_y=None, height=dp(150))
            thumb.bind(on_release=lambda t: self.pick(Path(t.path)))
            grid.add_widget(thumb)
            self._load_thumb(thumb, path)

    def _load_thumb(self, thumb: FolderThumb, path: Path) -> None:
        side = int(dp(220))

        def work() -> None:
            try:
                pixels = media.pixels_for_display(path.read_bytes(), side)
            except (media.PhotoError, OSError):
                pixels = None
            Clock.schedule_once(lambda _dt: self._thumb_ready(thumb, pixels))
        threading.Thread(target=work, name="thumb", daemon=True).start()

    def _thumb_ready(self, thumb: FolderThumb, pixels: media.Pixels | None) -> None:
        if thumb.parent is None:
            return  # the screen was left (or cleared) meanwhile
        if pixels is None:
            thumb.broken = True
            thumb.source = pictogram("warning")
            thumb.color = theme.DANGER
        else:
            thumb.texture = texture_from(pixels)

    def pick(self, path: Path) -> None:
        if self.mode == "working":
            return  # one photo at a time
        self.error = ""
        self.mode = "working"
        self.kiosk.prepare_photo(path)

    def on_kiosk(self, _screen: Any, kiosk: Any) -> None:
        if kiosk is not None:
            kiosk.bind(on_photo_ready=self._ready)

    def _ready(self, _kiosk: Any, _path: Path, jpeg: bytes | None, error: Any) -> None:
        if self.mode != "working":
            return
        if error is not None:
            self.error = error.code
            self.mode = "pick"
            return
        self.jpeg = jpeg
        self.ids.preview.texture = texture_from(media.pixels_for_display(jpeg, int(dp(900))))
        self.mode = "preview"

    def error_text(self, code: str) -> str:
        return media.PhotoError(code).message(tr.lang) if code else ""

    def send(self) -> None:
        if self.for_broadcast:  # handed to the broadcast's form, which sends it with the rest
            jpeg = self.jpeg
            self._reset_preview()
            self.nav.go("broadcast", photo=jpeg)
            return
        if self.for_alert:  # handed back to the alert's confirmation, sent with it
            jpeg = self.jpeg
            self._reset_preview()
            self.nav.go("alert", photo=jpeg, keep=True)
            return
        if self.jpeg:
            self.kiosk.send_photo(self.contact_id, self.jpeg, group=self.group_id,
                                  urgent=self.urgent)
            self.urgent = False  # one urgent post, not every one after it
        self._reset_preview()
        self.back()

    def back(self) -> None:
        if self.for_broadcast:
            self.nav.go("broadcast")
            return
        if self.for_alert:
            self.nav.go("alert", keep=True)
            return
        self.nav.go("conversation", contact_id=self.contact_id, group_id=self.group_id,
                    urgent=self.urgent)

    def another(self) -> None:
        self._reset_preview()
        self.mode = "pick"

    # --- camera ---------------------------------------------------------------------------------

    def open_camera(self) -> None:
        from kivy.uix.camera import Camera

        self.ids.camera_box.clear_widgets()
        self.ids.camera_box.add_widget(Camera(play=True, resolution=(1280, 720)))
        self.mode = "camera"

    def take(self) -> None:
        from PIL import Image

        box = self.ids.camera_box
        if not box.children:
            return
        cam = box.children[0]
        tex = cam.texture
        if tex is None:
            return
        img = Image.frombytes("RGBA", tex.size, tex.pixels).transpose(Image.Transpose.FLIP_TOP_BOTTOM)
        out = io.BytesIO()
        img.convert("RGB").save(out, "JPEG", quality=92)
        cam.play = False
        box.clear_widgets()
        try:
            jpeg = media.normalise_photo(out.getvalue())
        except media.PhotoError as exc:
            self.error, self.mode = exc.code, "pick"
            return
        self.mode = "working"
        self._ready(None, Path("camera"), jpeg, None)

    def _reset_preview(self) -> None:
        self.jpeg = None
        self.error = ""
        if "preview" in self.ids:
            self.ids.preview.texture = None
        if "camera_box" in self.ids:
            for cam in self.ids.camera_box.children:
                cam.play = False
            self.ids.camera_box.clear_widgets()

    def clear(self) -> None:
        self._reset_preview()
        self.ids.grid.clear_widgets()
        self.mode = "pick"
        self.urgent = self.for_broadcast = self.for_alert = False
        self.contact_id = self.group_id = 0
