"""buildspec.yml: the guide's phases, the unit tests before the push, and the container name
that imagedefinitions.json gives is the ECS task's container in the synthesized template."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import yaml
from infra_synth import REPO_ROOT, Synth

BUILDSPEC = yaml.safe_load((REPO_ROOT / "buildspec.yml").read_text())


def commands(phase: str) -> list[str]:
    return [str(c) for c in BUILDSPEC["phases"][phase]["commands"]]


def all_commands() -> list[str]:
    return [c for phase in ("pre_build", "build", "post_build") for c in commands(phase)]


def index_of(fragment: str) -> int:
    found = [i for i, command in enumerate(all_commands()) if fragment in command]
    assert found, f"no command contains {fragment!r}"
    return found[0]


def test_the_guides_phases_and_artifact() -> None:
    assert BUILDSPEC["version"] == 0.2
    assert list(BUILDSPEC["phases"]) == ["pre_build", "build", "post_build"]
    assert BUILDSPEC["artifacts"]["files"] == ["imagedefinitions.json"]
    assert "aws ecr get-login-password" in commands("pre_build")[1]
    assert any("CODEBUILD_RESOLVED_SOURCE_VERSION | cut -c 1-7" in c for c in commands("pre_build"))


def test_unit_tests_run_inside_the_image_before_anything_is_pushed() -> None:
    tested = index_of("docker run --rm cloudmall:test")
    assert index_of("--target test") < tested < index_of("docker push")
    assert BUILDSPEC["phases"]["build"]["on-failure"] == "ABORT"
    assert commands("post_build")[0] == 'test "$CODEBUILD_BUILD_SUCCEEDING" = 1'


def image_definitions(tmp_path: Path) -> list[dict[str, Any]]:
    """Run the post_build command that writes imagedefinitions.json, as CodeBuild's shell would."""
    (line,) = [c for c in commands("post_build") if "imagedefinitions.json" in c and "printf" in c]
    env = {
        "PATH": "/usr/bin:/bin",
        **BUILDSPEC["env"]["variables"],
        "REPOSITORY_URI": "111122223333.dkr.ecr.ap-northeast-2.amazonaws.com/shop",
        "IMAGE_TAG": "abc1234",
    }
    subprocess.run(["bash", "-c", line], cwd=tmp_path, env=env, check=True)
    written: list[dict[str, Any]] = json.loads((tmp_path / "imagedefinitions.json").read_text())
    return written


def test_image_definitions_name_the_ecs_tasks_containers(production: Synth, tmp_path: Path) -> None:
    definitions = image_definitions(tmp_path)
    uri = "111122223333.dkr.ecr.ap-northeast-2.amazonaws.com/shop:abc1234"
    assert [d["imageUri"] for d in definitions] == [uri, uri]
    assert definitions[0]["name"] == "shopping-mall-app"  # the guide's container name
    for stack in ("ContainerShop", "ContainerShopStaging"):
        (task,) = [
            t
            for lid, t in production.resources(stack, "AWS::ECS::TaskDefinition").items()
            if lid.startswith("ShopTask")  # the service's (the lake export has its own)
        ]
        in_task = task["Properties"]["ContainerDefinitions"]
        (essential,) = [c["Name"] for c in in_task if c.get("Essential", True)]
        assert essential == definitions[0]["name"]
        # every container gets the new image: migrations run with the code they belong to
        assert sorted(c["Name"] for c in in_task) == sorted(d["name"] for d in definitions)


def test_the_pipeline_gives_codebuild_what_the_buildspec_reads(production: Synth) -> None:
    (project,) = production.resources("ShopPipeline", "AWS::CodeBuild::Project").values()
    given = {v["Name"] for v in project["Properties"]["Environment"]["EnvironmentVariables"]}
    read = {"IMAGE_REPO_NAME", "AWS_ACCOUNT_ID"}
    assert read <= given
    assert all(f"${name}" in " ".join(all_commands()) for name in read)
