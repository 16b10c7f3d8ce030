"""The LocalStack setup, checked offline (no Docker here or in CI).

What docs/localstack.md promises must be what localstack/docker-compose.yml, the init hook and
tests/localstack actually do: the compose file's services, ports and mounts; a hook that is an
executable bash script running a bootstrap module and flags that exist, installing everything that
bootstrap imports; a healthcheck that turns healthy only once the hook succeeded; endpoints that
localstack_client resolves to the published port. The hook itself runs here against moto, which
answers the same AWS APIs LocalStack does.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from localstack_client import config as localstack_config
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from chalicelib import declarations, resources  # noqa: F401  (declarations fill the registry)
from chalicelib.config import Settings
from tests.localstack import conftest as suite

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "localstack" / "docker-compose.yml"
HOOK = ROOT / "localstack" / "init" / "ready.d" / "10-bootstrap.sh"
DOCS = ROOT / "docs" / "localstack.md"
LOCALSTACK_TARGET = "/etc/localstack/init/ready.d"
# The services docs/localstack.md lists; lambda is deliberately absent (the local cloud runs handlers).
DOCUMENTED_SERVICES = {"dynamodb", "dynamodbstreams", "sqs", "events", "opensearch", "ses", "secretsmanager"}
# compose SP_* variable -> the host variable it forwards, which the app reads under that name too.
FORWARDED = {
    "SP_STAGE": "STAGE",
    "SP_RESOURCE_PREFIX": "RESOURCE_PREFIX",
    "SP_AWS_REGION": "AWS_REGION",
    "SP_MAIL_FROM": "MAIL_FROM",
    "SP_DECLARATIONS": "DEVSTACK_DECLARATIONS",
}
INTERPOLATION = re.compile(r"^\$\{(?P<name>[A-Z_][A-Z0-9_]*):-(?P<default>[^}]*)\}$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def hook_text() -> str:
    return HOOK.read_text(encoding="utf-8")


def published(service: dict[str, Any]) -> dict[int, tuple[str, int]]:
    """Container port -> (host ip, host port) from compose's short port syntax."""
    ports = {}
    for entry in service["ports"]:
        *host, container = str(entry).split(":")
        ip = host[0] if len(host) == 2 else ""
        ports[int(container)] = (ip, int(host[-1]))
    return ports


def volumes(service: dict[str, Any]) -> dict[str, tuple[Path, str]]:
    """Container path -> (host path resolved like compose does, mode)."""
    mounts = {}
    for entry in service["volumes"]:
        source, target, *mode = entry.split(":")
        mounts[target] = ((COMPOSE.parent / source).resolve(), mode[0] if mode else "rw")
    return mounts


# --- the compose file ------------------------------------------------------------------------


def test_compose_runs_a_pinned_localstack_with_the_documented_services(compose: dict[str, Any]) -> None:
    localstack = compose["services"]["localstack"]
    assert re.fullmatch(r"localstack/localstack:\d+\.\d+\.\d+", localstack["image"]), "pin an exact release"
    services = set(localstack["environment"]["SERVICES"].split(","))
    assert services == DOCUMENTED_SERVICES
    assert set(suite.SERVICES) <= services, "the LocalStack suite calls a service compose does not start"
    assert published(localstack)[4566] == ("127.0.0.1", 4566)
    assert "healthcheck" in localstack


def test_compose_runs_redis_7_on_its_default_port(compose: dict[str, Any]) -> None:
    redis = compose["services"]["redis"]
    assert re.fullmatch(r"redis:7(\.\d+)*-alpine", redis["image"])
    assert published(redis)[6379] == ("127.0.0.1", 6379)
    # The app's default REDIS_URL then reaches it with no configuration.
    assert Settings.from_env({}).redis_url == "redis://127.0.0.1:6379/0"


def test_compose_mounts_the_repository_read_only_and_the_hook_directory(compose: dict[str, Any]) -> None:
    localstack = compose["services"]["localstack"]
    mounts = volumes(localstack)
    project_dir = localstack["environment"]["SP_PROJECT_DIR"]
    assert mounts[project_dir] == (ROOT, "ro")
    assert mounts[LOCALSTACK_TARGET] == (HOOK.parent, "ro")


def test_compose_forwards_settings_with_the_apps_own_defaults(compose: dict[str, Any]) -> None:
    environment = compose["services"]["localstack"]["environment"]
    host_env = {}
    for variable, host_variable in FORWARDED.items():
        match = INTERPOLATION.match(environment[variable])
        assert match, f"{variable} should be ${{{host_variable}:-default}}, is {environment[variable]!r}"
        assert match["name"] == host_variable
        host_env[host_variable] = match["default"]
    # The hook then names every resource as the host's `make bootstrap` and the tests do.
    assert Settings.from_env(host_env) == Settings.from_env({})


def test_every_variable_compose_hands_the_hook_is_read_by_it(compose: dict[str, Any]) -> None:
    handed = {name for name in compose["services"]["localstack"]["environment"] if name.startswith("SP_")}
    read = set(re.findall(r"\$\{(SP_[A-Z_]+)", hook_text()))
    assert handed <= read, f"set in compose, ignored by the hook: {handed - read}"


def test_the_makefile_starts_this_compose_file_and_tests_against_its_port(compose: dict[str, Any]) -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert f"-f {COMPOSE.relative_to(ROOT)}" in makefile
    default = re.search(r"AWS_ENDPOINT_URL=\$\$\{AWS_ENDPOINT_URL:-(?P<url>[^}]+)\}", makefile)
    assert default, "make localstack-test should default AWS_ENDPOINT_URL"
    assert default["url"] == f"http://localhost:{published(compose['services']['localstack'])[4566][1]}"


# --- the healthcheck -------------------------------------------------------------------------


class InitReadyServer:
    """Answers GET /_localstack/init/ready with whatever `ready` holds, like LocalStack does."""

    def __init__(self) -> None:
        self.ready: dict[str, Any] = {}
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                found = self.path == "/_localstack/init/ready"
                body = json.dumps(owner.ready if found else {}).encode()
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def init_ready() -> Iterator[InitReadyServer]:
    server = InitReadyServer()
    yield server
    server.close()


def run_healthcheck(compose: dict[str, Any], url: str) -> int:
    kind, interpreter, flag, script = compose["services"]["localstack"]["healthcheck"]["test"]
    assert (kind, interpreter, flag) == ("CMD", "python3", "-c")
    assert script.count("http://localhost:4566") == 1
    script = script.replace("http://localhost:4566", url)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=30).returncode


def script(state: str, name: str = HOOK.name) -> dict[str, str]:
    return {"stage": "READY", "name": name, "state": state}


@pytest.mark.parametrize(
    ("ready", "healthy"),
    [
        ({"completed": True, "scripts": [script("SUCCESSFUL")]}, True),
        ({"completed": True, "scripts": [script("SUCCESSFUL", "05-other.sh"), script("SUCCESSFUL")]}, True),
        ({"completed": True, "scripts": [script("ERROR")]}, False),
        ({"completed": False, "scripts": [script("RUNNING")]}, False),
        ({"completed": False, "scripts": [script("UNKNOWN")]}, False),
        ({"completed": True, "scripts": [script("SUCCESSFUL", "05-other.sh")]}, False),
        ({"completed": True, "scripts": []}, False),
    ],
    ids=["succeeded", "with-others", "failed", "running", "not-started", "hook-not-mounted", "no-scripts"],
)
def test_healthcheck_is_healthy_only_once_the_hook_succeeded(
    compose: dict[str, Any], init_ready: InitReadyServer, ready: dict[str, Any], healthy: bool
) -> None:
    init_ready.ready = ready
    assert (run_healthcheck(compose, init_ready.url) == 0) is healthy


def test_healthcheck_is_unhealthy_while_localstack_does_not_answer(compose: dict[str, Any]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert run_healthcheck(compose, f"http://127.0.0.1:{port}") != 0


# --- the init hook ---------------------------------------------------------------------------


def test_hook_is_an_executable_strict_bash_script() -> None:
    text = hook_text()
    assert text.startswith("#!/usr/bin/env bash\n"), "LocalStack runs .sh hooks by their shebang"
    assert "\nset -euo pipefail\n" in text
    assert HOOK.stat().st_mode & stat.S_IXUSR, "LocalStack skips a hook that is not executable: chmod +x"
    assert subprocess.run(["bash", "-n", str(HOOK)], capture_output=True).returncode == 0


def test_hook_is_executable_in_git_too() -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    listed = subprocess.run(
        ["git", "ls-files", "--stage", str(HOOK.relative_to(ROOT))], cwd=ROOT, capture_output=True, text=True
    )
    if listed.returncode != 0 or not listed.stdout:
        pytest.skip("the hook is not tracked by git yet")
    assert listed.stdout.split()[0] == "100755", "git add --chmod=+x localstack/init/ready.d/10-bootstrap.sh"


def test_hook_runs_a_bootstrap_module_with_flags_it_accepts(capsys: pytest.CaptureFixture[str]) -> None:
    args_lines = [line for line in hook_text().splitlines() if re.match(r"\s*args\+?=", line)]
    module = re.search(r"-m ([\w.]+)", " ".join(args_lines))
    assert module, "the hook should run the bootstrap as `python -m <module>`"
    flags = set(re.findall(r"(--[a-z][a-z-]*)", " ".join(args_lines)))
    assert flags >= {"--no-search", "--declarations"}

    bootstrap = importlib.import_module(module[1])
    with pytest.raises(SystemExit) as exited:
        bootstrap.main(["--help"])
    assert exited.value.code == 0
    usage = capsys.readouterr().out
    assert {flag for flag in flags if flag not in usage} == set()


def test_hook_takes_its_pins_from_the_requirements_files() -> None:
    text = hook_text()
    assert re.search(r"\^boto3==", text) and "requirements-dev.txt" in text
    assert re.search(r"^boto3==\S+$", (ROOT / "requirements-dev.txt").read_text(encoding="utf-8"), re.M)
    assert '-r "$project_dir/requirements.txt"' in text


def stand_in_python(directory: Path, program: str) -> Path:
    """An interpreter for SP_BOOTSTRAP_PYTHON: `-c` checks run for real; `-m <module>` runs `program`."""
    (directory / "program.py").write_text(program, encoding="utf-8")
    stub = directory / "python"
    stub.write_text(
        "#!/usr/bin/env bash\n"
        f'if [[ $1 == -m ]]; then exec "{sys.executable}" "{directory / "program.py"}" "$@"; fi\n'
        f'exec "{sys.executable}" "$@"\n',
        encoding="utf-8",
    )
    stub.chmod(0o755)
    return stub


RECORD_INVOCATION = """
import json, os, sys
json.dump({"argv": sys.argv[1:], "cwd": os.getcwd(), "env": dict(os.environ)}, open(%r, "w"))
"""

# Runs the module as `python -m` would, then appends the names of every module it loaded.
TRACE_IMPORTS = """
import atexit, json, runpy, sys
atexit.register(lambda: open(%r, "a").write(json.dumps(sorted(sys.modules)) + "\\n"))
sys.argv = sys.argv[2:]
runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
"""


def test_hook_passes_declarations_and_a_clean_environment(tmp_path: Path) -> None:
    record = tmp_path / "invocation.json"
    stub = stand_in_python(tmp_path, RECORD_INVOCATION % str(record))
    env = {
        "PATH": os.environ["PATH"],
        "SP_PROJECT_DIR": str(ROOT),
        "SP_BOOTSTRAP_PYTHON": str(stub),
        "SP_STAGE": "test",
        "SP_RESOURCE_PREFIX": "acme",
        "SP_AWS_REGION": "eu-west-1",
        "SP_MAIL_FROM": "ops@example.test",
        "SP_DECLARATIONS": " first.module, second.module ,,",
        # LocalStack's own environment, which must not reach the app's Settings.
        "OPENSEARCH_URL": "http://leaked:9200",
        "STAGE": "prod",
    }
    finished = subprocess.run([str(HOOK)], env=env, capture_output=True, text=True, timeout=60)
    assert finished.returncode == 0, finished.stdout + finished.stderr

    invocation = json.loads(record.read_text(encoding="utf-8"))
    assert invocation["argv"] == [
        "-m",
        "devstack.bootstrap",
        "--no-search",
        "--declarations",
        "first.module",
        "second.module",
    ]
    assert Path(invocation["cwd"]) == ROOT
    seen = invocation["env"]
    assert "OPENSEARCH_URL" not in seen
    forwarded = ("STAGE", "RESOURCE_PREFIX", "AWS_REGION", "MAIL_FROM", "AWS_ENDPOINT_URL", "PYTHONPATH")
    assert {k: seen[k] for k in forwarded} == {
        "STAGE": "test",
        "RESOURCE_PREFIX": "acme",
        "AWS_REGION": "eu-west-1",
        "MAIL_FROM": "ops@example.test",
        "AWS_ENDPOINT_URL": "http://localhost:4566",
        "PYTHONPATH": str(ROOT),
    }
    assert seen["AWS_ACCESS_KEY_ID"] == suite.CREDENTIALS["AWS_ACCESS_KEY_ID"], "hook and suite share an account"
    assert "[sp-bootstrap] done" in finished.stdout


def test_hook_fails_loudly_without_the_project() -> None:
    env = {"PATH": os.environ["PATH"], "SP_PROJECT_DIR": str(ROOT / "no-such-dir")}
    finished = subprocess.run([str(HOOK)], env=env, capture_output=True, text=True, timeout=60)
    assert finished.returncode != 0
    assert "is the repository mounted?" in finished.stdout


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@dataclass
class HookRun:
    process: subprocess.CompletedProcess
    # Top-level names of the modules the bootstrap had loaded when it exited.
    modules: set[str]


@pytest.fixture(scope="module")
def hook_runs(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> list[HookRun]:
    """The hook run twice against moto, its interpreter reporting every module the bootstrap loads."""
    directory = tmp_path_factory.mktemp("hook")
    record = directory / "modules.jsonl"
    env = {
        "PATH": os.environ["PATH"],
        "SP_PROJECT_DIR": str(ROOT),
        "SP_BOOTSTRAP_PYTHON": str(stand_in_python(directory, TRACE_IMPORTS % str(record))),
        "SP_BOOTSTRAP_ENDPOINT": moto_endpoint,
    }
    processes = [subprocess.run([str(HOOK)], env=env, capture_output=True, text=True, timeout=120) for _ in range(2)]
    loaded = [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()]
    return [HookRun(p, {name.split(".")[0] for name in names}) for p, names in zip(processes, loaded, strict=True)]


def described(run: HookRun) -> dict[str, Any]:
    """The bootstrap's JSON between the hook's own log lines."""
    lines = [line for line in run.process.stdout.splitlines() if not line.startswith("[sp-bootstrap]")]
    return json.loads("\n".join(lines))


def test_hook_bootstraps_every_declared_resource_and_a_rerun_changes_nothing(hook_runs: list[HookRun]) -> None:
    first, second = hook_runs
    for run in hook_runs:
        assert run.process.returncode == 0, run.process.stdout + run.process.stderr[-4000:]
    result = described(first)
    assert set(result["tables"]) == set(resources.TABLES)
    assert set(result["queues"]) == set(resources.QUEUES)
    assert set(result["event_buses"]) == set(resources.EVENT_BUSES)
    assert set(result["secrets"]) == set(resources.SECRETS)
    assert result["search_indexes"] == {}, "--no-search: LocalStack has no OpenSearch domain by default"
    for key, spec in resources.QUEUES.items():
        assert ("dlq_arn" in result["queues"][key]) is spec.dead_letter, key
    assert described(second) == result


def distributions_closure(requirements: list[str]) -> set[str]:
    """Every distribution that installing `requirements` brings, read from the installed metadata."""
    seen: set[str] = set()
    pending = [Requirement(line) for line in requirements]
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        try:
            dependencies = importlib.metadata.requires(requirement.name) or []
        except importlib.metadata.PackageNotFoundError:
            continue  # not installed here, so nothing of it can have been imported either
        for extra in [*requirement.extras, ""]:
            for dependency in dependencies:
                parsed = Requirement(dependency)
                if parsed.marker is None or parsed.marker.evaluate({"extra": extra}):
                    pending.append(parsed)
    return seen


def test_the_hook_installs_everything_the_bootstrap_imports(hook_runs: list[HookRun]) -> None:
    # The first run is the one that creates, so it loads the most (a secret's generator, say).
    baseline = subprocess.run(
        [sys.executable, "-c", "import json, sys; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    )
    started_with = {name.split(".")[0] for name in json.loads(baseline.stdout)}
    own = {"chalicelib", "devstack", "__main__"}
    third_party = hook_runs[0].modules - started_with - set(sys.stdlib_module_names) - own

    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    pinned = [line.split("#")[0].strip() for line in lines if line.strip() and not line.lstrip().startswith(("#", "-"))]
    boto3_pin = re.search(r"^boto3==\S+$", (ROOT / "requirements-dev.txt").read_text(encoding="utf-8"), re.M)
    assert boto3_pin
    installed = distributions_closure([*pinned, boto3_pin[0]])

    owners = importlib.metadata.packages_distributions()
    # A name no distribution owns is an alias an extension registers (cryptography's _openssl) or
    # runpy's __mp_main__: nothing to install for it.
    uncovered = {
        module: owners[module]
        for module in sorted(third_party)
        if module in owners and not {canonicalize_name(d) for d in owners[module]} & installed
    }
    assert not uncovered, (
        f"the bootstrap imports {uncovered} (module: distributions), which the hook does not install: "
        "chalicelib code belongs in the Lambda package, so pin them in requirements.txt"
    )


# --- the suite's endpoints -------------------------------------------------------------------


def test_localstack_client_resolves_the_suite_endpoints_to_the_published_port(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, port = published(compose["services"]["localstack"])[4566]
    for name in ("AWS_ENDPOINT_URL", "LOCALSTACK_HOST", "USE_SSL"):
        monkeypatch.delenv(name, raising=False)
    assert {localstack_config.get_service_endpoint(s) for s in suite.SERVICES} == {f"http://localhost:{port}"}
    # ...but the suite still refuses to run: the app's Settings would point at real AWS.
    assert suite.edge_endpoint() is None

    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    assert {localstack_config.get_service_endpoint(s) for s in suite.SERVICES} == {f"http://127.0.0.1:{port}"}
    assert suite.edge_endpoint() == f"http://127.0.0.1:{port}"


@pytest.fixture
def fresh_reason() -> Iterator[None]:
    suite.unavailable_reason.cache_clear()
    yield
    suite.unavailable_reason.cache_clear()


@pytest.mark.usefixtures("fresh_reason")
def test_the_suite_skips_with_a_reason_unless_localstack_answers(
    monkeypatch: pytest.MonkeyPatch, init_ready: InitReadyServer
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    assert "AWS_ENDPOINT_URL is not set" in (suite.unavailable_reason() or "")

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    suite.unavailable_reason.cache_clear()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    assert "not reachable" in (suite.unavailable_reason() or "")

    # Something that speaks HTTP but is not LocalStack (a stray moto, a real endpoint).
    suite.unavailable_reason.cache_clear()
    monkeypatch.setenv("AWS_ENDPOINT_URL", init_ready.url)
    assert "not as LocalStack" in (suite.unavailable_reason() or "")


# --- the documentation -----------------------------------------------------------------------


def test_the_docs_describe_what_the_files_do(compose: dict[str, Any]) -> None:
    docs = DOCS.read_text(encoding="utf-8")
    for promised in (
        compose["services"]["localstack"]["image"],
        "make localstack-up",
        "make bootstrap",
        "make localstack-test",
        "4566",
        "6379",
        HOOK.name,
        "LOCALSTACK_AUTH_TOKEN",
        "OPENSEARCH_URL",
        f"SERVICES={compose['services']['localstack']['environment']['SERVICES']}",
    ):
        assert promised in docs, f"docs/localstack.md does not mention {promised}"
