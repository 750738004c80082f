"""Every module the page's scripts import, directly or not, is preloaded by index.html: a module left out is fetched
only when its importer has been parsed, one import level later, on the critical path of opening an invite link."""

import re
from pathlib import Path

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
IMPORT = re.compile(
    r"""^\s*(?:import|export)\b[^;'"]*?\bfrom\s*["'](\./[\w./-]+)["']"""  # import { a } from "./a.js"
    r"""|^\s*import\s*["'](\./[\w./-]+)["']""",  # import "./a.js"
    re.M,
)


def _imports(module: Path) -> set[Path]:
    found = set()
    for match in IMPORT.finditer(module.read_text()):
        found.add((module.parent / (match.group(1) or match.group(2))).resolve())
    return found


def test_every_imported_module_is_preloaded() -> None:
    html = (FRONTEND / "index.html").read_text()
    scripts = {(FRONTEND / src).resolve() for src in re.findall(r'<script type="module"[^>]*\bsrc="([^"]+)"', html)}
    preloaded = {(FRONTEND / href).resolve() for href in re.findall(r'<link rel="modulepreload" href="([^"]+)"', html)}
    assert scripts, "index.html loads no module script"
    seen: set[Path] = set()
    todo = list(scripts)
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        for imported in _imports(module):
            assert imported.exists(), f"{module.name} imports {imported.name}, which does not exist"
            todo.append(imported)
    missing = sorted(p.name for p in seen - scripts - preloaded)
    assert not missing, f"imported but not preloaded by index.html: {missing}"
    assert len(seen) > len(scripts), "the import scan found no imports at all"
