"""Which Dagster instance a command records its runs in: one per project.

The UI is where this project's users look, so a run started from the CLI must
land in the same instance ``dagster dev`` / ``dg dev`` read. The rule, in order:

1. ``DAGSTER_HOME`` set: that instance (Dagster's own rule; a deployment wins).
2. ``--ephemeral`` asked for: a throw-away in-memory instance (CI, scratch runs).
3. A ``dagster.yaml`` in the folder the command runs from (the project root):
   that configuration, whose storage lives under ``.dagster/`` there. This is
   exactly what ``dagster dev`` does when started in that folder without
   ``DAGSTER_HOME`` (it reads ``./dagster.yaml``), so both see the same runs.
4. Otherwise a throw-away instance, and the summary says the run was not kept.

:func:`choose_instance` decides without importing Dagster (the CLI can show the
choice cheaply); :func:`open_instance` opens it.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from egregora_pipeline.errors import SettingsError

if TYPE_CHECKING:
    import dagster as dg

PROJECT_INSTANCE_CONFIG = "dagster.yaml"
"""The project's instance settings, beside ``workspace.yaml`` at the project root."""

PROJECT_INSTANCE_DIR = ".dagster"
"""Where the project instance keeps what ``dagster.yaml`` does not place itself."""

_OPEN_TIMEOUT_SECONDS = 120
"""How long a command waits for another one that is creating the instance's storage."""

InstanceKind = Literal["dagster_home", "project", "ephemeral"]


@dataclass(frozen=True)
class InstanceChoice:
    """The instance a run goes to, and why (printed in the CLI summary)."""

    kind: InstanceKind
    location: Path | None
    reason: str

    @property
    def persistent(self) -> bool:
        return self.kind != "ephemeral"


def choose_instance(
    *, ephemeral: bool = False, cwd: Path | None = None, environ: Mapping[str, str] | None = None
) -> InstanceChoice:
    """Pick the instance by the module's rule; raise :class:`SettingsError` on a bad home."""
    env = os.environ if environ is None else environ
    folder = Path.cwd() if cwd is None else cwd
    home = env.get("DAGSTER_HOME")
    if home:
        path = Path(home).expanduser()
        if not path.is_absolute() or not path.is_dir():
            raise SettingsError("DAGSTER_HOME", home, "an absolute path to an existing folder")
        return InstanceChoice("dagster_home", path, f"DAGSTER_HOME={path}")
    if ephemeral:
        return InstanceChoice("ephemeral", None, "--ephemeral: this run is not kept")
    config = folder / PROJECT_INSTANCE_CONFIG
    if config.is_file():
        return InstanceChoice("project", folder, f"the project instance ({config})")
    return InstanceChoice(
        "ephemeral",
        None,
        f"no {PROJECT_INSTANCE_CONFIG} in {folder} and DAGSTER_HOME is not set: this run is "
        "not kept (run from the project root, or set DAGSTER_HOME, to see it in the UI)",
    )


@contextlib.contextmanager
def open_instance(choice: InstanceChoice) -> Iterator[dg.DagsterInstance]:
    """Open the chosen instance; Dagster's first-run telemetry banner never reaches the user."""
    import dagster as dg
    from dagster._core.instance.ref import InstanceRef
    from filelock import FileLock

    if choice.kind == "ephemeral":
        instance = dg.DagsterInstance.ephemeral()
    else:
        assert choice.location is not None
        storage_root = (
            choice.location / PROJECT_INSTANCE_DIR if choice.kind == "project" else choice.location
        )
        storage_root.mkdir(exist_ok=True)
        # A new SQLite instance creates and stamps its tables on first open; two
        # commands opening it at once both stamp ("more than one head present").
        with FileLock(storage_root / ".egregora-instance.lock", timeout=_OPEN_TIMEOUT_SECONDS):
            if choice.kind == "dagster_home":
                instance = dg.DagsterInstance.get()
            else:
                ref = InstanceRef.from_dir(
                    str(storage_root),
                    config_dir=str(choice.location),
                    overrides=_anchored_paths(choice.location / PROJECT_INSTANCE_CONFIG),
                )
                instance = dg.DagsterInstance.from_ref(ref)
    with instance:
        _silence_first_run_banner(instance)
        yield instance


def _anchored_paths(config: Path) -> dict[str, Any]:
    """The sections of ``config`` that name a relative ``base_dir``, made absolute.

    Dagster reads a relative ``base_dir`` against the current folder. The CLI only
    picks the project instance when that folder *is* the project root, but a caller
    may pass another ``cwd``: anchoring the paths at the file's own folder makes
    both read the same storage.
    """
    from dagster_shared.yaml_utils import load_yaml_from_path

    loaded: dict[str, Any] = dict(load_yaml_from_path(str(config)) or {})  # type: ignore[call-overload]

    def anchor(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                key: str(config.parent / item)
                if key == "base_dir" and isinstance(item, str) and not Path(item).is_absolute()
                else anchor(item)
                for key, item in value.items()
            }
        return value

    anchored = {key: anchor(section) for key, section in loaded.items()}
    return {key: section for key, section in anchored.items() if section != loaded[key]}


def _silence_first_run_banner(instance: dg.DagsterInstance) -> None:
    """Let Dagster write its telemetry id now, with its banner going nowhere.

    A home whose ``dagster.yaml`` leaves telemetry on makes Dagster print a
    "Welcome to Dagster!" text on stderr the first time it runs, in the middle
    of our summary. Asking for the id here does what Dagster would do anyway
    (write ``$DAGSTER_HOME/.telemetry/id.yaml``), minus the text. The user's
    telemetry choice is unchanged.
    """
    if not instance.telemetry_enabled:
        return
    from dagster_shared.telemetry import get_or_set_instance_id

    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        get_or_set_instance_id()
