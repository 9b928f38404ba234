"""A page template for ``dvc plots show/diff`` that renders with no network: DVC's own page (``dvc_render``'s
``PAGE_HTML``) with vega, vega-lite and vega-embed inlined from their npm packages, in place of the ``{scripts}``
placeholder through which DVC would add ``<script src>`` tags that load them from a CDN."""

from __future__ import annotations

from pathlib import Path

# npm packages (the majors whose specs DVC writes: vega-lite v5) and their browser builds
PACKAGES = {"vega@5": "vega/build/vega.min.js", "vega-lite@5": "vega-lite/build/vega-lite.min.js",
            "vega-embed@6": "vega-embed/build/vega-embed.min.js"}
PLACEHOLDERS = ("{scripts}", "{plot_divs}", "{refresh_tag}")


def offline_template(node_modules: Path) -> str:
    """DVC's page with the three builds found under ``node_modules`` inlined (and no ``{scripts}`` placeholder)."""
    from dvc_render.html import PAGE_HTML

    scripts = []
    for package, build in PACKAGES.items():
        path = node_modules / build
        if not path.is_file():
            raise FileNotFoundError(f"{path}: missing; npm install {package}")
        js = path.read_text(encoding="utf-8").replace("</script", "<\\/script")  # cannot end the tag early
        if any(p in js for p in PLACEHOLDERS):  # DVC fills its placeholders by plain text replacement
            raise ValueError(f"{path} contains one of DVC's placeholders {PLACEHOLDERS}")
        scripts.append(f"<script>/* {package} */\n{js}\n</script>")
    return PAGE_HTML.replace("{scripts}", "\n".join(scripts))
