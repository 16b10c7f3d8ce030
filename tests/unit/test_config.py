"""Settings.from_env: defaults, parsing, and a ConfigError naming the variable for bad values."""

from __future__ import annotations

import dataclasses

import pytest

from chalicelib.config import ConfigError, EnvReader, Settings


def test_defaults_with_an_empty_environment() -> None:
    settings = Settings.from_env({})

    assert {
        "app_name": settings.app_name,
        "stage": settings.stage,
        "aws_region": settings.aws_region,
        "aws_endpoint_url": settings.aws_endpoint_url,
        "resource_prefix": settings.resource_prefix,
        "opensearch_url": settings.opensearch_url,
        "opensearch_sigv4": settings.opensearch_sigv4,
        "redis_url": settings.redis_url,
        "redis_required": settings.redis_required,
        "health_timeout_s": settings.health_timeout_s,
        "max_body_bytes": settings.max_body_bytes,
        "cors_allow_origins": settings.cors_allow_origins,
        "log_level": settings.log_level,
        "stream_arns": settings.stream_arns,
    } == {
        "app_name": "serverless-platform",
        "stage": "local",
        "aws_region": "us-east-1",
        "aws_endpoint_url": None,
        "resource_prefix": "sp-local",
        "opensearch_url": "http://127.0.0.1:9200",
        "opensearch_sigv4": False,
        "redis_url": "redis://127.0.0.1:6379/0",
        "redis_required": False,
        "health_timeout_s": 2.0,
        "max_body_bytes": 1_048_576,
        "cors_allow_origins": ("*",),
        "log_level": "INFO",
        "stream_arns": {},
    }


def test_every_variable_is_read() -> None:
    settings = Settings.from_env(
        {
            "APP_NAME": "shop",
            "STAGE": "prod",
            "AWS_REGION": "eu-west-1",
            "AWS_ENDPOINT_URL": "http://localhost:4566/",
            "RESOURCE_PREFIX": "shop-prod",
            "OPENSEARCH_URL": "https://search.example.com/",
            "OPENSEARCH_SIGV4": "true",
            "REDIS_URL": "rediss://cache.example.com:6380/1",
            "REDIS_REQUIRED": "yes",
            "HEALTH_TIMEOUT_S": "0.75",
            "MAX_BODY_BYTES": "2048",
            "CORS_ALLOW_ORIGINS": "https://a.example, https://b.example ,,",
            "LOG_LEVEL": "DEBUG",
        }
    )

    assert settings.app_name == "shop"
    assert settings.stage == "prod"
    assert settings.aws_region == "eu-west-1"
    assert settings.aws_endpoint_url == "http://localhost:4566"  # trailing slash dropped
    assert settings.resource_prefix == "shop-prod"
    assert settings.opensearch_url == "https://search.example.com"
    assert settings.opensearch_sigv4 is True
    assert settings.redis_url == "rediss://cache.example.com:6380/1"
    assert settings.redis_required is True
    assert settings.health_timeout_s == 0.75
    assert settings.max_body_bytes == 2048
    assert settings.cors_allow_origins == ("https://a.example", "https://b.example")
    assert settings.log_level == "DEBUG"


def test_resource_prefix_defaults_from_the_stage() -> None:
    assert Settings.from_env({"STAGE": "dev"}).resource_prefix == "sp-dev"
    assert Settings.from_env({"STAGE": "dev", "RESOURCE_PREFIX": "custom"}).resource_prefix == "custom"


def test_aws_region_falls_back_to_aws_default_region() -> None:
    assert Settings.from_env({"AWS_DEFAULT_REGION": "ap-south-1"}).aws_region == "ap-south-1"
    assert Settings.from_env({"AWS_DEFAULT_REGION": "ap-south-1", "AWS_REGION": "eu-north-1"}).aws_region == (
        "eu-north-1"
    )


def test_blank_values_mean_the_default() -> None:
    settings = Settings.from_env({"APP_NAME": "   ", "STAGE": "", "AWS_ENDPOINT_URL": " ", "MAX_BODY_BYTES": ""})

    assert settings.app_name == "serverless-platform"
    assert settings.stage == "local"
    assert settings.aws_endpoint_url is None
    assert settings.max_body_bytes == 1_048_576


def test_values_are_stripped() -> None:
    settings = Settings.from_env({"STAGE": " test ", "MAX_BODY_BYTES": " 10 ", "OPENSEARCH_SIGV4": " ON "})

    assert (settings.stage, settings.max_body_bytes, settings.opensearch_sigv4) == ("test", 10, True)


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("TRUE", True), ("no", False), ("Off", False), ("0", False)]
)
def test_booleans(raw: str, expected: bool) -> None:
    assert Settings.from_env({"REDIS_REQUIRED": raw}).redis_required is expected


def test_stream_arns_are_collected_by_lowercased_key_and_empty_ones_ignored() -> None:
    settings = Settings.from_env(
        {
            "STREAM_ARN_ORDERS": "arn:aws:dynamodb:us-east-1:1:table/sp-local-orders/stream/x",
            "STREAM_ARN_EMPTY": "",
            "NOT_STREAM_ARN_X": "arn:ignored",
        }
    )

    assert settings.stream_arns == {"orders": "arn:aws:dynamodb:us-east-1:1:table/sp-local-orders/stream/x"}


def test_from_env_without_a_mapping_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_NAME", "from-os-environ")
    monkeypatch.setenv("STAGE", "test")

    settings = Settings.from_env()

    assert (settings.app_name, settings.stage) == ("from-os-environ", "test")


def test_settings_are_immutable() -> None:
    settings = Settings.from_env({})

    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.stage = "prod"  # type: ignore[misc]


def test_resource_name_prefixes_the_key() -> None:
    assert Settings.from_env({"STAGE": "test"}).resource_name("orders") == "sp-test-orders"
    assert Settings.from_env({"RESOURCE_PREFIX": "x"}).resource_name("order-events") == "x-order-events"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("STAGE", "production"),
        ("LOG_LEVEL", "TRACE"),
        ("AWS_ENDPOINT_URL", "localhost:4566"),
        ("AWS_ENDPOINT_URL", "ftp://localhost"),
        ("OPENSEARCH_URL", "http://"),
        ("REDIS_URL", "http://127.0.0.1:6379"),
        ("OPENSEARCH_SIGV4", "maybe"),
        ("REDIS_REQUIRED", "2"),
        ("HEALTH_TIMEOUT_S", "soon"),
        ("HEALTH_TIMEOUT_S", "0"),
        ("HEALTH_TIMEOUT_S", "-1.5"),
        ("MAX_BODY_BYTES", "1.5"),
        ("MAX_BODY_BYTES", "lots"),
        ("MAX_BODY_BYTES", "0"),
        ("MAX_BODY_BYTES", "-10"),
    ],
)
def test_a_bad_value_raises_config_error_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({name: value})

    message = str(raised.value)
    assert message.startswith(f"{name}: ")
    assert isinstance(raised.value, ValueError)


def test_config_error_shows_the_offending_value_and_the_choices() -> None:
    with pytest.raises(ConfigError, match=r"^STAGE: expected one of local, test, dev, prod, got 'production'$"):
        Settings.from_env({"STAGE": "production"})
    with pytest.raises(ConfigError, match=r"^MAX_BODY_BYTES: must be >= 1, got 0$"):
        Settings.from_env({"MAX_BODY_BYTES": "0"})


def test_env_reader_bounds() -> None:
    read = EnvReader({"N": "5", "F": "0.5"})

    assert read.int("N", 1, minimum=5) == 5
    with pytest.raises(ConfigError, match=r"^N: must be >= 6, got 5$"):
        read.int("N", 1, minimum=6)
    assert read.float("F", 1.0, minimum=0.4) == 0.5
    with pytest.raises(ConfigError, match=r"^F: must be > 0\.5, got 0\.5$"):
        read.float("F", 1.0, minimum=0.5)
    assert read.optional("MISSING") is None
    assert read.url("MISSING", None, ("http",)) is None
    assert read.list("MISSING", " a ,b,, c") == ("a", "b", "c")


@pytest.mark.parametrize("value", ["nan", "inf", "1e400"])
def test_non_finite_health_timeout_is_a_config_error(value: str) -> None:
    with pytest.raises(ConfigError, match=r"^HEALTH_TIMEOUT_S: "):
        Settings.from_env({"HEALTH_TIMEOUT_S": value})


def test_a_unix_socket_redis_url_is_accepted() -> None:
    assert Settings.from_env({"REDIS_URL": "unix:///var/run/redis.sock"}).redis_url == "unix:///var/run/redis.sock"
