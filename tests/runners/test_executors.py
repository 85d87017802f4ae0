"""Executors without an engine running: choosing one, resources in specs, what Ray would be asked for."""
import io
import sys
import threading

import pytest

from registry.tasks.distillation import _exclusive
from runners.cli import main
from runners.executors import ExecutorError, create, names
from runners.executors.local import LocalExecutor
from runners.executors.ray import RayExecutor, capacity, task_resources
from runners.identity import run_id
from runners.progress import SweepReporter
from specs.errors import SpecError
from specs.loader import expand
from tests.runners.conftest import digits_spec, write_spec


def test_executors_are_the_modules_of_the_package():
    assert {"local", "ray"} <= set(names())
    assert isinstance(create("local"), LocalExecutor)
    with pytest.raises(ExecutorError, match="unknown executor 'dask'"):
        create("dask")


def test_resources_are_not_part_of_a_runs_identity(tmp_path):
    plain = expand(write_spec(tmp_path, {**digits_spec(), "seeds": [0, 1]}, "plain.yaml"))
    with_resources = expand(write_spec(tmp_path, {**digits_spec(), "seeds": [0, 1], "resources": {"cpus": 4, "gpus": 0.5}}, "res.yaml"))
    assert [run_id(r) for r in plain] == [run_id(r) for r in with_resources]
    assert with_resources[0].spec.resources.cpus == 4 and plain[0].spec.resources.cpus is None


def test_a_misspelt_resource_names_the_keys(tmp_path):
    with pytest.raises(SpecError) as err:
        expand(write_spec(tmp_path, {**digits_spec(), "resources": {"gpu": 1}}))
    (problem,) = err.value.problems
    assert problem.path == "resources.gpu" and "did you mean 'gpus'" in problem.message


def test_ray_task_resources_follow_the_spec_and_the_device(tmp_path):
    run = expand(write_spec(tmp_path, digits_spec()))[0]  # device cpu, no resources
    assert task_resources(run, None, cluster_gpus=2) == {"num_cpus": 1.0, "num_gpus": 0.0}
    assert task_resources(run, "cuda", cluster_gpus=0) == {"num_cpus": 1.0, "num_gpus": 1.0}
    assert task_resources(run, "auto", cluster_gpus=2)["num_gpus"] == 1.0
    assert task_resources(run, "auto", cluster_gpus=0)["num_gpus"] == 0.0
    declared = expand(write_spec(tmp_path, {**digits_spec(), "device": "cuda", "resources": {"cpus": 4, "gpus": 0.5}}, "d.yaml"))[0]
    assert task_resources(declared, None, cluster_gpus=8) == {"num_cpus": 4, "num_gpus": 0.5}


def test_ray_runs_as_many_tasks_as_the_cluster_holds():
    assert capacity([{"num_cpus": 1.0, "num_gpus": 0.0}] * 3, {"CPU": 2.0}) == 2
    assert capacity([{"num_cpus": 4.0, "num_gpus": 1.0}], {"CPU": 16.0, "GPU": 2.0}) == 2
    assert capacity([{"num_cpus": 8.0, "num_gpus": 0.0}], {"CPU": 2.0}) == 1


def test_a_run_no_machine_can_hold_is_refused_on_a_local_instance():
    reporter = SweepReporter(io.StringIO(), live=False)
    executor = RayExecutor()
    with pytest.raises(ExecutorError, match="asks for 1 CPUs and 1 GPUs but the Ray cluster has 2 CPUs and 0 GPUs"):
        executor._check_fits([{"num_cpus": 1.0, "num_gpus": 1.0}], {"CPU": 2.0}, reporter, strict=True)
    executor._check_fits([{"num_cpus": 1.0, "num_gpus": 1.0}], {"CPU": 2.0}, reporter, strict=False)  # a cluster may grow
    assert "warning: a run asks for" in reporter.console.file.getvalue()


def test_ray_missing_exits_2_with_the_install_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if it were not installed
    spec = write_spec(tmp_path, digits_spec())
    assert main(["run", str(spec), "--executor", "ray", "--results", str(tmp_path / "results")]) == 2
    assert "pip install 'podium[ray]'" in capsys.readouterr().err
    assert not (tmp_path / "results").exists()  # nothing ran


@pytest.mark.parametrize("options", [["--address", "10.0.0.1:6379"], ["--max-parallel", "2"]])
def test_cluster_options_need_a_distributed_executor(tmp_path, capsys, options):
    spec = write_spec(tmp_path, digits_spec())
    assert main(["run", str(spec), *options, "--results", str(tmp_path / "results")]) == 2
    assert "--executor ray" in capsys.readouterr().err


def test_the_teacher_cache_lock_excludes_other_holders(tmp_path):
    entered = threading.Event()

    def other() -> None:
        with _exclusive(tmp_path / "teacher"):
            entered.set()

    with _exclusive(tmp_path / "teacher"):
        waiter = threading.Thread(target=other)
        waiter.start()
        assert not entered.wait(0.3)  # flock locks belong to each open file, so a second open waits
    assert entered.wait(5)
    waiter.join()
