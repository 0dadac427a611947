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
