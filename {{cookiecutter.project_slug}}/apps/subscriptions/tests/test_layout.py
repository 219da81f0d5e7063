"""Imports in apps/subscriptions run one way: views -> services -> selectors -> models.

See docs: each module sits in a layer and imports only from its own layer or the
ones below, so reads never call services and services never reach for a view.
"""

import ast
from pathlib import Path

import pytest

APP_DIR = Path(__file__).resolve().parent.parent
PACKAGE = "apps.subscriptions"
LAYERS = {
    "metadata": 0,
    "money": 0,
    "price_math": 0,
    "stripe_data": 0,
    "stripe_client": 0,
    "run_locks": 0,
    "signals": 0,
    "models": 1,
    "selectors": 2,
    "discounts": 2,
    "history": 2,
    "subscribers": 2,
    "checkout": 3,
    "portal": 3,
    "linking": 3,
    "duplicates": 3,
    "sync": 3,
    "catalogue": 3,
    "demo_catalogue": 3,
    "webhook_endpoints": 3,
    "transitions": 3,
    "invoice_events": 3,
    "lifecycle": 3,
    "coupons": 3,
    "reconcile": 3,
    "pending_webhooks": 3,
    "customer_emails": 3,
    "wallet": 3,
    "purchases": 3,
    "refunds": 3,
    "views": 4,
    "decorators": 4,
    "webhooks": 4,
    "webhook_view": 4,
    "webhook_urls": 4,
    "payment_webhooks": 4,
    "tasks": 4,
    "email_tasks": 4,
    "checks": 4,
    "urls": 4,
    "public_urls": 4,
    "apps": 4,
    "admin": 4,
    "receivers": 4,
    "commands": 4,
}


def module_name(path: Path) -> str:
    if "commands" in path.parts:
        return "commands"
    return path.stem


def app_modules():
    for path in sorted(APP_DIR.rglob("*.py")):
        relative = path.relative_to(APP_DIR)
        if relative.parts[0] in ("tests", "migrations") or path.stem == "__init__":
            continue
        yield path


def imported_modules(path: Path) -> set[str]:
    """The modules of this app that `path` imports (relative or absolute)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                names = [node.module] if node.module else [a.name for a in node.names]
            elif (node.module or "").startswith(PACKAGE + "."):
                names = [node.module.removeprefix(PACKAGE + ".")]
            elif node.module == PACKAGE:
                names = [alias.name for alias in node.names]
            else:
                continue
        elif isinstance(node, ast.Import):
            names = [
                alias.name.removeprefix(PACKAGE + ".")
                for alias in node.names
                if alias.name.startswith(PACKAGE + ".")
            ]
        else:
            continue
        found.update(name.split(".")[0] for name in names)
    return found


def site_apps_imported(path: Path) -> set[str]:
    """The packages under apps/ that `path` imports, by either form of import."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and not node.level:
            found.add(node.module or "")
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name == "apps" or name.startswith("apps.")}


def test_every_module_has_a_layer():
    unplaced = {module_name(path) for path in app_modules()} - set(LAYERS)
    assert not unplaced


@pytest.mark.parametrize("path", list(app_modules()), ids=lambda p: p.stem)
def test_imports_run_down_the_layers(path):
    layer = LAYERS[module_name(path)]
    upward = sorted(
        name
        for name in imported_modules(path)
        if name in LAYERS and LAYERS[name] > layer
    )
    assert not upward, f"{path.name} (layer {layer}) imports {upward}"


def test_the_app_imports_no_other_app_of_the_site():
    # The subscriber's app is reached through its billing adapter (a setting).
    for path in app_modules():
        for name in site_apps_imported(path):
            assert name.startswith(PACKAGE), f"{path.name}: {name}"


def test_plain_imports_count_too(tmp_path):
    module = tmp_path / "example.py"
    module.write_text("import apps.subscriptions.views\nimport apps.web.models\n")
    assert imported_modules(module) == {"views"}
    assert site_apps_imported(module) == {
        "apps.subscriptions.views",
        "apps.web.models",
    }
