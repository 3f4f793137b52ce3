"""The package's map: data flows one way, audio -> features -> models -> predictions -> pages and
CLI. Every import inside emotionet (at the top of a module or inside a function) may only reach the
same layer or an earlier one; the layers are the rows of the README's "How it works" table. Within
a layer, modules import each other without cycles."""

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGE = REPO / "emotionet"
LAYERS = [  # in the README's order; modules in one entry may import each other
    ["io"],
    ["features"],
    ["mood", "metrics"],
    ["listener"],
    ["models"],
    ["analysis"],
    ["predict", "batch"],
    ["training"],
    ["team"],
    ["library"],
    ["scale"],
    ["app", "cli", "team_cli", "demo", "__main__"],
]


def layer_of(module: str) -> int:
    """The layer of a dotted module below emotionet ("models.musicnn" -> the models layer)."""
    top = module.split(".")[0]
    for i, names in enumerate(LAYERS):
        if top in names:
            return i
    raise AssertionError(f"emotionet.{module} is in no layer: add it to LAYERS and the README's table")


def module_name(path: Path) -> tuple[str, str]:
    """(dotted module below emotionet, the package its relative imports start from)."""
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
        return ".".join(parts), ".".join(parts)
    return ".".join(parts), ".".join(parts[:-1])


def imported_modules(path: Path) -> set[str]:
    """The emotionet modules a file imports, relative to emotionet ("" for the package itself)."""
    _, package = module_name(path)
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".") if package else []
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                target = ".".join(base + ([node.module] if node.module else []))
            elif node.module and node.module.split(".")[0] == "emotionet":
                target = node.module.partition(".")[2]
            else:
                continue
            for alias in node.names:  # `from . import audio` imports the module emotionet.audio
                full = f"{target}.{alias.name}" if target else alias.name
                is_module = (PACKAGE / full.replace(".", "/")).with_suffix(".py").is_file() or (
                    PACKAGE / full.replace(".", "/") / "__init__.py"
                ).is_file()
                found.add(full if is_module else target)
        elif isinstance(node, ast.Import):
            found |= {a.name.partition(".")[2] for a in node.names if a.name.split(".")[0] == "emotionet"}
    return {m for m in found if m}


def test_no_module_imports_a_later_layer():
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 40
    backwards = []
    for path in files:
        module, _ = module_name(path)
        if not module:
            continue  # emotionet/__init__.py
        for target in imported_modules(path):
            if layer_of(target) > layer_of(module):
                backwards.append(f"emotionet.{module} imports emotionet.{target}")
    assert not backwards, "\n".join(backwards)


def import_graph() -> dict[str, set[str]]:
    """Every emotionet module -> the emotionet modules it imports (at the top or in a function)."""
    graph = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module, _ = module_name(path)
        if module:
            graph[module] = imported_modules(path)
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The cycles of a module graph: its strongly connected components of more than one module (or
    a module importing itself), each sorted (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, targets = work[-1]
            for target in targets:
                if target not in graph:
                    continue
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1 or node in graph[node]:
                        cycles.append(sorted(component))
    return cycles


def test_no_import_cycles():
    """No module imports itself through others, not even inside a function: each layer's modules
    form a one-way chain too (emotionet.io.audio -> emotionet.io.av_decode, never back)."""
    graph = import_graph()
    assert len(graph) > 40
    cycles = import_cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(f"emotionet.{m}" for m in c) for c in cycles)


def test_the_cycle_check_finds_cycles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a", "d"}, "e": {"x"}, "f": set()}
    assert sorted(import_cycles(graph)) == [["a", "b", "c"], ["d"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []


def test_the_check_sees_relative_lazy_and_absolute_imports(tmp_path):
    """The checker itself: each import form in a function body is resolved to its module."""
    assert imported_modules(PACKAGE / "predict.py") >= {"features", "io.audio", "models.checkpoints", "mood"}
    assert "models.pretrained" in imported_modules(PACKAGE / "predict.py")  # imported inside a method
    assert layer_of("models.musicnn") > layer_of("features") > layer_of("io.audio")


def test_the_networks_run_with_only_torch_and_numpy():
    """bench/gpu_musicnn.py --from runs musicnn on a lent GPU machine that has torch and numpy
    only: importing the models must not pull in the decoders (soundfile, soxr, PyAV), librosa,
    scipy or scikit-learn."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "for m in ('soundfile', 'soxr', 'av', 'librosa', 'scipy', 'sklearn'): sys.modules[m] = None\n"
        "import torch\n"
        "from emotionet.models import musicnn as mn\n"
        "nets = [mn.Musicnn(), mn.Musicnn()]\n"
        "out = mn.forward_together(nets, torch.rand(2, mn.PATCH_FRAMES, mn.N_MELS))\n"
        "print(tuple(out[1]['penultimate'].shape))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "(2, 200)", result.stderr[-1500:]


def test_every_package_init_only_names_its_public_api():
    """A package's __init__.py is its table of contents, under a page: imports, __all__ and at most a
    module __getattr__ that loads a name's module on first use; the code lives in the modules."""
    inits = sorted(PACKAGE.rglob("__init__.py"))
    assert len(inits) > 8
    crowded = []
    for path in inits:
        lines = len(path.read_text().splitlines())
        if lines >= 60:
            crowded.append(f"{path.relative_to(REPO)}: {lines} lines")
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.name == "__getattr__":
                continue
            if not isinstance(node, ast.Import | ast.ImportFrom | ast.Assign | ast.Expr):
                crowded.append(f"{path.relative_to(REPO)}:{node.lineno}: {type(node).__name__}")
    assert not crowded, "\n".join(crowded)


def test_the_model_card_and_the_model_names_load_without_torch():
    """The Results page and the model card read metrics.json and the model names: importing them
    loads neither torch nor the predictor, and the training names still resolve on demand."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from emotionet.training import model_card\n"
        "from emotionet.models import label, MODEL_ORDER\n"
        "print(sorted(m for m in ('torch', 'emotionet.predict', 'emotionet.training.loop') if m in sys.modules))\n"
        "from emotionet.training import TrainConfig, run_training\n"
        "print(TrainConfig.__module__, run_training.__module__, label('svr_all') != 'svr_all')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.stdout.split("\n")[:2] == [
        "[]",
        "emotionet.training.loop emotionet.training.run True",
    ], result.stderr[-1500:]


def test_a_name_no_package_defines_is_an_attribute_error():
    import emotionet.models
    import emotionet.training

    for package in (emotionet.models, emotionet.training):
        with pytest.raises(AttributeError, match="no attribute 'nothing'"):
            package.nothing  # noqa: B018


def test_the_shared_database_sits_below_every_layer_that_shares_it():
    """The library, the Ray scan, the app and the command line open the one database through
    io.database; none of them reaches into team/ for it (team.storage keeps only the team's audio
    store, and re-exports the database's names for older code)."""
    database = {"Base", "make_engine", "database_url", "DatabaseFileError", "check_sqlite_file", "SCHEMA_VERSION"}
    through_team = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module, _ = module_name(path)
        if module.split(".")[0] == "team":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("storage"):
                named = {a.name for a in node.names} & database
                if named:
                    through_team.append(f"emotionet.{module} imports {', '.join(sorted(named))} from team.storage")
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "storage"
                and node.attr in database
            ):
                through_team.append(f"emotionet.{module}:{node.lineno} uses storage.{node.attr}")
    assert not through_team, "\n".join(through_team)
    assert layer_of("io.database") < layer_of("team") < layer_of("library") < layer_of("scale") < layer_of("app")


def test_a_cold_servers_first_page_opens_the_database_without_torch_or_pandas(tmp_path):
    """Issue 31: the app's entry signs the visitor in (which opens the database, and so imports every
    table module) before the first page is drawn; importing torch there (the library's tables reached
    models.checkpoints for its default folder) kept a cold server's uploader off screen for 1.5 s.
    The model folder and its config are read without torch too: only reading or writing models loads it."""
    import os
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from emotionet.app import signin, uploads\n"
        "from emotionet.io import database\n"
        "database.make_engine().dispose()\n"
        "from emotionet.models import checkpoints\n"
        "checkpoints.read_config(checkpoints.checkpoint_dir())\n"
        "print(sorted(m for m in ('torch', 'pandas', 'emotionet.predict') if m in sys.modules))\n"
    )
    env = {**os.environ, "EMOTIONET_DATA_DIR": str(tmp_path)}
    env.pop("EMOTIONET_DB_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.stdout.strip().splitlines()[-1:] == ["[]"], result.stderr[-1500:]
