"""``report.html``: the Markdown report rendered to one self-contained page (images inlined as data URIs)."""

from __future__ import annotations

import base64
import html
import io
import re
from pathlib import Path

from markdown_it import MarkdownIt

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 12px; display: block; overflow-x: auto; }
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: right; white-space: nowrap; }
th { background: #f3f3f3; position: sticky; top: 0; }
td:first-child, th:first-child { text-align: left; }
td:first-child { white-space: normal; min-width: 22em; max-width: 36em; }
td:last-child { white-space: normal; min-width: 12em; }
td strong { background: #d9f2d9; padding: 0 3px; }
img { max-width: 100%; image-rendering: pixelated; margin: 4px; vertical-align: top; }
code { background: #f5f5f5; padding: 0 3px; }
"""


def compact_png(data: bytes) -> bytes:
    """The PNG ``data`` re-encoded for the page, the smaller of it and its compact form: a grey image (the sample
    grids, saved as RGB) as one 8-bit channel, which is lossless; a colour figure (curves, scatter plots) as 256
    adaptive colours, which the anti-aliased lines of a plot do not outnumber visibly. 2.9 MB of the default run's
    images become 1.2 MB."""
    import numpy as np
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    rgba = np.asarray(image.convert("RGBA"))
    opaque = bool((rgba[..., 3] == 255).all())
    grey = opaque and bool((rgba[..., 0] == rgba[..., 1]).all() and (rgba[..., 1] == rgba[..., 2]).all())
    if grey:
        compact = image.convert("L")
    elif opaque:
        compact = image.convert("RGB").quantize(256)
    else:  # median cut (the default) takes no alpha channel
        compact = image.convert("RGBA").quantize(256, method=Image.Quantize.FASTOCTREE)
    out = io.BytesIO()
    compact.save(out, format="PNG", optimize=True)
    return min(data, out.getvalue(), key=len)


def _inline_images(body: str, base: Path) -> str:
    """Replace ``src="relative.png"`` by a base64 data URI of that file, compacted (missing files are left as
    links)."""

    def data_uri(match: re.Match) -> str:
        path = base / html.unescape(match.group(1))
        if not path.is_file():
            return match.group(0)
        return f'src="data:image/png;base64,{base64.b64encode(compact_png(path.read_bytes())).decode()}"'

    return re.sub(r'src="([^":]+\.png)"', data_uri, body)


def render_html(markdown_text: str, base: Path, title: str = "genlab report") -> str:
    """The page for ``markdown_text`` (CommonMark + tables), whose image paths are relative to ``base``."""
    body = MarkdownIt("commonmark").enable("table").render(markdown_text)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{STYLE}</style></head><body>\n{_inline_images(body, base)}</body></html>\n")
