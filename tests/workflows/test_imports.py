"""workflows.tasks is a leaf: tasks import the modules that do the work, never the reverse."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function, made absolute."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def test_no_application_module_imports_the_tasks():
    importers = [
        str(path.relative_to(ROOT))
        for app in ("workflows", "articles", "citations", "reviewsite")
        for path in sorted((ROOT / app).rglob("*.py"))
        if path.name != "tasks.py" and "workflows.tasks" in _imported_modules(path)
    ]
    assert importers == []


def test_the_worker_can_import_the_tasks_first():
    """As ``celery -A reviewsite worker`` does: the app, Django, then the tasks module."""
    code = (
        "import reviewsite.celery, django; django.setup(); "
        "import workflows.tasks as t; "
        "from reviewsite.celery import app; "
        "print(sorted(n for n in app.tasks if n.startswith('workflows.')))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "reviewsite.settings"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "workflows.tasks.send_notification" in done.stdout
