"""The dependency direction of STYLE.md, checked by walking the imports of every module."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "handlers", "flows", "models")


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules(package: str):
    return [p for p in (ROOT / package).rglob("*.py") if "line_emulator" not in p.parts]


# The direction of dependencies between our packages, lowest first: a package imports only those above it
# (besides itself, models, flows and third-party libraries). bot.jobs.queues (queue names and their retry and TTL
# policy) sits with the platform, since everything that enqueues names a queue; bot.jobs' entry points, the
# flask commands and the handlers are the composition on top of everything.
LAYERS = (
    "bot.platform",
    "bot.jobs.queues",
    "bot.customers",
    "bot.delivery",
    "bot.scenarios",
    "bot.imports",
    "bot.notices",
    "bot.inbound",
    "bot.offers",
    "bot.chat",
    "bot.staff",
    "bot.api_events",
    "bot.privacy",
    "bot.exports",
    "bot.jobs",
    "bot.cli",
    "handlers",
)


def layer_of(module: str) -> str | None:
    """The LAYERS entry a dotted module name belongs to (the longest that prefixes it)."""
    owners = [layer for layer in LAYERS if module == layer or module.startswith(layer + ".")]
    return max(owners, key=len) if owners else None


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_packages_import_only_the_layers_below_them():
    """No package reaches up: delivery does not know the scenarios or the staff, the platform knows no domain
    (function-level imports count too). Cycles between packages are impossible by construction."""
    wrong = []
    for package in ("bot", "handlers"):
        for path in (ROOT / package).rglob("*.py"):
            module = module_name(path)
            own = layer_of(module)
            if own is None:
                continue
            for name in imports_of(path):
                other = layer_of(name)
                if other is not None and other != own and LAYERS.index(other) > LAYERS.index(own):
                    wrong.append(f"{module} imports {name} ({other} is above {own})")
    assert not wrong, "\n".join(wrong)


def test_every_bot_package_has_a_layer():
    """A new package under bot/ takes its place in LAYERS, so the rule above covers it."""
    packages = {f"bot.{p.name}" for p in (ROOT / "bot").iterdir() if (p / "__init__.py").exists()}
    assert packages <= set(LAYERS), packages - set(LAYERS)
    assert [p.name for p in (ROOT / "bot").glob("*.py")] == ["__init__.py"]


def test_only_channels_import_the_messaging_sdk():
    """Nothing outside bot/delivery/channels talks to LINE's Messaging API client."""
    for package in PACKAGES:
        for path in modules(package):
            if "channels" in path.parts:
                continue
            assert not any(name.startswith("linebot.v3.messaging") for name in imports_of(path)), path


def test_models_and_bot_do_not_import_handlers_or_entry_points():
    """models depend on nothing of ours but models and the pure vocabulary in flows.dsl (Channel, Purpose); bot
    never imports handlers, app or worker."""
    for path in modules("models"):
        names = imports_of(path) - {"flows.dsl"}
        ours = {n.split(".")[0] for n in names} & {"bot", "handlers", "flows", "app", "worker"}
        assert not ours, path
    for path in modules("bot"):
        ours = {n.split(".")[0] for n in imports_of(path)} & {"handlers", "app", "worker"}
        assert not ours, path


def test_flows_use_only_the_standard_library():
    """The scenario DSL and engine are pure: no third-party or service imports."""
    import sys

    for path in modules("flows"):
        for name in imports_of(path):
            top = name.split(".")[0]
            assert top in sys.stdlib_module_names or top == "flows", (path, name)


def _imports_devtools(names: set[str]) -> bool:
    return any(name == "devtools" or name.startswith("devtools.") for name in names)


def test_runtime_code_never_imports_dev_tools():
    """bot, handlers, flows, models and the worker never import devtools/; app.py only inside the app factory,
    behind the local-mode switch (the simulator), so production never loads it."""
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            assert not _imports_devtools(imports_of(path)), path
    assert not _imports_devtools(imports_of(ROOT / "worker.py"))
    tree = ast.parse((ROOT / "app.py").read_text())
    top_level = {
        alias.name if isinstance(node, ast.Import) else node.module
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (node.names if isinstance(node, ast.Import) else [node])
    }
    assert not _imports_devtools({name for name in top_level if name})


def test_every_job_named_by_a_string_resolves_to_a_function():
    """RQ takes jobs by dotted name: every "bot.…" string in the service names a function that exists (a module
    moved without its job names would fail only when the job ran), and so do the broadcast jobs' names."""
    import importlib

    def resolve(dotted: str) -> object:
        module, _, name = dotted.rpartition(".")
        return getattr(importlib.import_module(module), name)

    named = set()
    for package in ("bot", "handlers"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    parts = node.value.split(".")
                    if len(parts) > 2 and parts[0] == "bot" and all(p.isidentifier() for p in parts):
                        named.add(node.value)
    assert {"bot.jobs.tasks.tick", "bot.delivery.sending.send_deliveries"} <= named
    for dotted in sorted(named):
        assert callable(resolve(dotted)), dotted
    for job in ("count", "start", "watch"):
        assert callable(resolve(f"bot.delivery.broadcast_jobs.{job}_broadcast")), job
