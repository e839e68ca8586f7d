"""Joining a Ray cluster that uses token authentication, without a cluster: which Ray
variables damagemap sets for a token file or a token in the environment, the checks on
the token file, and the one line a refused token becomes."""

import argparse
from pathlib import Path

import pytest

from core.errors import InputError
from services.cluster import ClusterError, ClusterOptions, RaySession, is_auth_failure, token_environment


def test_a_token_file_switches_token_mode_on_and_wins_over_the_environment(tmp_path):
    token = tmp_path / "ray-token"
    token.write_text("abc123\n")
    options = ClusterOptions(address="head:6379", token_file=token)
    env = token_environment(options, {"RAY_AUTH_TOKEN": "stale", "RAY_AUTH_MODE": "disabled"})
    assert env == {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token.resolve()), "RAY_AUTH_TOKEN": ""}


@pytest.mark.parametrize("environ, expected", [
    ({}, {}),  # nothing given: Ray's own default (no token sent to an explicit address)
    ({"RAY_AUTH_TOKEN": "abc"}, {"RAY_AUTH_MODE": "token"}),
    ({"RAY_AUTH_TOKEN_PATH": "/run/ray-token"}, {"RAY_AUTH_MODE": "token"}),
    ({"RAY_AUTH_TOKEN": "abc", "RAY_AUTH_MODE": "disabled"}, {}),  # an explicit mode is respected
    ({"RAY_AUTH_TOKEN": ""}, {}),
])
def test_a_token_in_the_environment_switches_token_mode_on(environ, expected):
    assert token_environment(ClusterOptions(address="10.0.0.5:6379"), environ) == expected


def test_a_local_instance_is_left_to_ray():
    assert token_environment(ClusterOptions(workers=2), {"RAY_AUTH_TOKEN": "abc"}) == {}


def test_the_token_file_is_checked_and_named(tmp_path):
    with pytest.raises(InputError, match="missing-token.*cannot read the Ray token file"):
        ClusterOptions(address="head:6379", token_file=tmp_path / "missing-token")
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(InputError, match="empty.*is empty"):
        ClusterOptions(address="head:6379", token_file=tmp_path / "empty")
    (tmp_path / "t").write_text("abc")
    with pytest.raises(InputError, match="give its address"):
        ClusterOptions(token_file=tmp_path / "t")


def test_the_cli_flag_needs_an_address(tmp_path):
    from app.commands.survey import add_cluster_arguments, cluster_options

    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=None)
    add_cluster_arguments(parser)
    (tmp_path / "t").write_text("abc")
    with pytest.raises(InputError, match="--ray-token-file goes with --ray"):
        cluster_options(parser.parse_args(["--ray-token-file", str(tmp_path / "t")]))
    options = cluster_options(parser.parse_args(["--ray", "head:6379", "--ray-token-file", str(tmp_path / "t")]))
    assert options.address == "head:6379" and options.token_file == Path(tmp_path / "t")


def _refused() -> ConnectionError:
    """What ray.init raises for a refused token: the reason only in a cause's text."""
    try:
        try:
            raise RuntimeError("Failed to connect to GCS. Last connection error: Traceback ...\n"
                               "ray.exceptions.AuthenticationError: RPC error: InvalidAuthToken: "
                               "Authentication token is missing or incorrect.")
        except RuntimeError as cause:
            raise ConnectionError("Failed to connect to Ray cluster at 10.0.0.5:6379") from cause
    except ConnectionError as exc:
        return exc


def test_an_auth_failure_is_found_in_the_causes():
    assert is_auth_failure(_refused())
    assert not is_auth_failure(ConnectionError("Failed to connect to Ray cluster at 10.0.0.5:6379"))


class _FakeRay:
    """Stands in for the ray module: ``init`` fails as Ray does."""

    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.exceptions = type("exceptions", (), {"RayError": type("RayError", (Exception,), {})})

    def is_initialized(self) -> bool:
        return False

    def init(self, **kwargs: object) -> None:
        raise self.error


@pytest.fixture
def no_ray_token(monkeypatch):
    for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
        monkeypatch.setenv(name, "x")  # recorded, so the test leaves the environment as it was
        monkeypatch.delenv(name)


def test_a_refused_token_is_one_line_saying_what_to_set(no_ray_token):
    pytest.importorskip("ray", reason='Ray is not installed (pip install -e ".[cluster]")')
    session = RaySession(ClusterOptions(address="10.0.0.5:6379"))
    session.ray = _FakeRay(_refused())
    with pytest.raises(ClusterError) as info:
        session.__enter__()
    message = str(info.value)
    assert "\n" not in message
    assert "10.0.0.5:6379" in message and "ray get-auth-token" in message
    assert "--ray-token-file" in message and "RAY_AUTH_TOKEN" in message


def test_other_connection_failures_keep_ray_s_reason(no_ray_token):
    pytest.importorskip("ray", reason='Ray is not installed (pip install -e ".[cluster]")')
    session = RaySession(ClusterOptions(address="10.0.0.5:6379"))
    session.ray = _FakeRay(ConnectionError("Failed to connect to Ray cluster at 10.0.0.5:6379\nmore"))
    with pytest.raises(ClusterError, match=r"cannot start or reach Ray on 10.0.0.5:6379: Failed to connect") as info:
        session.__enter__()
    assert "\n" not in str(info.value) and "token" not in str(info.value)
