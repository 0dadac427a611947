"""SFT probe: zero-shot vs golden-trace SFT vs trial-trace SFT on the default model, no GRPO.

A middle budget between the pipeline's quick and full presets (60 traces per teacher, 2
epochs, learning rate 1e-3, 6 tasks per split, 3 turns): about 25 minutes on a 2-core CPU.

    python benchmarks/sft_probe.py --out benchmarks/results/sft_probe.json
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
from pathlib import Path

from tool_gym.agents.pipeline import Preset, run_pipeline, table_markdown

PROBE = Preset(traces_per_source=20, sft_epochs=2.0, sft_max_length=768, sft_learning_rate=1e-3,
               eval_episodes=6, eval_max_turns=3, eval_max_new_tokens=64, eval_batch_size=16)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", default="runs/sft-probe")
    parser.add_argument("--model", default="default")
    parser.add_argument("--out", default="benchmarks/results/sft_probe.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    report = run_pipeline(args.run_dir, PROBE, model_name=args.model,
                          methods=["zero_shot", "golden_sft", "trial_sft"])
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str))
    sft = "\n".join(f"- {t} SFT: held-out loss {d['eval_loss_before']:.3f} -> {d['eval_loss']:.3f}"
                    f" ({d['global_step']} steps)" for t, d in report["sft"].items())
    table = table_markdown(report["rows"])
    out.with_suffix(".md").write_text(f"# SFT probe (model {args.model})\n\n{sft}\n\n{table}")
    shutil.copyfile(Path(args.run_dir) / "results.png", out.with_suffix(".png"))
    print(sft + "\n\n" + table)
    return report


if __name__ == "__main__":
    main()
