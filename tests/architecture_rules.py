"""The house rules of src/emegalis/ (docs/architecture.md), checked on the imports of the code.

The imports are read from the source (ast), function-level imports included, so a rule holds
whatever runs first. `broken_rules()` lists every import that breaks a rule, as
« importer:line imports target: rule »; tests/test_architecture.py asserts the list is empty.
"""

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import emegalis

SRC = Path(emegalis.__file__).resolve().parent
ROOT = "emegalis"

# The project's composition root: settings and the URL and API assembly. They import every
# app's urls/api and are imported by none.
COMPOSITION_ROOT = {"urls", "api", "settings", "settings_test", "wsgi", "asgi"}

# Which apps each app may import: dependencies point one way, core ← organisations ←
# adhesions ← the services. A new app is refused until it has a line here (and in
# docs/architecture.md).
ALLOWED_APPS: dict[str, frozenset[str]] = {
    "core": frozenset(),
    "organisations": frozenset({"core"}),
    "adhesions": frozenset({"core", "organisations"}),
    # The salle des marchés opens a workspace for a consultation's team.
    "marches": frozenset({"core", "organisations", "adhesions", "collaboratif"}),
    "actes": frozenset({"core", "organisations", "adhesions"}),
    # The prefecture's counterpart only knows the @CTES protocol, as a real prefecture would.
    "prefecture": frozenset({"core", "organisations", "actes"}),
    "collaboratif": frozenset({"core", "organisations", "adhesions"}),
    "groupements": frozenset(
        {"core", "organisations", "adhesions", "marches", "actes", "collaboratif"}
    ),
    "formations": frozenset({"core", "organisations", "adhesions"}),
    # The demo region is loaded through every app's services.
    "demo": frozenset(
        {"core", "organisations", "adhesions", "marches", "actes", "prefecture", "groupements"}
        | {"collaboratif", "formations"}
    ),
}

# Where an app may only use part of another one.
ONLY_THROUGH: dict[tuple[str, str], tuple[str, ...]] = {
    ("prefecture", "actes"): ("actes.protocol",),
    ("groupements", "actes"): ("actes.acts.selectors",),
}

# The modules of a sub-package that its siblings and other apps may use; the rest is private,
# unless the sub-package lists it in its __init__.py's `__all__` (its declared public modules).
PUBLIC_MODULES = frozenset({"models", "services", "selectors"})
# The composition root also assembles the sub-packages' urls and API.
WIRING_MODULES = PUBLIC_MODULES | {"urls", "api", "tasks", "admin", "apps"}
# Sub-packages that are not a stage of the app but a library or a Django convention.
NOT_STAGES = frozenset({"migrations", "management", "templatetags", "protocol", "commands"})


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name, e.g. emegalis.marches.deposit.views
    target: str  # the module imported, resolved to a module of src/emegalis when it is one
    line: int

    def describe(self, rule: str) -> str:
        return f"{self.importer}:{self.line} imports {self.target}: {rule}"


@cache
def _modules() -> dict[str, Path]:
    found = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _is_package(module: str) -> bool:
    return _modules()[module].name == "__init__.py"


def _imports_of(module: str, path: Path) -> list[Import]:
    package = module if _is_package(module) else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [Import(module, alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                target = candidate if candidate in _modules() else base
                found.append(Import(module, target, node.lineno))
    return [i for i in found if i.target == ROOT or i.target.startswith(ROOT + ".")]


def project_imports() -> list[Import]:
    """Every import of an emegalis module by an emegalis module, migrations left out."""
    imports = []
    for module, path in sorted(_modules().items()):
        if ".migrations" in module:
            continue
        imports += _imports_of(module, path)
    return imports


def _app(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] not in COMPOSITION_ROOT else None


def _stage(module: str) -> str | None:
    """The sub-package (stage or job) of an app a module belongs to, if any."""
    parts = module.split(".")
    if len(parts) < 3 or parts[2] in NOT_STAGES:
        return None
    stage = ".".join(parts[:3])
    return parts[2] if stage in _modules() and _is_package(stage) else None


def _app_rules(imp: Import) -> list[str]:
    source, target = _app(imp.importer), _app(imp.target)
    if source is None or target is None or source == target:
        return []
    if source not in ALLOWED_APPS:
        return [imp.describe(f"app « {source} » is not in the rules (tests/architecture_rules.py)")]
    if target not in ALLOWED_APPS[source]:
        if source == "core":
            return [imp.describe("core is the shared kernel and imports no other app")]
        return [imp.describe(f"« {source} » may not depend on « {target} »")]
    allowed = ONLY_THROUGH.get((source, target))
    inside = imp.target.removeprefix(ROOT + ".")
    if allowed and not any(inside == a or inside.startswith(a + ".") for a in allowed):
        return [
            imp.describe(f"« {source} » may use « {target} » only through {', '.join(allowed)}")
        ]
    return []


@cache
def declared_public(stage_package: str) -> frozenset[str]:
    """The modules a sub-package declares public in its __init__.py's `__all__`."""
    tree = ast.parse(_modules()[stage_package].read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return frozenset(ast.literal_eval(node.value))
    return frozenset()


def _stage_rules(imp: Import) -> list[str]:
    target_stage = _stage(imp.target)
    if target_stage is None:
        return []
    target_parts = imp.target.split(".")
    module_in_stage = target_parts[3] if len(target_parts) > 3 else None
    if _app(imp.importer) == _app(imp.target) and _stage(imp.importer) in (None, target_stage):
        return []  # inside the stage, or the app's own wiring (urls, tasks, templatetags…)
    public = PUBLIC_MODULES | declared_public(".".join(target_parts[:3]))
    if imp.importer.split(".")[1] in COMPOSITION_ROOT:
        public |= WIRING_MODULES
    if module_in_stage is None or module_in_stage in public:
        return []
    return [
        imp.describe(
            f"« {module_in_stage} » is private to {'.'.join(target_parts[1:3])}: "
            f"use its {', '.join(sorted(public))}"
        )
    ]


def app_cycles(imports: list[Import]) -> list[list[str]]:
    """The cycles of the app graph (each as the list of apps on it)."""
    graph: dict[str, set[str]] = {}
    for imp in imports:
        source, target = _app(imp.importer), _app(imp.target)
        if source and target and source != target:
            graph.setdefault(source, set()).add(target)
    cycles, path, done = [], [], set()

    def visit(app: str) -> None:
        if app in path:
            cycles.append(path[path.index(app) :] + [app])
            return
        if app in done:
            return
        path.append(app)
        for following in sorted(graph.get(app, ())):
            visit(following)
        path.pop()
        done.add(app)

    for app in sorted(graph):
        visit(app)
    return cycles


def broken_rules(imports: list[Import] | None = None) -> list[str]:
    imports = project_imports() if imports is None else imports
    broken = []
    for imp in imports:
        broken += _app_rules(imp) + _stage_rules(imp)
    broken += [f"apps import each other in a cycle: {' -> '.join(c)}" for c in app_cycles(imports)]
    return broken
