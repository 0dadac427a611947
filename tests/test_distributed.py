"""Evaluation over Ray actors: a local 2-CPU cluster plays the same episodes as one process."""

from __future__ import annotations

import pytest

ray = pytest.importorskip("ray")

from tool_gym.agents.distributed import batches  # noqa: E402
from tool_gym.registration import env_ids  # noqa: E402

SPLITS = {"weather": ("ToolMaster/Weather-v0", {"split": "test"}),
          "drift": ("ToolMaster/Units-Drift-v0", {"stale_docs": True})}


@pytest.fixture(scope="module")
def cluster():
    """One local Ray cluster for the module: 2 CPUs, a small object store, no dashboard."""
    from tool_gym.agents.distributed import local_worker_priority

    local_worker_priority()
    ray.init(num_cpus=2, object_store_memory=100 * 1024 * 1024, include_dashboard=False,
             logging_level="ERROR", log_to_driver=False)
    yield
    ray.shutdown()


def test_batches_keep_the_single_process_composition():
    jobs = [("a", "X", {}, t, s) for s in (0, 1) for t in range(5)]
    got = batches(jobs, 2)
    assert [len(b) for b in got] == [2, 2, 1, 2, 2, 1]
    assert [j for b in got for j in b] == jobs
    assert all(len({j[4] for j in b}) == 1 for b in got)


def test_toolmaster_eval_on_two_ray_workers_writes_the_single_process_report(tiny, cluster,
                                                                            tmp_path):
    """Every registered id, through 2 Ray actors and in one process: the same report."""
    import io
    import json

    from tool_gym.agents import cli

    reports = []
    for workers in ("1", "2"):
        out = tmp_path / f"eval-{workers}.json"
        # every registered id, one task each: the same episodes through Ray as in-process
        splits = [arg for env_id in env_ids() for arg in ("--env", f"{env_id}={env_id}")]
        argv = ["eval", "--model", "tiny", *splits, "--episodes", "1", "--seeds", "0",
                "--batch-size", "8", "--max-new-tokens", "6", "--max-turns", "2",
                "--out", str(out), "--workers", workers]
        assert cli.main(argv, out=io.StringIO()) == 0
        reports.append(json.loads(out.read_text()))
    assert reports[1] == reports[0]
    assert set(reports[0]["splits"]) == set(env_ids()) and not reports[0]["skipped"]


def test_workers_refuse_a_policy_that_is_not_batched():
    from tool_gym.agents.evaluate import evaluate
    from tool_gym.oracle import GoldenPlanPolicy

    with pytest.raises(ValueError, match="batched"):
        evaluate(GoldenPlanPolicy, SPLITS, episodes=1, workers=2, progress=False)


def test_trace_chunks_cover_each_source_once_in_order():
    from tool_gym.agents.distributed import trace_chunks

    a, b = (None, "A", 10, 7, {}), (None, "B", 3, 100, {})
    chunks = trace_chunks([a, b], workers=2)
    assert [(s[1], first, n) for s, first, n in chunks] == [
        ("A", 7, 2), ("A", 9, 2), ("A", 11, 2), ("A", 13, 2), ("A", 15, 2),
        ("B", 100, 1), ("B", 101, 1), ("B", 102, 1)]


def test_toolmaster_traces_on_two_ray_workers_write_the_single_process_file(cluster,
                                                                           tmp_path):
    """Trial-teacher traces with stale docs (seeded mistakes, drift per reset): the same
    bytes in one process, on 2 Ray actors, and appended line by line on 2 actors."""
    import io

    from tool_gym.agents import cli

    files = {}
    for name, extra in (("local", ["--workers", "1"]), ("ray", ["--workers", "2"]),
                        ("ray-append", ["--workers", "2", "--append"])):
        files[name] = tmp_path / f"{name}.jsonl"
        argv = ["traces", "--teacher", "trial", "--env", "ToolMaster/Drift-v0",
                "--env-arg", "stale_docs=true", "--episodes", "9", "--seed", "3",
                "--out", str(files[name]), *extra]
        assert cli.main(argv, out=io.StringIO()) == 0
    local = files["local"].read_bytes()
    assert local.count(b"\n") == 9 and b'"seed":11' in local
    assert files["ray"].read_bytes() == local
    assert files["ray-append"].read_bytes() == local


def test_the_pipelines_traces_dagger_rollouts_and_evaluation_on_ray_match_one_process(
        tiny, cluster, tmp_path):
    """A DAgger run of the tiny preset in one process; then the same run folder with its
    traces, rollouts, fixes and evaluation removed, remade on 2 Ray actors (the SFT
    adapter kept, so the student is the same): every file byte for byte."""
    import shutil

    from tool_gym.agents.pipeline import PRESETS, recovery_files, run_pipeline, with_overrides

    preset = with_overrides(PRESETS["tiny"], **{"traces.per_source": 3, "dagger.episodes": 3,
                                                 "eval.episodes": 2, "eval.batch_size": 2,
                                                 "dagger.batch_size": 2})
    one = tmp_path / "one"
    run_pipeline(one, preset, model_name="tiny", methods=["trial_sft_dagger"])
    rollouts, fixes = recovery_files(one, "trial", 1)
    made = [one / "traces_trial.jsonl", one / "traces_golden.jsonl", rollouts, fixes,
            one / "eval" / "trial_sft_dagger.transcripts.jsonl"]
    two = tmp_path / "two"
    shutil.copytree(one, two)
    for path in [*made, one / "eval" / "trial_sft_dagger.json"]:
        (two / path.relative_to(one)).unlink()
    shutil.rmtree(two / "recovery_trial")
    run_pipeline(two, preset, model_name="tiny", methods=["trial_sft_dagger"], workers=2)
    for path in made:
        assert (two / path.relative_to(one)).read_bytes() == path.read_bytes(), path.name
    assert rollouts.read_bytes().count(b"\n") == 3 * len(preset.trace_sources())
