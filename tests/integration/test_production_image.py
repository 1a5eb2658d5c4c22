"""The production image carries only production code (docs/operations.md "Docker") and still runs.

No container runtime here, so the image is rebuilt as a folder: the files the Dockerfile's
production stage ends up with (its COPY lines, through the .dockerignore), run by this venv's
Python with nothing installed and moto and the demo package made unimportable. Its CMD serves the
health check, the app's entry point signs an admin in against a test catalog, the worker and the
CLI start, and demo mode is refused with one clear message.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import httpx
import pytest

from tests.conftest import create_database
from tests.e2e.server import free_port
from tests.polling import READY_SECONDS

ROOT = Path(__file__).resolve().parents[2]
STAGE = "production"
# What the production image must not carry or import.
ABSENT_MODULES = ("moto", "control_plane.demo", "control_plane.cli.demo")
# Loaded before anything else in every Python process of the rebuilt image: a module set to None in
# sys.modules cannot be imported, and importlib.util.find_spec() reports it missing.
SITECUSTOMIZE = "import sys\nfor _name in {names!r}:\n    sys.modules[_name] = None\n"
ADMIN_PASSWORD = "image-smoke-" + "3c5e7a9b1d2f4"


@dataclass
class Stage:
    name: str
    parent: str
    instructions: list[tuple[str, str]] = field(default_factory=list)


def parse_dockerfile(text: str) -> dict[str, Stage]:
    stages: dict[str, Stage] = {}
    current: Stage | None = None
    for raw in re.sub(r"\\\n", " ", text).splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            parent, _, name = rest.partition(" AS ")
            current = Stage(name.strip(), parent.strip())
            stages[current.name] = current
            continue
        current.instructions.append((keyword, rest.strip()))
    return stages


def lineage(stages: dict[str, Stage], name: str) -> list[Stage]:
    chain = []
    while name in stages:
        chain.insert(0, stages[name])
        name = stages[name].parent
    return chain


def dockerignore_patterns() -> list[re.Pattern]:
    patterns = []
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        line = raw.strip().strip("/")
        if not line or line.startswith("#"):
            continue
        assert not line.startswith("!"), "exceptions in .dockerignore: teach this test about them"
        regex = re.escape(line).replace(r"\*\*/", "(?:.*/)?").replace(r"\*\*", ".*").replace(r"\*", "[^/]*")
        patterns.append(re.compile(regex.replace(r"\?", "[^/]") + "$"))
    return patterns


def ignored(relative: PurePosixPath, patterns: list[re.Pattern]) -> bool:
    parts = relative.parts
    return any(p.match("/".join(parts[:i])) for p in patterns for i in range(1, len(parts) + 1))


def copy_from_context(source: str, target: Path, into_folder: bool, patterns: list[re.Pattern]) -> None:
    """COPY semantics: a folder's contents go into the target; a file goes into it when the target is
    a folder (ends with /, or is .), else becomes it."""
    origin = ROOT / source
    assert origin.exists(), f"COPY {source}: no such file in the build context"
    if origin.is_file():
        pairs = [(origin, target / origin.name if into_folder else target)]
    else:
        pairs = [(p, target / p.relative_to(origin)) for p in sorted(origin.rglob("*")) if p.is_file()]
    for path, destination in pairs:
        if ignored(PurePosixPath(path.relative_to(ROOT).as_posix()), patterns):
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)


def build_filesystem(stages: dict[str, Stage], name: str, root: Path) -> list[str]:
    """Lay out stage `name`'s files under `root` (a path P of the image is root/P); returns the
    requirement files its `pip install -r` lines installed."""
    patterns = dockerignore_patterns()
    installed = []
    workdir = "/"  # a stage starts in its parent's WORKDIR
    for stage in lineage(stages, name):
        for keyword, rest in stage.instructions:
            if keyword == "WORKDIR":
                workdir = rest
                (root / rest.lstrip("/")).mkdir(parents=True, exist_ok=True)
            elif keyword == "COPY":
                args = shlex.split(rest)
                flags = [a for a in args if a.startswith("--")]
                *sources, destination = [a for a in args if not a.startswith("--")]
                target = root / PurePosixPath(workdir, destination).as_posix().lstrip("/")
                origin_stage = next((f.split("=", 1)[1] for f in flags if f.startswith("--from=")), None)
                if origin_stage is not None:  # another stage's files: lay that stage out, take the path
                    other = root.parent / f"stage-{origin_stage}"
                    build_filesystem(stages, origin_stage, other)
                    for source in sources:
                        shutil.copytree(other / source.lstrip("/"), target, dirs_exist_ok=True)
                    continue
                into_folder = destination.endswith("/") or destination in {".", "./"} or len(sources) > 1
                for source in sources:
                    copy_from_context(source, target, into_folder, patterns)
            elif keyword == "RUN" and rest.startswith("rm -r "):
                for victim in rest.removeprefix("rm -r ").split():
                    path = root / PurePosixPath(workdir, victim).as_posix().lstrip("/")
                    if path.is_dir():
                        shutil.rmtree(path)
                    else:
                        path.unlink()
            elif keyword == "RUN":
                installed += re.findall(r"pip install -r (\S+)", rest)
                assert "apt-get" in rest or "pip install" in rest, f"teach this test about RUN {rest}"
    return installed


def requirement_lines(name: str) -> list[str]:
    lines = []
    for raw in (ROOT / name).read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("-r "):
            lines += requirement_lines(line[3:].strip())
        elif line:
            lines.append(line)
    return lines


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> tuple[Path, dict[str, Stage]]:
    """The production image's /app, and the parsed Dockerfile."""
    stages = parse_dockerfile((ROOT / "Dockerfile").read_text())
    assert STAGE in stages and list(stages)[-1] == STAGE, "production is the Dockerfile's default (last) stage"
    root = tmp_path_factory.mktemp("image") / f"stage-{STAGE}"
    installed = build_filesystem(stages, STAGE, root)
    assert installed == ["requirements.txt"], installed
    (root / "app" / "_smoke_site").mkdir()
    (root / "app" / "_smoke_site" / "sitecustomize.py").write_text(SITECUSTOMIZE.format(names=ABSENT_MODULES))
    return root / "app", stages


@pytest.fixture(scope="module")
def image_catalog(pg_server) -> str:
    return pg_server.url(create_database(pg_server, "cp_image"))


def image_env(app: Path, catalog: str, **extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("CP_", "AWS_", "DATABASE_URL", "PYTHON"))}
    return {**keep, "PYTHONPATH": str(app / "_smoke_site"), "DATABASE_URL": catalog,
            "CP_SESSION_SECRET": "image-smoke-" + "9d4b7e1a3c6f0b2e8a5d1c7f3e9b", "CP_DATA_DIR": str(app / ".data"),
            "HOME": str(app), **extra}


def run_in_image(app: Path, env: dict[str, str], *argv: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *argv], cwd=app, env=env, input=stdin, capture_output=True, text=True,
                          timeout=READY_SECONDS * 2, check=False)


def test_the_production_stage_carries_no_demo_and_no_moto(image):
    app, _ = image
    assert (app / "streamlit_app.py").is_file() and (app / "jobs" / "__main__.py").is_file()
    assert (app / "control_plane" / "migrations").is_dir() and (app / ".streamlit" / "config.toml").is_file()
    assert not (app / "control_plane" / "demo").exists() and not (app / "control_plane" / "cli" / "demo.py").exists()
    assert not [p for p in app.rglob("*") if p.name in {"tests", "bench", ".venv", "__pycache__"}]
    assert not [line for line in requirement_lines("requirements.txt") if line.lower().startswith("moto")]
    assert any(line.startswith("moto") for line in requirement_lines("requirements-demo.txt"))


def test_the_image_runs_without_demo_or_moto(image, image_catalog):
    app, _ = image
    env = image_env(app, image_catalog)
    probe = run_in_image(app, env, "-c", textwrap.dedent("""
        import importlib.util, control_plane
        from control_plane import demo_package
        print(control_plane.__file__)
        print(importlib.util.find_spec("moto"), demo_package.installed())
    """))
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.splitlines() == [str(app / "control_plane" / "__init__.py"), "None False"]

    help_text = run_in_image(app, env, "-m", "control_plane", "--help")
    assert help_text.returncode == 0 and "tenants" in help_text.stdout and "demo" not in help_text.stdout
    added = run_in_image(app, env, "-m", "control_plane", "users", "add", "alice", "--role", "admin",
                         "--password-stdin", stdin=ADMIN_PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    listed = run_in_image(app, env, "-m", "control_plane", "tenants", "list", "--format", "json")
    assert listed.returncode == 0 and json.loads(listed.stdout) == [], listed.stderr
    jobs = run_in_image(app, env, "-m", "jobs", "list")
    assert jobs.returncode == 0 and "health_sweep" in jobs.stdout, jobs.stderr


APP_SCRIPT = """
from streamlit.testing.v1 import AppTest
at = AppTest.from_file("streamlit_app.py", default_timeout={timeout}).run()
if {password!r}:
    at.text_input(key="signin_username").input("alice")
    at.text_input(key="signin_password").input({password!r})
    at = at.button[0].click().run()
print("EXCEPTIONS", [e.message for e in at.exception])
print("TITLES", [t.value for t in at.title])
print("ERRORS", [e.value for e in at.error])
"""


def run_app_once(app: Path, env: dict[str, str], password: str = "") -> dict[str, str]:
    done = run_in_image(app, env, "-c", APP_SCRIPT.format(timeout=READY_SECONDS, password=password))
    assert done.returncode == 0, done.stdout + done.stderr
    return {line.split(" ", 1)[0]: line.split(" ", 1)[1] for line in done.stdout.splitlines()
            if line.startswith(("EXCEPTIONS", "TITLES", "ERRORS"))}


def test_the_entry_point_signs_an_admin_in(image, image_catalog):
    app, _ = image
    env = image_env(app, image_catalog)
    run_in_image(app, env, "-m", "control_plane", "users", "add", "alice", "--role", "admin",
                 "--password-stdin", stdin=ADMIN_PASSWORD + "\n")  # exists already when the test above ran
    shown = run_app_once(app, env, password=ADMIN_PASSWORD)
    assert shown["EXCEPTIONS"] == "[]" and shown["ERRORS"] == "[]", shown
    assert "Overview" in shown["TITLES"], shown


def test_demo_mode_is_refused_with_one_message(image, image_catalog):
    app, _ = image
    shown = run_app_once(app, image_env(app, image_catalog, CP_DEMO="true"))
    assert "Control Plane cannot start" in shown["TITLES"], shown
    assert "needs the demo package" in shown["ERRORS"], shown
    seed = run_in_image(app, image_env(app, image_catalog), "-m", "control_plane", "demo", "seed")
    assert seed.returncode == 2 and "invalid choice: 'demo'" in seed.stderr, seed.stderr


def test_the_image_command_serves_the_health_check(image, image_catalog):
    app, stages = image
    command = next(json.loads(rest) for stage in reversed(lineage(stages, STAGE))
                   for keyword, rest in stage.instructions if keyword == "CMD")
    health = next(rest for stage in lineage(stages, STAGE) for keyword, rest in stage.instructions
                  if keyword == "HEALTHCHECK")
    health_path = re.search(r"http://127\.0\.0\.1:8501(/[^\"\s]+)", health).group(1)
    assert command[:2] == ["streamlit", "run"]
    port = free_port()
    local = {"--server.address": "--server.address=127.0.0.1", "--server.port": f"--server.port={port}"}
    argv = [local.get(arg.split("=", 1)[0], arg) for arg in command[1:]]
    assert f"--server.port={port}" in argv and "--server.address=127.0.0.1" in argv
    log = app.parent / "streamlit.log"
    with open(log, "wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "streamlit", *argv], cwd=app, stdout=out,
                                  stderr=subprocess.STDOUT, env=image_env(app, image_catalog))
    try:
        deadline = time.monotonic() + READY_SECONDS
        status = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}{health_path}", timeout=2).status_code
            except httpx.HTTPError:
                status = None
            if status == 200:
                break
            time.sleep(0.3)
        assert status == 200, log.read_text(errors="replace")[-3000:]
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert page.status_code == 200 and "<html" in page.text.lower()
    finally:
        server.terminate()
        server.wait(timeout=30)
