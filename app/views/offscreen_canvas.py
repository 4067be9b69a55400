"""A vispy canvas drawn offscreen (EGL pbuffer) and shown in a plain raster QWidget, for software OpenGL.

Why: a ``QOpenGLWidget`` anywhere in a window makes Qt compose the *whole* top-level window through OpenGL on
every repaint (the raster backing store uploaded as a texture, then drawn and swapped). With a GPU that is free;
with Mesa's software renderer (llvmpipe: virtual machines, remote desktops, Xvfb) it cost ~29 ms of CPU per frame
in the 1600x960 window, more than everything else together. Here the vispy scene draws into an EGL pbuffer, the
pixels are read back (BGRA, the raster engine's own format) and painted
with ``QPainter.drawImage``; the window stays a raster window. Mouse and wheel events are forwarded to the canvas,
so the camera's orbit / zoom / pan work as before.

``choose_draw_path()`` picks ``"offscreen"`` only where the OpenGL that Qt would use is a software renderer and
EGL is available; ``MPM_STUDIO_3D_DRAW=offscreen|widget|auto`` overrides it (``widget``: the QOpenGLWidget).
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys

import numpy as np
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

log = logging.getLogger(__name__)

#: Environment override of the 3D view's drawing path: "auto" (default), "offscreen" or "widget".
DRAW_PATH_ENV = "MPM_STUDIO_3D_DRAW"
#: GL_RENDERER substrings of software rasterisers (Mesa llvmpipe / softpipe / swrast, Windows' GDI, Apple's).
SOFTWARE_RENDERERS = ("llvmpipe", "softpipe", "swrast", "software rasterizer", "gdi generic", "software renderer")
_GL_RENDERER = 0x1F01
_GL_BGRA = 0x80E1
_GL_UNSIGNED_BYTE = 0x1401
_GL_PACK_ALIGNMENT = 0x0D05
#: vispy button codes of Qt's mouse buttons.
_BUTTONS = {
    Qt.MouseButton.LeftButton: 1,
    Qt.MouseButton.RightButton: 2,
    Qt.MouseButton.MiddleButton: 3,
}

_qt_renderer: str | None = None
_egl_app = None


def qt_gl_renderer() -> str:
    """GL_RENDERER of the OpenGL context Qt would give a QOpenGLWidget ("" when none can be made); probed once
    on a throwaway offscreen surface (no widget, so the window's composition is not touched)."""
    global _qt_renderer
    if _qt_renderer is None:
        _qt_renderer = ""
        try:
            from PySide6.QtGui import QOffscreenSurface, QOpenGLContext

            context = QOpenGLContext()
            if context.create():
                surface = QOffscreenSurface()
                surface.setFormat(context.format())
                surface.create()
                if context.makeCurrent(surface):
                    name = context.functions().glGetString(_GL_RENDERER)
                    _qt_renderer = name.decode() if isinstance(name, bytes) else str(name or "")
                    context.doneCurrent()
                surface.destroy()
        except Exception:  # no OpenGL at all: the caller decides
            log.exception("probing Qt's OpenGL renderer")
    return _qt_renderer


def is_software(renderer: str) -> bool:
    low = renderer.lower()
    return any(name in low for name in SOFTWARE_RENDERERS)


def egl_app():
    """vispy's headless EGL application (None where EGL is not available: Windows, macOS, no libEGL)."""
    global _egl_app
    if _egl_app is None and sys.platform.startswith("linux"):
        try:
            from vispy import app as vispy_app

            _egl_app = vispy_app.Application("egl")
        except Exception as exc:  # no libEGL, no display: the QOpenGLWidget path stays
            log.info("EGL offscreen drawing not available: %s", exc)
            _egl_app = False
    return _egl_app or None


def choose_draw_path() -> str:
    """``"offscreen"`` (EGL pbuffer + raster widget) or ``"widget"`` (QOpenGLWidget); see the module's doc."""
    forced = os.environ.get(DRAW_PATH_ENV, "auto").strip().lower()
    if forced == "widget":
        return "widget"
    if forced != "offscreen" and not is_software(qt_gl_renderer()):
        return "widget"  # a GPU composes the window for free; read-backs would only add a stall
    return "offscreen" if egl_app() is not None else "widget"


def release_qt_context() -> None:
    """Release Qt's current OpenGL context on this thread: with libglvnd a thread cannot make an EGL context current
    while a GLX one is (a QOpenGLWidget elsewhere in the process, e.g. a test using the widget path)."""
    from PySide6.QtGui import QOpenGLContext

    current = QOpenGLContext.currentContext()
    if current is not None:
        current.doneCurrent()


def release_egl() -> None:
    """Leave no EGL context current on this thread (for the same reason, the other way round)."""
    from vispy.app.backends import _egl
    from vispy.ext import egl

    egl.eglMakeCurrent(_egl._EGL_DISPLAY, egl.EGL_NO_SURFACE, egl.EGL_NO_SURFACE, egl.EGL_NO_CONTEXT)


def _read_pixels_func():
    """glReadPixels from the GL library vispy uses (it dispatches to the current EGL context)."""
    from vispy.gloo.gl import _gl2

    return _gl2._get_gl_func(
        "glReadPixels",
        None,
        (ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p),
    )


class OffscreenCanvasWidget(QWidget):
    """Shows a vispy ``SceneCanvas`` made with ``app=egl_app()``: the canvas draws when this widget paints.

    The canvas' own ``update()`` (camera moves, new data) schedules this widget's repaint, so vispy's event flow is
    unchanged; the canvas' ``draw`` event fires inside ``paintEvent``."""

    def __init__(self, canvas, parent: QWidget | None = None):
        super().__init__(parent)
        self.canvas = canvas
        backend = canvas._backend
        backend._vispy_update = self.update  # canvas.update() -> a repaint of this widget
        backend._double_click_supported = True  # Qt reports double clicks itself
        make_current = backend._vispy_set_current

        def set_current() -> None:
            release_qt_context()
            make_current()

        backend._vispy_set_current = set_current
        self._backend = backend
        self._pixels: np.ndarray | None = None
        self._image: QImage | None = None
        self._dirty = True
        self._read = _read_pixels_func()
        from vispy.gloo import gl

        self._flipped: np.ndarray | None = None
        canvas.set_current()
        self.renderer = gl.glGetParameter(gl.GL_RENDERER)
        release_egl()
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)  # every pixel is painted
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground, True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.WheelFocus)

    # -- drawing -------------------------------------------------------------------------------------------------
    def update(self, *args) -> None:  # noqa: D102 (QWidget.update, also called by the canvas)
        self._dirty = True
        super().update(*args)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        self._fit_canvas()
        super().resizeEvent(event)

    def _fit_canvas(self) -> None:
        """Size the pbuffer to this widget in physical pixels (HiDPI: the canvas' ``size`` stays logical, its
        ``physical_size`` is the pixels drawn, as with the QOpenGLWidget)."""
        dpr = self.devicePixelRatioF()
        w, h = max(1, self.width()), max(1, self.height())
        pw, ph = max(1, round(w * dpr)), max(1, round(h * dpr))
        backend = self._backend
        if (tuple(self.canvas.size), tuple(self.canvas.physical_size)) != ((w, h), (pw, ph)):
            backend._vispy_set_size(pw, ph)  # a new pbuffer
            backend._size = (w, h)
            backend._vispy_get_physical_size = lambda size=(pw, ph): size
            self.canvas.events.resize(size=(w, h), physical_size=(pw, ph))
        self._dirty = True

    def draw_now(self) -> None:
        """Draw the canvas into its pbuffer and read the pixels into the image painted next."""
        canvas = self.canvas
        w, h = canvas.physical_size
        canvas.set_current()
        canvas.events.draw(region=None)  # the draw event: frameDrawn and friends
        if self._pixels is None or self._pixels.shape[:2] != (h, w):
            self._pixels = np.empty((h, w, 4), np.uint8)
        from vispy.gloo import gl

        gl.glPixelStorei(_GL_PACK_ALIGNMENT, 4)
        self._read(0, 0, w, h, _GL_BGRA, _GL_UNSIGNED_BYTE, self._pixels.ctypes.data)
        # OpenGL's rows run bottom-up. (GL_MESA_pack_invert would spare this copy, but llvmpipe's read-back honoured
        # it only some of the time in testing: an upside-down view now and then.)
        if self._flipped is None or self._flipped.shape != self._pixels.shape:
            self._flipped = np.empty_like(self._pixels)
        np.copyto(self._flipped, self._pixels[::-1])
        pixels = self._flipped
        # BGRA bytes are Qt's RGB32 on little-endian machines: painted without a conversion (alpha ignored, as
        # the QOpenGLWidget path makes the window opaque too).
        self._image = QImage(pixels.data, w, h, 4 * w, QImage.Format.Format_RGB32)
        self._image.setDevicePixelRatio(w / max(1, canvas.size[0]))
        self._image_pixels = pixels  # the QImage does not own its bytes
        self._dirty = False
        release_egl()

    def paintEvent(self, event) -> None:  # noqa: N802
        if self.canvas.physical_size[0] != round(self.width() * self.devicePixelRatioF()):
            self._fit_canvas()  # moved to a screen with another pixel ratio
        if self._dirty or self._image is None:
            self.draw_now()
        painter = QPainter(self)
        painter.drawImage(QRect(0, 0, self.width(), self.height()), self._image)
        painter.end()

    # -- input: the canvas' camera handles it ---------------------------------------------------------------------
    @staticmethod
    def _modifiers(event) -> tuple:
        from vispy.util import keys

        mods = event.modifiers()
        pairs = (
            (Qt.KeyboardModifier.ShiftModifier, keys.SHIFT),
            (Qt.KeyboardModifier.ControlModifier, keys.CONTROL),
            (Qt.KeyboardModifier.AltModifier, keys.ALT),
            (Qt.KeyboardModifier.MetaModifier, keys.META),
        )
        return tuple(key for qt_mod, key in pairs if mods & qt_mod)

    @staticmethod
    def _buttons(event) -> list[int]:
        held = event.buttons()
        return [code for button, code in _BUTTONS.items() if held & button]

    def _mouse(self, event) -> dict:
        pos = event.position()
        return dict(
            native=event,
            pos=(pos.x(), pos.y()),
            button=_BUTTONS.get(event.button(), 0),
            buttons=self._buttons(event),
            modifiers=self._modifiers(event),
        )

    def mousePressEvent(self, event) -> None:  # noqa: N802
        self._backend._vispy_mouse_press(**self._mouse(event))

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        self._backend._vispy_mouse_release(**self._mouse(event))

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802
        self._backend._vispy_mouse_double_click(**self._mouse(event))

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        kwargs = self._mouse(event)
        kwargs.pop("button")
        self._backend._vispy_mouse_move(**kwargs)

    def wheelEvent(self, event) -> None:  # noqa: N802
        delta = event.angleDelta()
        pos = event.position()
        self.canvas.events.mouse_wheel(
            native=event,
            delta=(delta.x() / 120.0, delta.y() / 120.0),
            pos=(pos.x(), pos.y()),
            modifiers=self._modifiers(event),
        )
