"""The codec is pure Python: nothing in actes/protocol imports Django."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import emegalis.actes.protocol as protocol

PACKAGE_DIR = Path(protocol.__file__).parent
SRC = PACKAGE_DIR.parents[2]


def test_no_module_of_the_package_imports_django():
    offenders = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] == "django"]
    assert offenders == []


def test_importing_the_package_loads_no_django():
    code = (
        "import sys, pkgutil, importlib\n"
        "import emegalis.actes.protocol as p\n"
        "for m in pkgutil.iter_modules(p.__path__):\n"
        "    importlib.import_module('emegalis.actes.protocol.' + m.name)\n"
        "p.validate(p.build_message(p.DemandeClassification()))\n"
        "loaded = sorted(n for n in sys.modules if n == 'django' or n.startswith('django.'))\n"
        "print(loaded)\n"
        "sys.exit(1 if loaded else 0)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = str(SRC)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "[]"
