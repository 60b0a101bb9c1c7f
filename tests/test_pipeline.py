"""The study pipeline: sweep expansion, the task plan, and its two executors (Make and Dask)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from qrnn_core import study

ROOT = Path(__file__).resolve().parents[1]


def write_profile(root: Path, sweeps: dict[str, object], runs: dict[str, dict] | None = None, profile: str = "smoke") -> Path:
    """A minimal repository layout under ``root`` with the given sweep and run files."""
    config_dir = root / "configs" / profile
    (config_dir / "train").mkdir(parents=True, exist_ok=True)
    (config_dir / "sweeps").mkdir(parents=True, exist_ok=True)
    for name, params in (runs or {}).items():
        (config_dir / "train" / f"{name}.yaml").write_text(yaml.safe_dump(params))
    for name, spec in sweeps.items():
        (config_dir / "sweeps" / f"{name}.yaml").write_text(spec if isinstance(spec, str) else yaml.safe_dump(spec))
    return root


SEEDS = {
    "base": {"epochs": 2, "n_train": 1, "lr": 0.007},
    "cases": [{"method": "spsa", "shots": 1024, "run_label": "SPSA"}, {"method": "exact", "shots": None, "run_label": "exact"}],
    "grid": {"seed": [1, 2, 3]},
    "name": "{method}-s{seed}",
}


def test_sweep_expands_cases_crossed_with_the_grid(tmp_path):
    write_profile(tmp_path, {"seeds": SEEDS}, runs={"exact-cpu": {"method": "exact", "seed": 5}})
    runs = study.run_configs("smoke", tmp_path)
    assert list(runs) == ["exact-cpu", *(f"seeds-{m}-s{s}" for m in ("spsa", "exact") for s in (1, 2, 3))]
    assert runs["seeds-spsa-s2"] == {"epochs": 2, "n_train": 1, "lr": 0.007, "method": "spsa", "shots": 1024,
                                     "run_label": "SPSA", "seed": 2, "sweep": "seeds"}  # fmt: skip
    assert runs["exact-cpu"] == {"method": "exact", "seed": 5}, "plain runs carry no sweep"


def test_grid_overrides_case_overrides_base(tmp_path):
    spec = {"base": {"lr": 1, "seed": 0}, "cases": [{"lr": 2, "seed": 9}], "grid": {"seed": [7]}, "name": "r{seed}"}
    runs = study.run_configs("smoke", write_profile(tmp_path, {"s": spec}))
    assert runs == {"s-r7": {"lr": 2, "seed": 7, "sweep": "s"}}


def test_sweep_without_cases_or_grid_is_one_run(tmp_path):
    runs = study.run_configs("smoke", write_profile(tmp_path, {"one": {"base": {"seed": 3}, "name": "s{seed}"}}))
    assert runs == {"one-s3": {"seed": 3, "sweep": "one"}}


def test_load_profile_returns_sweep_runs_like_any_other(tmp_path):
    write_profile(tmp_path, {"seeds": SEEDS})
    loaded = study.load_profile("smoke", tmp_path)
    assert [run.name for run in loaded] == list(study.run_configs("smoke", tmp_path))
    assert {run.params["sweep"] for run in loaded} == {"seeds"}
    assert all(run.run_dir == tmp_path / "build" / "smoke" / "runs" / run.name and run.status == "missing" for run in loaded)


@pytest.mark.parametrize(
    "spec, message",
    [
        (SEEDS | {"seeds": [1]}, "unknown key(s) 'seeds'"),
        (SEEDS | {"name": "{method}"}, "run name 'bad-spsa' is produced twice"),
        (SEEDS | {"name": "{method}-{shots}-{seed}"}, "run name 'bad-exact-None-1' is not allowed"),
        (SEEDS | {"name": "{method}-{missing}"}, "cannot be filled"),
        (SEEDS | {"name": None}, "'name' must be a run-name template"),
        (SEEDS | {"grid": {"seed": []}}, "'grid' must map parameters to non-empty lists"),
        (SEEDS | {"cases": {"method": "spsa"}}, "'cases' must be a list"),
        (SEEDS | {"base": [1]}, "'base' must be a mapping"),
        (SEEDS | {"base": {"sweep": "x"}}, "base sets sweep"),
        (SEEDS | {"cases": [{"out_dir": "x"}]}, "cases[0] sets out_dir"),
        ("- 1\n- 2\n", "must be a mapping"),
    ],
    ids=["unknown-key", "duplicate-name", "bad-characters", "missing-field", "no-template", "empty-grid", "cases-not-list",
         "base-not-mapping", "reserved-sweep", "reserved-out-dir", "not-a-mapping"],  # fmt: skip
)
def test_bad_sweep_raises_naming_the_file_and_the_entry(tmp_path, spec, message):
    write_profile(tmp_path, {"bad": spec})
    with pytest.raises(ValueError, match="sweep file .*bad.yaml") as error:
        study.run_configs("smoke", tmp_path)
    assert message in str(error.value)


def test_sweep_run_may_not_reuse_a_plain_run_name(tmp_path):
    write_profile(tmp_path, {"seeds": SEEDS}, runs={"seeds-spsa-s1": {"method": "spsa"}})
    with pytest.raises(ValueError, match="'seeds-spsa-s1' is already used"):
        study.run_configs("smoke", tmp_path)


def test_bad_sweep_file_name_is_rejected(tmp_path):
    write_profile(tmp_path, {"Seeds": SEEDS})
    with pytest.raises(ValueError, match="run name 'Seeds' is not allowed"):
        study.run_configs("smoke", tmp_path)


def test_committed_sweeps_expand():
    for profile in study.PROFILES:
        for name, params in study.run_configs(profile, ROOT).items():
            assert study.RUN_NAME.fullmatch(name), name
            assert params.get("sweep") is None or name.startswith(params["sweep"] + "-"), name
