"""``toolmaster``: make teacher traces, fine-tune on them, evaluate, list the envs.

Each subcommand is a :class:`Command` in :data:`COMMANDS` (help text, an argument
builder and a runner), so more can be registered without touching the parser code::

    toolmaster list
    toolmaster traces --teacher trial --env ToolMaster/Seen-v0 --episodes 200 --out traces.jsonl
    toolmaster sft --model default --traces traces.jsonl --out runs/sft --epochs 2
    toolmaster eval --model default --adapter runs/sft --env ToolMaster/Unseen-v0 \\
        --episodes 50 --out eval.json
    toolmaster rl --model default --adapter runs/sft --out runs/grpo --steps 20
    toolmaster run --preset quick
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

logger = logging.getLogger(__name__)

__all__ = ["COMMANDS", "Command", "build_parser", "load_model", "main"]


@dataclass(frozen=True)
class Command:
    """One subcommand: ``configure(parser)`` adds its arguments, ``run(args, out)`` runs it."""

    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, TextIO], int]


def load_model(name: str) -> tuple[Any, Any]:
    """``default``, ``tiny`` or a Hugging Face id / local path -> (model, tokenizer)."""
    from tool_gym.agents.models import load_model as _load

    return _load(name)


def _json_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _env_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    for item in args.env_arg or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--env-arg expects KEY=VALUE, got {item!r}")
        kwargs[key] = _json_value(value)
    if getattr(args, "max_turns", None) is not None:
        kwargs["max_turns"] = args.max_turns
    if getattr(args, "trial_budget", None) is not None:
        kwargs["trial_budget"] = args.trial_budget
    return kwargs


def _add_ray_args(p: argparse.ArgumentParser, what: str, actors: str) -> None:
    """``--workers`` and ``--ray-address``: play ``what`` on Ray actors (same results)."""
    p.add_argument("--workers", type=int, default=1,
                   help=f"play {what} on this many Ray actors, {actors} (needs the ray "
                        "extra); same results as one process")
    p.add_argument("--ray-address", default=None,
                   help="a running Ray cluster for --workers ('auto', 'ray://HOST:10001'); "
                        "default: a local one")


def _add_env_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--env-arg", action="append", metavar="KEY=VALUE",
                   help="extra gym.make keyword (VALUE is JSON if it parses: "
                        "stale_docs=true, split=\"test\"); repeatable")
    p.add_argument("--max-turns", type=int, default=None, help="agent messages per episode")
    p.add_argument("--trial-budget", type=int, default=None, help="free trials per episode")


# -- list -------------------------------------------------------------------------------


def _configure_list(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ids", action="store_true", help="only the ids, one per line")


def cmd_list(args: argparse.Namespace, out: TextIO) -> int:
    from tool_gym.registration import env_ids

    if args.ids:
        out.write("".join(f"{i}\n" for i in env_ids()))
        return 0
    from tool_gym.cli import cmd_list as table

    return table(args, out=out)


# -- traces -----------------------------------------------------------------------------


def _configure_traces(p: argparse.ArgumentParser) -> None:
    p.add_argument("--teacher", choices=["golden", "trial", "llm"], default="trial",
                   help="golden: direct execution of the golden plan (baseline); trial: "
                        "trial-and-execution expert; llm: an OpenAI-compatible endpoint")
    p.add_argument("--env", default="ToolMaster/Seen-v0", help="registered env id")
    p.add_argument("--episodes", type=int, default=100, help="episodes to play")
    p.add_argument("--seed", type=int, default=0, help="first reset seed (episode i: seed+i)")
    p.add_argument("--out", default="traces.jsonl", help="JSONL file to write")
    p.add_argument("--append", action="store_true",
                   help="append to --out line by line instead of replacing it")
    _add_ray_args(p, "the episodes", "each with its own envs and teacher")
    _add_env_args(p)
    llm = p.add_argument_group("llm teacher")
    llm.add_argument("--base-url", help="endpoint root, e.g. http://127.0.0.1:8000/v1")
    llm.add_argument("--llm-model", help="model name sent to the endpoint")
    llm.add_argument("--api-key-env", default="OPENAI_API_KEY",
                     help="environment variable holding the API key ('' for none)")


def cmd_traces(args: argparse.Namespace, out: TextIO) -> int:
    from tool_gym.agents.teachers import LLMTeacher, make_teacher
    from tool_gym.agents.traces import generate_traces, summarize

    if args.teacher == "llm":
        if not args.base_url or not args.llm_model:
            raise SystemExit("--teacher llm needs --base-url and --llm-model")

        def factory(env: Any, seed: int = 0) -> Any:
            return LLMTeacher(args.base_url, args.llm_model, api_key_env=args.api_key_env or None)
    else:
        def factory(env: Any, seed: int = 0) -> Any:
            return make_teacher(args.teacher, env, seed=seed)

    records = generate_traces(factory, args.env, args.episodes, seed=args.seed,
                              env_kwargs=_env_kwargs(args), out=args.out, append=args.append,
                              workers=args.workers, ray_address=args.ray_address)
    stats = summarize(records)
    out.write(f"wrote {len(records)} episodes to {args.out}\n")
    out.write(f"success {stats['success_rate']:.3f}  turns {stats['mean_turns']:.2f}  "
              f"trials/ep {stats['trials_per_episode']:.2f}  "
              f"calls/ep {stats['calls_per_episode']:.2f}\n")
    for domain, s in stats["per_domain"].items():
        out.write(f"  {domain:<14} n={s['episodes']:<5} success {s['success_rate']:.3f}  "
                  f"trials/ep {s['trials_per_episode']:.2f}\n")
    return 0


# -- sft --------------------------------------------------------------------------------


def _configure_sft(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="default",
                   help="default (SmolLM2-135M-Instruct), tiny (random test model), or a "
                        "Hugging Face id / local path")
    p.add_argument("--traces", nargs="+", required=True, help="JSONL trace files")
    p.add_argument("--out", default="runs/sft", help="output folder (checkpoints, adapter)")
    p.add_argument("--epochs", type=float, default=1.0, help="passes over the traces")
    p.add_argument("--max-steps", type=int, default=-1, help="optimizer steps (overrides epochs)")
    p.add_argument("--lr", type=float, default=2e-4, help="learning rate")
    p.add_argument("--batch-size", type=int, default=1, help="episodes per device batch")
    p.add_argument("--grad-accum", type=int, default=4, help="gradient accumulation steps")
    p.add_argument("--max-length", type=int, default=1024, help="tokens per episode")
    p.add_argument("--save-steps", type=int, default=50, help="checkpoint (and eval) cadence")
    p.add_argument("--eval-fraction", type=float, default=0.1, help="episodes held out")
    p.add_argument("--lora-r", type=int, default=16, help="LoRA rank (alpha = 2r)")
    p.add_argument("--all-episodes", action="store_true",
                   help="train on failed episodes too (default: successful ones only)")
    p.add_argument("--split", action="append",
                   help="only episodes of this split (train, test, unseen); repeatable")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    p.add_argument("--bf16", action="store_true", help="bf16 mixed precision (GPU)")
    p.add_argument("--seed", type=int, default=0)


def cmd_sft(args: argparse.Namespace, out: TextIO) -> int:
    from tool_gym.agents.sft import train_sft
    from tool_gym.agents.traces import filter_traces, read_traces

    records = [r for path in args.traces for r in read_traces(path)]
    kept = filter_traces(records, success=None if args.all_episodes else True, split=args.split)
    if not kept:
        raise SystemExit(f"no episodes left to train on out of {len(records)} "
                         "(check --split, or pass --all-episodes)")
    out.write(f"training on {len(kept)} of {len(records)} episodes\n")
    model, tokenizer = load_model(args.model)
    result = train_sft(
        model, tokenizer, kept, args.out, epochs=args.epochs, max_steps=args.max_steps,
        learning_rate=args.lr, batch_size=args.batch_size, grad_accum=args.grad_accum,
        max_length=args.max_length, save_steps=args.save_steps,
        eval_fraction=args.eval_fraction, lora_r=args.lora_r, lora_alpha=2 * args.lora_r,
        bf16=args.bf16, resume=args.resume, seed=args.seed, base_model=args.model,
        data_source=", ".join(args.traces))

    def fmt(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.4f}"

    out.write(f"adapter saved to {result.output_dir} after {result.global_step} steps: "
              f"train loss {fmt(result.train_loss)}, eval loss {fmt(result.eval_loss)}\n")
    return 0


# -- eval -------------------------------------------------------------------------------


def _configure_eval(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="default",
                   help="default, tiny, or a Hugging Face id / local path")
    p.add_argument("--adapter", action="append", default=[],
                   help="LoRA adapter folder (from toolmaster sft) or zoo:NAME (a zoo "
                        "student's chain of adapters), merged into the model; repeat to "
                        "stack adapters in order (SFT, then RL)")
    p.add_argument("--env", action="append",
                   help="env id (or NAME=ENV_ID) to evaluate on; repeatable; default: the "
                        "seen_test, unseen, drift_fresh, drift_stale and unseen_stale splits")
    p.add_argument("--episodes", type=int, default=50, help="tasks per env")
    p.add_argument("--seeds", type=int, nargs="+", default=[0],
                   help="trial seeds: each task is played once per seed (pass^k needs k)")
    p.add_argument("--out", default="eval.json", help="JSON file with the results")
    p.add_argument("--markdown", help="also write a markdown table here")
    p.add_argument("--batch-size", type=int, default=8, help="envs played at once")
    p.add_argument("--temperature", type=float, default=0.0, help="0 for greedy decoding")
    p.add_argument("--max-new-tokens", type=int, default=256, help="tokens per message")
    p.add_argument("--max-thought-tokens", type=int, default=None,
                   help="force </think> once a thought reaches this many tokens (off)")
    p.add_argument("--resample-resends", type=int, default=0,
                   help="sample a message that resends a failed trial or call verbatim "
                        "again, up to this many times (a probe; 0: off)")
    p.add_argument("--resample-temperature", type=float, default=0.7,
                   help="temperature of those resamples")
    p.add_argument("--task-offset", type=int, default=0, help="task j resets with offset + j")
    p.add_argument("--final", action="store_true",
                   help="play the block of tasks reserved for the committed final table "
                        "(refused otherwise; use it once per student, never to tune)")
    _add_ray_args(p, "the batches", "each with its own copy of the model")
    _add_env_args(p)


def cmd_eval(args: argparse.Namespace, out: TextIO) -> int:
    from tool_gym.agents.evaluate import evaluate, to_markdown
    from tool_gym.agents.models import load_with_adapters
    from tool_gym.agents.policy import make_policy
    from tool_gym.agents.probes import eval_probes

    probes = eval_probes(args.max_thought_tokens, args.resample_resends,
                         args.resample_temperature)
    model, tokenizer = load_with_adapters(args.model, args.adapter)
    policy = make_policy(model, tokenizer, temperature=args.temperature,
                         max_new_tokens=args.max_new_tokens, probes=probes)
    kwargs = _env_kwargs(args)
    max_turns = kwargs.pop("max_turns", None)
    if args.final:
        from tool_gym.agents.evaluate import FINAL_TASK_OFFSET

        args.task_offset = FINAL_TASK_OFFSET
    results = evaluate(policy, args.env, episodes=args.episodes, seeds=args.seeds,
                       env_kwargs=kwargs, batch_size=args.batch_size, max_turns=max_turns,
                       task_offset=args.task_offset, out=args.out, markdown=args.markdown,
                       final=args.final, workers=args.workers, ray_address=args.ray_address)
    results["config"].update(model=args.model, adapters=list(args.adapter))
    Path(args.out).write_text(json.dumps(results, indent=2, default=str) + "\n")
    out.write(to_markdown(results))
    out.write(f"wrote {args.out}\n")
    return 0


# -- rl ---------------------------------------------------------------------------------


def _configure_rl(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="default", help="default, tiny, or a HF id / local path")
    p.add_argument("--adapter", action="append", default=[],
                   help="LoRA adapter(s) merged before GRPO (an SFT run folder, or zoo:NAME); "
                        "repeatable")
    p.add_argument("--env", action="append", default=None,
                   help="env id of the training tasks (repeatable; default ToolMaster/Seen-v0)")
    _add_env_args(p)
    p.add_argument("--out", required=True, help="output folder (checkpoints, adapter, log, plot)")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--tasks-per-step", type=int, default=2)
    p.add_argument("--group-size", type=int, default=4, help="episodes per task (GRPO group)")
    p.add_argument("--beta", type=float, default=0.0,
                   help="KL weight (0: no reference-model pass, as Dr. GRPO / DAPO)")
    p.add_argument("--no-gradient-checkpointing", action="store_true",
                   help="keep activations instead of recomputing them (faster, more memory)")
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--max-new-tokens", type=int, default=160)
    p.add_argument("--turns", type=int, default=4, help="messages per episode")
    p.add_argument("--save-steps", type=int, default=5)
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    p.add_argument("--seed", type=int, default=0)


def cmd_rl(args: argparse.Namespace, out: TextIO) -> int:
    from tool_gym.agents.grpo import GRPOSettings, train_grpo
    from tool_gym.agents.models import load_with_adapters

    kwargs = _env_kwargs(args)
    kwargs.pop("max_turns", None)
    envs = [(e, dict(kwargs or {"split": "train"})) for e in (args.env or ["ToolMaster/Seen-v0"])]
    settings = GRPOSettings(envs=envs, steps=args.steps, tasks_per_step=args.tasks_per_step,
                            num_generations=args.group_size, beta=args.beta,
                            learning_rate=args.lr, temperature=args.temperature,
                            max_new_tokens=args.max_new_tokens, max_turns=args.turns,
                            save_steps=args.save_steps, seed=args.seed,
                            gradient_checkpointing=not args.no_gradient_checkpointing)
    model, tokenizer = load_with_adapters(args.model, args.adapter)
    result = train_grpo(model, tokenizer, args.out, settings, resume=args.resume)
    last = result.log[-1] if result.log else {}
    out.write(f"GRPO: {result.global_step} steps; last reward {last.get('reward')}, "
              f"success {last.get('success')}; adapter, grpo_log.csv and grpo_curve.png in "
              f"{args.out}\n")
    return 0


# -- run --------------------------------------------------------------------------------


def _configure_run(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", choices=["quick", "full", "one_call", "one_call_dagger",
                                        "zoo_demo", "tiny"],
                   default="quick",
                   help="budgets: quick proves the pipeline (~20 min CPU), full is evidence "
                        "grade, one_call is the claim on one-call tasks (~1.5 h CPU), "
                        "one_call_dagger the best student's recipe (hours of CPU), zoo_demo "
                        "evaluates its committed zoo students (make run)")
    p.add_argument("--model", default="default", help="default, tiny, or a HF id / local path")
    p.add_argument("--out", default=None, help="run folder (default runs/<preset>); resumable")
    p.add_argument("--method", action="append", default=None,
                   help="only these methods (repeatable): zero_shot, golden_sft, "
                        "golden_sft_grpo, trial_sft, toolmaster, trial_sft_dagger, "
                        "golden_sft_dagger (the last two need --set dagger.episodes=N)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                   help="override SECTION.FIELD of the preset (sections traces, trial, sft, "
                        "dagger, grpo, eval; VALUE read as JSON, else a string), e.g. --set "
                        "trial.style=diff --set dagger.episodes=40 --set grpo.temperature=0.7 "
                        "(repeatable)")
    p.add_argument("--eval-max-plan-steps", type=int, default=None,
                   help="evaluate only on tasks whose golden plan has at most this many calls "
                        "(written beside the unfiltered results, trained stages shared)")
    p.add_argument("--reuse-stages", action="store_true",
                   help="reuse finished stages of the run folder made with other settings "
                        "(refused otherwise); the report lists what differs")
    p.add_argument("--no-train", action="store_true",
                   help="only evaluate: refuse (before anything runs) if a stage is neither "
                        "in the run folder nor in the --zoo entries")
    p.add_argument("--zoo", action="append", default=None, metavar="[METHOD=]NAME",
                   help="restore METHOD's zoo entry NAME into the run folder first (finished "
                        "stages are not retrained, a checkpoint resumes) and save each "
                        "finished stage back into it (repeatable; a bare NAME with one "
                        "--method)")
    _add_ray_args(p, "the teacher traces, DAgger rollouts and evaluations",
                  "each with its own envs and copy of the model (SFT and GRPO stay here)")


def cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    from tool_gym.agents.pipeline import (
        PRESETS,
        parse_override,
        provenance_markdown,
        results_markdown,
        run_pipeline,
        with_overrides,
    )

    run_dir = args.out or f"runs/{args.preset}"
    try:
        changes = dict(parse_override(item) for item in args.set)
    except ValueError as e:
        raise SystemExit(f"--set: {e}") from None
    preset = with_overrides(PRESETS[args.preset],
                            **{"eval.max_plan_steps": args.eval_max_plan_steps}, **changes)
    report = run_pipeline(run_dir, preset, model_name=args.model, methods=args.method,
                          reuse_stages=args.reuse_stages, zoo=args.zoo,
                          train=not args.no_train,
                          command=shlex.join(["toolmaster", *sys.argv[1:]]),
                          workers=args.workers, ray_address=args.ray_address)
    out.write(results_markdown(report["rows"]) + provenance_markdown(report["provenance"]))
    total = sum(report["timings_s"].values())
    out.write(f"\nsuccess rate per method and split; this invocation {total / 60:.1f} min; "
              f"results{preset.suffix}.{{json,md,png}} in {run_dir}\n")
    return 0


# -- zoo --------------------------------------------------------------------------------


def _configure_zoo(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="zoo_command", required=True, metavar="ACTION")
    sub.add_parser("list", help="the zoo's students and their state")
    show = sub.add_parser("show", help="a student's model card")
    show.add_argument("name")
    save = sub.add_parser("save", help="export a method's stages from a run folder (finished "
                                       "stages, and the checkpoint of the one in progress)")
    save.add_argument("run_dir")
    save.add_argument("name")
    save.add_argument("--method", required=True)
    save.add_argument("--preset", default="one_call_dagger",
                      help="the preset the run was made with")
    save.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                      help="the run's preset overrides, as given to toolmaster run")
    save.add_argument("--model", default="default")
    save.add_argument("--command", dest="made_by", default="",
                      help="the command that made the run")
    save.add_argument("--no-checkpoint", action="store_true",
                      help="leave the checkpoint of an unfinished stage out")
    save.add_argument("--builds-on", default=None, metavar="ENTRY",
                      help="a complete zoo entry whose stages are the method's first: "
                           "referenced, not copied (e.g. toolmaster on trial-dagger-one-call)")
    restore = sub.add_parser("restore", help="copy a student into a run folder to resume it")
    restore.add_argument("name")
    restore.add_argument("run_dir")


def cmd_zoo(args: argparse.Namespace, out: TextIO) -> int:
    from tool_gym.agents import zoo

    if args.zoo_command == "list":
        for student in zoo.list_students():
            done = sum(s["done"] for s in student.card["stages"])
            base = f" on zoo:{student.builds_on}" if student.builds_on else ""
            out.write(f"{student.name}: {student.card['method']} on "
                      f"{student.card['base_model']}{base}, recipe "
                      f"{student.card['recipe']['preset']}, "
                      f"{done}/{len(student.card['stages'])} stages"
                      f"{'' if student.complete else ' (in progress)'}\n")
        return 0
    if args.zoo_command == "show":
        out.write((zoo.load_student(args.name).path / "README.md").read_text())
        return 0
    if args.zoo_command == "restore":
        restored = zoo.restore_student(args.name, args.run_dir)
        out.write(f"restored into {args.run_dir}: {', '.join(restored) or 'nothing new'}\n")
        return 0
    from tool_gym.agents.pipeline import PRESETS, parse_override, preset_name, with_overrides

    try:
        changes = dict(parse_override(item) for item in args.set)
    except ValueError as e:
        raise SystemExit(f"--set: {e}") from None
    preset = with_overrides(PRESETS[args.preset], **changes)
    student = zoo.save_student(args.run_dir, args.name, args.method, preset,
                               preset_name=preset_name(preset), model_name=args.model,
                               command=args.made_by, with_checkpoint=not args.no_checkpoint,
                               builds_on=args.builds_on)
    done = sum(s["done"] for s in student.card["stages"])
    out.write(f"saved {student.path}: {done}/{len(student.card['stages'])} stages finished\n")
    return 0


# -- view -------------------------------------------------------------------------------


def _configure_view(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="a run folder (every JSONL in it), an evaluation's transcripts "
                        "(eval/METHOD.transcripts.jsonl) or a trace file")
    p.add_argument("--out", default=None,
                   help="HTML file to write (default: PATH/viewer.html for a folder, "
                        "PATH with .html for a file)")
    p.add_argument("--limit", type=int, default=None, help="at most this many episodes per file")
    p.add_argument("--no-replay", action="store_true",
                   help="do not replay transcripts in their envs (no prompts or reward terms "
                        "for transcripts, faster)")


def cmd_view(args: argparse.Namespace, out: TextIO) -> int:
    from tool_gym.agents.viewer import write_page

    first = Path(args.paths[0])
    target = Path(args.out) if args.out else (
        first / "viewer.html" if first.is_dir() else first.with_suffix(".html"))
    episodes = write_page(args.paths, target, replay=not args.no_replay, limit=args.limit)
    out.write(f"wrote {len(episodes)} episodes to {target}\n")
    return 0


# -- entry point ------------------------------------------------------------------------

COMMANDS: dict[str, Command] = {
    "list": Command("list the registered ToolMaster env ids", _configure_list, cmd_list),
    "traces": Command("play a teacher in an env and write JSONL traces", _configure_traces,
                      cmd_traces),
    "sft": Command("fine-tune a LoRA adapter on traces (assistant turns only)", _configure_sft,
                   cmd_sft),
    "eval": Command("evaluate a model (optionally with an adapter) on envs", _configure_eval,
                    cmd_eval),
    "rl": Command("on-policy RL (GRPO) in the envs, LoRA", _configure_rl, cmd_rl),
    "run": Command("the whole pipeline with its baselines: traces, SFT, GRPO, evaluation",
                   _configure_run, cmd_run),
    "view": Command("write one HTML page of played episodes (a run folder, transcripts or "
                    "traces)", _configure_view, cmd_view),
    "zoo": Command("the model zoo: list, show, save a run's student, restore it to resume",
                   _configure_zoo, cmd_zoo),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="toolmaster", description="Train LLM agents that trial tools before executing.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more log output (-v info, -vv debug)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, command in COMMANDS.items():
        p = sub.add_parser(name, help=command.help, description=command.help,
                           formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        command.configure(p)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if args.command in ("sft", "eval", "rl", "run", "view"):
        from tool_gym.agents.progress import quiet_libraries

        quiet_libraries()
    return COMMANDS[args.command].run(args, out or sys.stdout)


if __name__ == "__main__":
    raise SystemExit(main())
