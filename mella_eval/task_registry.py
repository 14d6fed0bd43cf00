"""The task registry: finds task files (and groups) by name, and decides which may run hooks.

Trust is per file, not per tree: the task files bundled with mella-eval (tasks/*.yaml, whose
hooks are part of the package) and the task files directly inside an --include-path folder may
name a Python hook. Any other file -- including one somewhere below the bundled tasks/ folder,
e.g. tasks/data/x/t.yaml beside downloaded data, or in a subfolder of an --include-path folder --
is data only.
"""

from __future__ import annotations

from pathlib import Path

from mella_eval.errors import MellaError, TaskError
from mella_eval.safe_yaml import excerpt, load_yaml_file


def bundled_dir(name: str) -> Path:
    """`tasks` or `judges`: beside the package in a checkout, mella_eval/_bundled/ in a wheel."""
    package_dir = Path(__file__).resolve().parent
    for candidate in (package_dir / "_bundled" / name, package_dir.parent / name):
        if candidate.is_dir():
            return candidate
    raise MellaError(f"bundled {name}/ folder not found beside {package_dir}; reinstall mella-eval")


def bundled_tasks_dir() -> Path:
    return bundled_dir("tasks")


class TaskRegistry:
    """Finds task files (and groups) by name: the bundled ones and those of --include-path folders."""

    def __init__(self, include_paths: list[Path] | tuple[Path, ...] = ()):
        self.trusted_dirs = [Path(p).resolve() for p in include_paths]
        for d in self.trusted_dirs:
            if not d.is_dir():
                raise MellaError(f"--include-path {d}: not a folder")
        self._files: dict[str, Path] = {}
        self.groups: dict[str, list[str]] = {}
        for d in [bundled_tasks_dir(), *self.trusted_dirs]:  # later folders override bundled names
            for f in sorted(d.glob("*.yaml")):
                self._files[f.stem] = f
            for f in sorted((d / "groups").glob("*.yaml")):
                self.groups[f.stem] = _load_group(f)

    def names(self) -> list[str]:
        return sorted(self._files)

    def is_trusted(self, path: Path) -> bool:
        """Whether a task file may name a Python hook: a bundled task file itself, or a task file
        directly in an --include-path folder (see the module docstring)."""
        path = Path(path).resolve()
        if path.suffix not in (".yaml", ".yml") or not path.is_file():
            return False
        return any(path.parent == d for d in [bundled_tasks_dir().resolve(), *self.trusted_dirs])

    def load(self, path: Path):
        from mella_eval.tasks import load_task

        return load_task(path, trusted=self.is_trusted(path))

    def resolve(self, spec: str | list[str]) -> list:
        """`linguistic,culture`, a task file, or a folder of task files -> validated tasks."""
        items = spec.split(",") if isinstance(spec, str) else list(spec)
        items = self._expand_groups([i.strip() for i in items if i.strip()])
        tasks: list = []
        for item in items:
            candidate = Path(item).expanduser()
            if item in self._files:
                found = [self._files[item]]
            elif candidate.is_dir():
                found = sorted(candidate.glob("*.yaml"))
                if not found:
                    raise MellaError(f"--tasks {item}: folder has no *.yaml task files")
            elif candidate.suffix in (".yaml", ".yml") or candidate.exists():
                if not candidate.is_file():
                    raise MellaError(f"--tasks {item}: task file not found")
                found = [candidate]
            else:
                raise MellaError(f"unknown task {item!r}; available: {', '.join(self.names())} "
                                 "(or pass a path to a task file or folder)")
            for f in found:
                task = self.load(f)
                if any(t.name == task.name for t in tasks):
                    raise MellaError(f"task {task.name!r} requested twice ({f})")
                tasks.append(task)
        if not tasks:
            raise MellaError("--tasks is empty; available: " + ", ".join(self.names()))
        return tasks

    def _expand_groups(self, items: list[str], seen: tuple[str, ...] = ()) -> list[str]:
        out: list[str] = []
        for item in items:
            if item in self.groups and item not in self._files:
                if item in seen:
                    raise MellaError(f"task group {item!r} includes itself")
                out.extend(t for t in self._expand_groups(self.groups[item], seen + (item,)) if t not in out)
            elif item not in out:
                out.append(item)
        return out


def _load_group(path: Path) -> list[str]:
    """tasks/groups/NAME.yaml: {group: NAME, description: ..., tasks: [task or group names]}."""
    doc, _ = load_yaml_file(path, what="task group file")
    if not isinstance(doc, dict) or doc.get("group") != path.stem:
        raise TaskError(path, "group", f"expected `group: {path.stem}` (the file name)")
    tasks = doc.get("tasks")
    if not isinstance(tasks, list) or not tasks or not all(isinstance(t, str) and t for t in tasks):
        raise TaskError(path, "tasks", f"expected a non-empty list of task names, got {excerpt(tasks)}")
    return tasks
