"""The model zoo: trained students committed to the repository, so work accumulates.

A student is the chain of LoRA adapters a pipeline method merges in order (for
``trial_sft_dagger``: the SFT adapter, then one adapter per DAgger round). Its zoo entry
``zoo/NAME/`` holds::

    student.json          what it is: base model, recipe (a named preset and its
                          settings), method, stages in order, data, command, commit,
                          wall times, evaluation numbers; ``complete`` once every stage is
    README.md             the model card, made from student.json
    stages/<stage>/       adapter_model.safetensors (fp16), adapter_config.json, DONE
    stages/<stage>/checkpoint-N/   the newest checkpoint of a stage still training: its
                          adapter (fp16), optimiser (its moments in bf16: half the size, at
                          bf16's precision), scheduler and trainer state, so a run on a new
                          machine resumes it (see :func:`restore_student`)
    data/*.jsonl.gz       the traces the stages trained on and each DAgger round's
                          rollouts and fixes (a later round trains on the earlier fixes)

A student that continues another entry's complete student (``toolmaster``: GRPO from the
``trial_sft_dagger`` student) names it in ``builds_on`` and keeps only its own stages: the
chain is that entry's stages, then its own, and restoring it restores that entry first.

``zoo:NAME`` works wherever an adapter path does (``toolmaster eval --adapter zoo:NAME``,
``toolmaster rl``); it expands to the student's finished stages in order. A pipeline run
with ``--zoo NAME`` starts by restoring the entry's stages into its run folder (a stage
whose output is in the zoo is not retrained) and saves every stage it finishes back into it.

The zoo is found at ``$TOOLMASTER_ZOO``, else the ``zoo/`` folder of the repository this
package runs from, else ``./zoo``. Every write goes to a temporary folder first and is
moved into place, so an entry is never half-written.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["ZOO_PREFIX", "Student", "list_students", "load_student", "record_evaluations",
           "resolve_adapters", "restore_student", "save_student", "stage_chain", "zoo_root"]

ZOO_PREFIX = "zoo:"
# The checkpoint files a resumed stage needs; the rest (tokenizer copies, training args
# pickles) are rebuilt by the trainer.
_CHECKPOINT_FILES = ("adapter_model.safetensors", "adapter_config.json", "trainer_state.json",
                     "optimizer.pt", "scheduler.pt", "rng_state.pth")
ADAPTER_MB_LIMIT = 10.0


def zoo_root() -> Path:
    """``$TOOLMASTER_ZOO``, else the repository's ``zoo/`` (a clone or an editable
    install), else ``./zoo``."""
    if os.environ.get("TOOLMASTER_ZOO"):
        return Path(os.environ["TOOLMASTER_ZOO"])
    repo = Path(__file__).resolve().parents[1]
    if (repo / "pyproject.toml").exists() and (repo / "zoo").is_dir():
        return repo / "zoo"
    return Path.cwd() / "zoo"


@dataclass(frozen=True)
class Student:
    """One zoo entry: its folder and its ``student.json``."""

    name: str
    path: Path
    card: dict[str, Any]

    @property
    def complete(self) -> bool:
        return bool(self.card.get("complete"))

    @property
    def builds_on(self) -> str | None:
        """The zoo entry whose student this one continues, if any."""
        return self.card.get("builds_on")

    def adapters(self) -> list[Path]:
        """The finished stages' adapter folders, in the order they are merged (those of
        the entry it builds on first)."""
        out = (load_student(self.builds_on, self.path.parent).adapters() if self.builds_on
               else [])
        for stage in self.card["stages"]:
            folder = self.path / "stages" / stage["name"]
            if not stage.get("done"):
                break
            out.append(folder)
        return out


def load_student(name: str, root: Path | None = None) -> Student:
    """The zoo entry ``name`` (a ValueError that lists the entries if there is none)."""
    root = root or zoo_root()
    path = root / name
    if not (path / "student.json").exists():
        known = ", ".join(s.name for s in list_students(root)) or "none"
        raise ValueError(f"no zoo entry {name!r} in {root} (entries: {known})")
    return Student(name, path, json.loads((path / "student.json").read_text()))


def list_students(root: Path | None = None) -> list[Student]:
    root = root or zoo_root()
    if not root.is_dir():
        return []
    return [load_student(p.name, root) for p in sorted(root.iterdir())
            if (p / "student.json").exists()]


def stage_chain(name: str, root: Path | None = None) -> list[tuple[str, dict[str, Any]]]:
    """``(entry, stage record)`` of every stage of entry ``name``'s student in merge order,
    those of the entries it builds on first."""
    student = load_student(name, root)
    parent = stage_chain(student.builds_on, root) if student.builds_on else []
    return parent + [(name, stage) for stage in student.card["stages"]]


def continuation_problem(name: str, stages: Sequence[str],
                         root: Path | None = None) -> str | None:
    """Why a student of ``stages`` (stage names in merge order) cannot build on entry
    ``name``, or None where it can: the entry is complete and its chain of stages is a
    proper start of ``stages``."""
    chain = stage_chain(name, root)
    names = [stage["name"] for _, stage in chain]
    if not all(stage.get("done") for _, stage in chain):
        return f"zoo entry {name!r} is not complete: a student builds on complete entries only"
    if list(stages[:len(names)]) != names or len(names) >= len(stages):
        return f"stages {list(stages)} do not continue zoo entry {name!r} ({names})"
    return None


def resolve_adapters(specs: list[str | os.PathLike[str]], root: Path | None = None) -> list[Path]:
    """Adapter folders for ``specs``: a path stays itself, ``zoo:NAME`` becomes the
    chain of NAME's finished stages. An entry with no finished stage is refused."""
    out: list[Path] = []
    for spec in specs:
        text = str(spec)
        if not text.startswith(ZOO_PREFIX):
            out.append(Path(text))
            continue
        student = load_student(text[len(ZOO_PREFIX):], root)
        chain = student.adapters()
        if not chain:
            raise ValueError(f"zoo entry {student.name!r} has no finished stage yet")
        if not student.complete:
            logger.warning("zoo entry %s is not complete: using its %d finished stage(s) of %d",
                           student.name, len(chain), len(stage_chain(student.name, root)))
        out += chain
    return out


# -- save ---------------------------------------------------------------------------------


def _to_fp16(src: Path, dst: Path) -> None:
    """Copy a safetensors adapter with its float tensors in fp16 (half the size)."""
    import numpy as np
    from safetensors.numpy import load_file, save_file

    tensors = {k: (v.astype(np.float16) if v.dtype in (np.float32, np.float64) else v)
               for k, v in load_file(str(src)).items()}
    save_file(tensors, str(dst), metadata={"format": "pt"})


def _optimizer_as(src: Path, dst: Path, dtype: str) -> None:
    """Copy an optimiser state dict with its floating tensors of more than one element (the
    moments; not step counts) in ``dtype``: bfloat16 in the zoo, float32 back in a run."""
    import torch

    def cast(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: cast(v) for k, v in value.items()}
        if isinstance(value, list):
            return [cast(v) for v in value]
        if isinstance(value, torch.Tensor) and value.is_floating_point() and value.numel() > 1:
            return value.to(getattr(torch, dtype))
        return value

    torch.save(cast(torch.load(src, map_location="cpu", weights_only=True)), dst)


def _copy_adapter(src: Path, dst: Path) -> float:
    dst.mkdir(parents=True, exist_ok=True)
    _to_fp16(src / "adapter_model.safetensors", dst / "adapter_model.safetensors")
    shutil.copy2(src / "adapter_config.json", dst / "adapter_config.json")
    mb = (dst / "adapter_model.safetensors").stat().st_size / 1e6
    if mb > ADAPTER_MB_LIMIT:
        raise ValueError(f"{src} is {mb:.1f} MB in fp16, over the zoo's {ADAPTER_MB_LIMIT} MB "
                         "per adapter: use a smaller LoRA rank or fewer target modules")
    return mb


def _newest_checkpoint(folder: Path) -> Path | None:
    from tool_gym.agents.sft import last_checkpoint

    found = last_checkpoint(folder) if folder.is_dir() else None
    return Path(found) if found else None


def _gzip(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    with src.open("rb") as f, gzip.GzipFile(dst, "wb", mtime=0) as g:
        shutil.copyfileobj(f, g)


def _commit_of(folder: Path) -> str | None:
    try:
        return subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"], check=True,
                              capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def save_student(run_dir: str | os.PathLike[str], name: str, method: str, preset: Any, *,
                 preset_name: str, model_name: str = "default", command: str = "",
                 evaluations: dict[str, Any] | None = None, notes: str = "",
                 root: Path | None = None, with_checkpoint: bool = True,
                 builds_on: str | None = None) -> Student:
    """Export ``method``'s stages from ``run_dir`` into ``zoo/name`` (replacing it whole).

    Finished stages are copied as fp16 adapters with their ``DONE`` records; the first
    unfinished stage, if ``with_checkpoint`` and it has a checkpoint, is copied as that
    checkpoint (adapter in fp16, optimiser and trainer state, and a GRPO stage's log) so
    the run resumes on another machine. The data files the stages trained on go along,
    gzipped. ``builds_on``: a complete entry whose stages are the first of ``method``'s;
    they are referenced, not copied (nor their data)."""
    from tool_gym.agents.pipeline import method_stages, recovery_files, rollout_part

    run = Path(run_dir)
    root = root or zoo_root()
    root.mkdir(parents=True, exist_ok=True)
    stages = method_stages(method, preset)
    if not stages:
        raise ValueError(f"method {method!r} trains no stage: nothing to put in the zoo")
    parent_data: set[str] = set()
    if builds_on:
        if problem := continuation_problem(builds_on, [s.name for s in stages], root):
            raise ValueError(f"{method}: {problem}")
        parent = stage_chain(builds_on, root)
        stages = stages[len(parent):]
        parent_data = {f for entry in dict.fromkeys(e for e, _ in parent)
                       for f in load_student(entry, root).card.get("data", [])}
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
    try:
        records: list[dict[str, Any]] = []
        data: list[str] = []
        for stage in stages:
            src, dst = run / stage.name, tmp / "stages" / stage.name
            record: dict[str, Any] = {"name": stage.name, "kind": stage.kind,
                                      "teacher": stage.teacher, "round": stage.round,
                                      "done": (src / "DONE").exists()
                                      and (src / "adapter_model.safetensors").exists()}
            if record["done"]:
                record["adapter_mb"] = round(_copy_adapter(src, dst), 2)
                shutil.copy2(src / "DONE", dst / "DONE")
                if (src / "grpo_log.csv").exists():
                    shutil.copy2(src / "grpo_log.csv", dst / "grpo_log.csv")
                record["summary"] = json.loads((src / "DONE").read_text())
            elif with_checkpoint and (ckpt := _newest_checkpoint(src)) is not None:
                out = dst / ckpt.name
                _copy_adapter(ckpt, out)
                for f in _CHECKPOINT_FILES[2:]:
                    if f == "optimizer.pt" and (ckpt / f).exists():
                        _optimizer_as(ckpt / f, out / f, "bfloat16")
                    elif (ckpt / f).exists():
                        shutil.copy2(ckpt / f, out / f)
                if (src / "grpo_log.csv").exists():  # the curve so far, resumed with it
                    shutil.copy2(src / "grpo_log.csv", dst / "grpo_log.csv")
                state = json.loads((ckpt / "trainer_state.json").read_text())
                record["checkpoint"] = {"folder": ckpt.name, "global_step": state["global_step"],
                                        "max_steps": state.get("max_steps")}
            # what the stage trained on (and, for a DAgger round, what its student played)
            files = [run / f"traces_{stage.teacher}.jsonl",
                     run / f"traces_{stage.teacher}.settings.json"]
            if stage.kind == "recovery":
                rollouts, fixes = recovery_files(run, stage.teacher, stage.round)
                files += [rollouts, fixes,
                          *sorted(run.glob(rollout_part(rollouts, "*").name))]
            for f in files:
                if f.exists() and f.name + ".gz" not in {*data, *parent_data}:
                    _gzip(f, tmp / "data" / (f.name + ".gz"))
                    data.append(f.name + ".gz")
            records.append(record)
            if not record["done"]:
                break
        records += [{"name": s.name, "kind": s.kind, "teacher": s.teacher, "round": s.round,
                     "done": False} for s in stages[len(records):]]
        card = {
            "name": name, "base_model": model_name, "method": method,
            **({"builds_on": builds_on} if builds_on else {}),
            "recipe": {"preset": preset_name, "settings": preset.to_json()},
            "stages": records, "data": data,
            "complete": all(r["done"] for r in records),
            "command": command, "commit": _commit_of(run if run.exists() else Path.cwd()),
            "wall_s": {r["name"]: r["summary"].get("wall_s") for r in records
                       if r.get("summary", {}).get("wall_s") is not None},
            "evaluations": evaluations or _previous(root / name, "evaluations") or {},
            "notes": notes or _previous(root / name, "notes") or "",
        }
        (tmp / "student.json").write_text(json.dumps(card, indent=2, default=str) + "\n")
        (tmp / "README.md").write_text(model_card(card))
        final = root / name
        old = None
        if final.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{name}-old-", dir=root))
            os.replace(final, old / name)
        os.replace(tmp, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    logger.info("zoo entry %s: %d of %d stages finished", name,
                sum(r["done"] for r in records), len(records))
    return load_student(name, root)


def record_evaluations(name: str, evaluations: dict[str, dict[str, Any]],
                       root: Path | None = None) -> Student:
    """Add (or replace) evaluation rows on entry ``name``'s card: ``{label: {"success",
    "episodes", "ci", "command"}}``. Only ``student.json`` and the README change, each
    replaced whole; the same rows again leave both files as they were."""
    student = load_student(name, root)
    card = {**student.card, "evaluations": {**(student.card.get("evaluations") or {}),
                                            **evaluations}}
    if card != student.card:
        for file, text in (("student.json", json.dumps(card, indent=2, default=str) + "\n"),
                           ("README.md", model_card(card))):
            tmp = student.path / f".{file}.tmp"
            tmp.write_text(text)
            os.replace(tmp, student.path / file)
    return load_student(name, root)


def _previous(folder: Path, key: str) -> Any:
    path = folder / "student.json"
    return json.loads(path.read_text()).get(key) if path.exists() else None


def model_card(card: dict[str, Any]) -> str:
    """The entry's README: what a person needs to use, trust and reproduce it."""
    stages = "\n".join(
        f"| {s['name']} | {'done' if s['done'] else _progress(s)} | "
        f"{s.get('summary', {}).get('global_step', '')} | "
        f"{_fmt(s.get('summary', {}).get('eval_loss'))} | {s.get('adapter_mb', '')} |"
        for s in card["stages"])
    evals = card.get("evaluations") or {}
    eval_rows = "\n".join(f"| {split} | {v.get('success', '')} | {v.get('episodes', '')} | "
                          f"{v.get('ci', '')} | {v.get('command', '')} |"
                          for split, v in evals.items()) or "| (none yet) | | | | |"
    status = "complete" if card["complete"] else "**in progress** (resumable)"
    base = (f"\nBuilds on: [`zoo:{card['builds_on']}`](../{card['builds_on']}/README.md) (its "
            "stages are merged first and restored with this entry).\n"
            if card.get("builds_on") else "")
    return f"""# {card['name']}

Status: {status}. Base model: `{card['base_model']}`. Method: `{card['method']}`.
Recipe: preset `{card['recipe']['preset']}` (all settings in `student.json`).
{base}
Use it: `toolmaster eval --adapter zoo:{card['name']} ...` (merges the finished stages in
order). Resume or extend it: `toolmaster run --preset {card['recipe']['preset']} --method
{card['method']} --zoo {card['name']} --out runs/{card['name']}`.

Made by: `{card['command']}` at commit `{card['commit']}`.

## Stages (merged in this order)

| stage | state | steps | held-out loss | adapter MB (fp16) |
|---|---|---|---|---|
{stages}

Data (in `data/`): {', '.join(card['data']) or 'none'}.
Wall time per stage (s): {json.dumps(card.get('wall_s') or {})}.

## Evaluation

| split | success | episodes | 95% interval | command |
|---|---|---|---|---|
{eval_rows}

{card.get('notes', '')}
"""


def _progress(stage: dict[str, Any]) -> str:
    ckpt = stage.get("checkpoint")
    if ckpt:
        return f"checkpoint at step {ckpt['global_step']} of {ckpt.get('max_steps')}"
    return "not started"


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else ""


# -- restore ------------------------------------------------------------------------------


def _from_fp16(src: Path, dst: Path) -> None:
    """An fp16 zoo adapter back in fp32, the dtype the trainer's checkpoints hold."""
    import numpy as np
    from safetensors.numpy import load_file, save_file

    tensors = {k: (v.astype(np.float32) if v.dtype == np.float16 else v)
               for k, v in load_file(str(src)).items()}
    save_file(tensors, str(dst), metadata={"format": "pt"})


def restore_student(name: str, run_dir: str | os.PathLike[str],
                    root: Path | None = None) -> list[str]:
    """Copy zoo entry ``name`` into ``run_dir``: its finished stages, the checkpoint of the
    stage it was training, and its data files; what the run folder already has is kept.
    Returns what was restored. The pipeline then skips the finished stages and resumes the
    checkpoint."""
    student = load_student(name, root)
    run = Path(run_dir)
    run.mkdir(parents=True, exist_ok=True)
    restored = restore_student(student.builds_on, run, root) if student.builds_on else []
    for f in student.card.get("data", []):
        target = run / f.removesuffix(".gz")
        if not target.exists():
            tmp = target.with_suffix(target.suffix + ".tmp")
            with gzip.open(student.path / "data" / f, "rb") as g, tmp.open("wb") as out:
                shutil.copyfileobj(g, out)
            os.replace(tmp, target)
            restored.append(target.name)
    for stage in student.card["stages"]:
        src, dst = student.path / "stages" / stage["name"], run / stage["name"]
        if stage["done"] and not (dst / "DONE").exists():
            tmp = Path(tempfile.mkdtemp(prefix=f".{stage['name']}-", dir=run))
            _from_fp16(src / "adapter_model.safetensors", tmp / "adapter_model.safetensors")
            shutil.copy2(src / "adapter_config.json", tmp / "adapter_config.json")
            shutil.copy2(src / "DONE", tmp / "DONE")
            if (src / "grpo_log.csv").exists():
                shutil.copy2(src / "grpo_log.csv", tmp / "grpo_log.csv")
            if dst.exists():
                shutil.rmtree(dst)
            os.replace(tmp, dst)
            restored.append(stage["name"])
        elif (ckpt := stage.get("checkpoint")) and _newest_step(dst) < ckpt["global_step"]:
            target = dst / ckpt["folder"]
            tmp = Path(tempfile.mkdtemp(prefix=f".{ckpt['folder']}-", dir=run))
            for f in (src / ckpt["folder"]).iterdir():
                if f.name == "adapter_model.safetensors":
                    _from_fp16(f, tmp / f.name)
                elif f.name == "optimizer.pt":
                    _optimizer_as(f, tmp / f.name, "float32")
                else:
                    shutil.copy2(f, tmp / f.name)
            dst.mkdir(parents=True, exist_ok=True)
            if target.exists():
                shutil.rmtree(target)
            os.replace(tmp, target)
            if (src / "grpo_log.csv").exists():  # the curve up to the checkpoint
                shutil.copy2(src / "grpo_log.csv", dst / "grpo_log.csv")
            restored.append(f"{stage['name']}/{ckpt['folder']}")
    if restored:
        logger.info("restored from zoo entry %s into %s: %s", name, run, ", ".join(restored))
    return restored


def _newest_step(folder: Path) -> int:
    ckpt = _newest_checkpoint(folder)
    return -1 if ckpt is None else int(ckpt.name.rpartition("-")[2])
