"""The CDK stack against the declarations (chalicelib/declarations.py), and cfn-lint on its template.

Two stacks are synthesized once per module, side by side in child processes (the Chalice
construct imports app.py, which must see the stream ARN tokens; see infrastructure/stack.py),
in template-only mode so no network is needed:

- dev: the platform's app.py;
- prod: the integration tests' probe app (tests/integration/probe_app), whose SQS handler and
  schedules the platform does not have yet, deployed as a prod stage.

Both load the same extra declarations, so the registries this module reads are the ones the
stacks were built from. Expectations come from the registries, never from a list here.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip(
    "aws_cdk", reason="the CDK libraries are not installed: pip install -r infrastructure/requirements.txt"
)
if shutil.which("node") is None:
    pytest.skip("the CDK libraries run on Node.js, which is not on PATH", allow_module_level=True)

from aws_cdk.assertions import Match, Template

from chalicelib import declarations, resources  # noqa: F401  (declarations fill the registry)
from chalicelib.config import Settings
from chalicelib.http.middleware import SECURITY_HEADERS
from chalicelib.resources import stream_env_suffix

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
MAIL_FROM = "no-reply@mail.example.com"
CONTEXT = {
    "templateOnly": "true",
    "mailFrom": MAIL_FROM,
    "publicBaseUrl": "https://api.example.com",
    "alarmEmail": "ops@example.com",
    "declarations": "tests.infra.declarations,tests.integration.probe_app.resources",
}
PROBE_CONFIG = {
    "version": "2.0",
    "app_name": "probe",
    "automatic_layer": True,
    "stages": {"prod": {"api_gateway_stage": "api", "lambda_timeout": 30}},
}
SYNTH_TIMEOUT_S = 300
REGISTRIES = ("TABLES", "QUEUES", "SEARCH_INDEXES", "EVENT_BUSES", "SECRETS")


@pytest.fixture(scope="module", autouse=True)
def extra_declarations():
    """The same extra resources the synthesis loads (CONTEXT["declarations"]), in the registries
    for this module only: other tests in the run must see the platform's declaration alone."""
    saved = {name: dict(getattr(resources, name)) for name in REGISTRIES}
    for module in CONTEXT["declarations"].split(","):
        importlib.reload(importlib.import_module(module))
    yield
    for name, registry in saved.items():
        target = getattr(resources, name)
        target.clear()
        target.update(registry)


def probe_project(directory: Path) -> Path:
    """A Chalice project around the probe app: app.py re-exports it, .chalice/config.json names it."""
    (directory / ".chalice").mkdir(parents=True)
    (directory / ".chalice" / "config.json").write_text(json.dumps(PROBE_CONFIG))
    (directory / "app.py").write_text("from tests.integration.probe_app.app import app  # noqa: F401\n")
    (directory / "requirements.txt").write_text("")
    return directory


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """dev (the platform) and prod (the probe app), synthesized side by side (about 15 s each)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        # Node 20 works but is past its end of life for jsii; its banner only clutters the output.
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    stages = {"dev": {}, "prod": {"projectDir": str(probe_project(tmp_path_factory.mktemp("probe-project")))}}
    runs = {}
    for stage, extra in stages.items():
        outdir = tmp_path_factory.mktemp(f"cdk-{stage}")
        args = [sys.executable, "-m", "infrastructure.app", "-c", f"stage={stage}"]
        for key, value in {**CONTEXT, **extra}.items():
            args += ["-c", f"{key}={value}"]
        process = subprocess.Popen(
            args,
            cwd=ROOT,
            env={**env, "CDK_OUTDIR": str(outdir)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        runs[stage] = (process, outdir)
    paths = {}
    for stage, (process, outdir) in runs.items():
        output, _ = process.communicate(timeout=SYNTH_TIMEOUT_S)
        assert process.returncode == 0, f"synthesis of {stage} failed:\n{output[-6000:]}"
        paths[stage] = outdir / f"{stage}.template.json"
    return paths


@pytest.fixture(scope="module")
def dev(templates: dict[str, Path]) -> dict[str, Any]:
    return json.loads(templates["dev"].read_text())


@pytest.fixture(scope="module")
def prod(templates: dict[str, Path]) -> dict[str, Any]:
    return json.loads(templates["prod"].read_text())


@pytest.fixture(scope="module")
def dev_template(dev: dict[str, Any]) -> Template:
    return Template.from_json(dev)


def of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == resource_type}


def named(template: dict[str, Any], resource_type: str, name_property: str, name: str) -> str:
    """The logical id of the resource of this type whose name property is `name`."""
    found = [
        logical for logical, r in of_type(template, resource_type).items() if r["Properties"].get(name_property) == name
    ]
    assert len(found) == 1, f"{resource_type} {name}: found {found}"
    return found[0]


def key_schema(hash_key: resources.Key, range_key: resources.Key | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": hash_key.name, "KeyType": "HASH"}]
    if range_key:
        schema.append({"AttributeName": range_key.name, "KeyType": "RANGE"})
    return schema


def dev_table(key: str) -> str:
    """The dev stage's name of a declared table."""
    return resources.TABLES[key].table_name(dataclasses.replace(Settings.from_env(), resource_prefix="sp-dev"))


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return of_type(template, "AWS::Serverless::Function")


def test_every_declared_table_with_streams_pitr_ttl_and_indexes(dev: dict[str, Any], dev_template: Template) -> None:
    assert resources.TABLES, "nothing declared: the registry import is broken"
    dev_template.resource_count_is("AWS::DynamoDB::Table", len(resources.TABLES))
    for key, spec in resources.TABLES.items():
        expected: dict[str, Any] = {
            "TableName": dev_table(key),
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": key_schema(spec.hash_key, spec.range_key),
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "StreamSpecification": ({"StreamViewType": "NEW_AND_OLD_IMAGES"} if spec.stream else Match.absent()),
            "TimeToLiveSpecification": (
                {"AttributeName": spec.ttl_attribute, "Enabled": True} if spec.ttl_attribute else Match.absent()
            ),
            "GlobalSecondaryIndexes": (
                Match.array_equals(
                    [
                        {
                            "IndexName": index.name,
                            "KeySchema": key_schema(index.hash_key, index.range_key),
                            "Projection": {"ProjectionType": "ALL"},
                        }
                        for index in spec.indexes
                    ]
                )
                if spec.indexes
                else Match.absent()
            ),
        }
        dev_template.has_resource_properties("AWS::DynamoDB::Table", expected)
        table = dev["Resources"][named(dev, "AWS::DynamoDB::Table", "TableName", dev_table(key))]
        keys = (
            spec.hash_key,
            spec.range_key,
            *(i.hash_key for i in spec.indexes),
            *(i.range_key for i in spec.indexes),
        )
        declared_types = {k.name: k.type for k in keys if k is not None}
        defined = {a["AttributeName"]: a["AttributeType"] for a in table["Properties"]["AttributeDefinitions"]}
        assert defined == declared_types
        assert table["DeletionPolicy"] == "Delete", "dev data is disposable"


def test_every_declared_queue_with_its_dead_letter_queue_and_redrive(dev: dict[str, Any]) -> None:
    deployed = resources.deployed_queues()
    expected_count = len(deployed) + sum(1 for spec in deployed.values() if spec.dead_letter)
    assert len(of_type(dev, "AWS::SQS::Queue")) == expected_count
    names = {q["Properties"]["QueueName"] for q in of_type(dev, "AWS::SQS::Queue").values()}
    # The local cloud's own queues (the `make events` tap) would fill to retention in AWS.
    assert not {f"sp-dev-{key}" for key, spec in resources.QUEUES.items() if spec.local_only} & names
    for key, spec in deployed.items():
        suffix = ".fifo" if spec.fifo else ""
        queue = dev["Resources"][named(dev, "AWS::SQS::Queue", "QueueName", f"sp-dev-{key}{suffix}")]["Properties"]
        assert queue["VisibilityTimeout"] == spec.visibility_timeout_s
        assert queue.get("FifoQueue", False) is spec.fifo
        assert queue["SqsManagedSseEnabled"] is True
        if spec.dead_letter:
            dlq = named(dev, "AWS::SQS::Queue", "QueueName", f"sp-dev-{spec.dlq_key}{suffix}")
            assert queue["RedrivePolicy"] == {
                "deadLetterTargetArn": {"Fn::GetAtt": [dlq, "Arn"]},
                "maxReceiveCount": spec.max_receive_count,
            }
            assert dev["Resources"][dlq]["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
        else:
            assert "RedrivePolicy" not in queue


def test_event_buses_and_their_rules(dev: dict[str, Any]) -> None:
    assert resources.EVENT_BUSES
    for key, spec in resources.EVENT_BUSES.items():
        bus = named(dev, "AWS::Events::EventBus", "Name", f"sp-dev-{key}")
        for rule_name, prefixes, queue_key in spec.rules:
            rule = dev["Resources"][named(dev, "AWS::Events::Rule", "Name", f"sp-dev-{rule_name}")]["Properties"]
            assert rule["EventBusName"] == {"Ref": bus}
            assert rule["EventPattern"] == {"detail-type": [{"prefix": p} for p in prefixes]}
            queue = named(dev, "AWS::SQS::Queue", "QueueName", f"sp-dev-{queue_key}")
            assert [t["Arn"] for t in rule["Targets"]] == [{"Fn::GetAtt": [queue, "Arn"]}]
    rules = {r["Properties"].get("Name") for r in of_type(dev, "AWS::Events::Rule").values()}
    # The `make events` tap is the local cloud's alone.
    assert not {f"sp-dev-{spec.tap_rule}" for spec in resources.EVENT_BUSES.values() if spec.local_tap} & rules
    assert any(spec.rules for spec in resources.EVENT_BUSES.values()), "tests/infra/declarations.py declares one"


def test_secrets_are_generated_never_written_in_the_template(dev: dict[str, Any]) -> None:
    assert len(of_type(dev, "AWS::SecretsManager::Secret")) == len(resources.SECRETS)
    for key in resources.SECRETS:
        secret = dev["Resources"][named(dev, "AWS::SecretsManager::Secret", "Name", f"sp-dev-{key}")]["Properties"]
        assert "SecretString" not in secret
        assert secret["GenerateSecretString"]["GenerateStringKey"]
        assert json.loads(secret["GenerateSecretString"]["SecretStringTemplate"]) == {"placeholder": True}


def test_opensearch_domain_is_encrypted_private_and_fine_grained(dev_template: Template) -> None:
    dev_template.resource_count_is("AWS::OpenSearchService::Domain", 1)
    dev_template.has_resource_properties(
        "AWS::OpenSearchService::Domain",
        {
            "DomainName": "sp-dev-search",
            "EncryptionAtRestOptions": {"Enabled": True},
            "NodeToNodeEncryptionOptions": {"Enabled": True},
            "DomainEndpointOptions": {"EnforceHTTPS": True, "TLSSecurityPolicy": "Policy-Min-TLS-1-2-2019-07"},
            "AdvancedSecurityOptions": {
                "Enabled": True,
                "InternalUserDatabaseEnabled": False,
                "MasterUserOptions": {
                    "MasterUserARN": {"Fn::GetAtt": [Match.string_like_regexp("^FunctionRole"), "Arn"]}
                },
            },
            "VPCOptions": {"SubnetIds": Match.any_value(), "SecurityGroupIds": Match.any_value()},
        },
    )


def test_elasticache_serverless_redis(dev_template: Template) -> None:
    dev_template.has_resource_properties(
        "AWS::ElastiCache::ServerlessCache",
        {
            "Engine": "redis",
            "ServerlessCacheName": "sp-dev-cache",
            "SubnetIds": Match.any_value(),
            "SecurityGroupIds": Match.any_value(),
        },
    )


def test_ses_identity_for_mail_from(dev_template: Template) -> None:
    dev_template.has_resource_properties("AWS::SES::EmailIdentity", {"EmailIdentity": MAIL_FROM})


def test_functions_get_the_settings_and_stream_arns_as_references(dev: dict[str, Any]) -> None:
    found = functions(dev)
    assert "APIHandler" in found
    for name, function in found.items():
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables["STAGE"] == "dev"
        assert variables["RESOURCE_PREFIX"] == "sp-dev"
        assert variables["MAIL_FROM"] == MAIL_FROM
        assert variables["PUBLIC_BASE_URL"] == "https://api.example.com"
        assert variables["JWT_KEYS_SECRET_ID"] == "sp-dev-jwt-signing-keys"
        assert variables["OPENSEARCH_SIGV4"] == "true"
        assert variables["OPENSEARCH_URL"]["Fn::Join"][1][0] == "https://"
        assert variables["REDIS_URL"]["Fn::Join"][1][0] == "rediss://"
        for key, spec in resources.TABLES.items():
            if spec.stream:
                table = named(dev, "AWS::DynamoDB::Table", "TableName", dev_table(key))
                assert variables[f"STREAM_ARN_{stream_env_suffix(key)}"] == {"Fn::GetAtt": [table, "StreamArn"]}, name
        # The stack's role, not one chalice would generate (manage_iam_role=false).
        assert function["Properties"]["Role"]["Fn::GetAtt"][0].startswith("FunctionRole")
        assert function["Properties"]["VpcConfig"]["SubnetIds"]
    assert "/stream/unresolved" not in json.dumps(dev), "a stream ARN placeholder reached the template"


def test_stream_handlers_report_batch_item_failures_and_park_failures(dev: dict[str, Any]) -> None:
    streams = {
        json.dumps({"Fn::GetAtt": [named(dev, "AWS::DynamoDB::Table", "TableName", dev_table(key)), "StreamArn"]}): key
        for key, spec in resources.TABLES.items()
        if spec.stream
    }
    subscribed = set()
    for function in functions(dev).values():
        for event in (function["Properties"].get("Events") or {}).values():
            if event["Type"] != "DynamoDB":
                continue
            properties = event["Properties"]
            key = streams[json.dumps(properties["Stream"])]
            subscribed.add(key)
            assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
            assert properties["MaximumRetryAttempts"] >= 1
            failure_key = resources.TABLES[key].stream_failure_queue
            if failure_key:
                queue = named(dev, "AWS::SQS::Queue", "QueueName", f"sp-dev-{failure_key}")
                assert properties["DestinationConfig"] == {
                    "OnFailure": {"Type": "SQS", "Destination": {"Fn::GetAtt": [queue, "Arn"]}}
                }
    assert "identity" in subscribed


def test_alarm_on_every_dead_letter_and_failure_queue(dev: dict[str, Any]) -> None:
    alarms = of_type(dev, "AWS::CloudWatch::Alarm").values()
    watched = {
        json.dumps(a["Properties"]["Dimensions"][0]["Value"])
        for a in alarms
        if a["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    }
    deployed = resources.deployed_queues().values()
    parked = [f"{spec.dlq_key}{'.fifo' if spec.fifo else ''}" for spec in deployed if spec.dead_letter]
    parked += [spec.stream_failure_queue for spec in resources.TABLES.values() if spec.stream_failure_queue]
    for queue_name in parked:
        queue = named(dev, "AWS::SQS::Queue", "QueueName", f"sp-dev-{queue_name}")
        assert json.dumps({"Fn::GetAtt": [queue, "QueueName"]}) in watched, queue_name
    for alarm in alarms:
        assert alarm["Properties"]["AlarmActions"], "every alarm notifies the alarm topic"


def test_alarm_on_errors_and_throttles_of_every_function(dev: dict[str, Any]) -> None:
    alarms = of_type(dev, "AWS::CloudWatch::Alarm").values()
    for name in functions(dev):
        for metric in ("Errors", "Throttles"):
            assert any(
                a["Properties"]["Namespace"] == "AWS/Lambda"
                and a["Properties"]["MetricName"] == metric
                and a["Properties"]["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": name}}]
                for a in alarms
            ), f"no {metric} alarm for {name}"


def _statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    statements = []
    # CDK moves statements past a role's inline-policy size into overflow managed policies.
    for policy_type in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for resource in of_type(template, policy_type).values():
            statements += resource["Properties"]["PolicyDocument"]["Statement"]
    for resource in of_type(template, "AWS::IAM::Role").values():
        for policy in resource["Properties"].get("Policies", []):
            statements += policy["PolicyDocument"]["Statement"]
    return statements


def test_least_privilege_for_the_functions_role(dev: dict[str, Any]) -> None:
    statements = _statements(dev)
    assert statements
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        for action in actions:
            assert action != "*" and not action.endswith(":*"), f"wildcard action {action}"
        if statement["Resource"] == "*":
            # Only calls that have no resource-level form may name every resource.
            assert set(actions) <= {"dynamodb:ListTables", "dynamodb:ListStreams"}, statement
    writes = [s for s in statements if "dynamodb:PutItem" in s["Action"]]
    for key in resources.TABLES:
        table = named(dev, "AWS::DynamoDB::Table", "TableName", dev_table(key))
        assert any({"Fn::GetAtt": [table, "Arn"]} in s["Resource"] for s in writes), f"no write grant on {key}"
    roles = of_type(dev, "AWS::IAM::Role")
    function_roles = [r for r in roles.values() if "lambda.amazonaws.com" in json.dumps(r)]
    for role in function_roles:
        managed = json.dumps(role["Properties"].get("ManagedPolicyArns", []))
        assert "AdministratorAccess" not in managed and "FullAccess" not in managed


def test_unknown_routes_are_404_problems_with_security_headers(dev: dict[str, Any]) -> None:
    responses = dev["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["x-amazon-apigateway-gateway-responses"]
    missing = responses["MISSING_AUTHENTICATION_TOKEN"]
    assert missing["statusCode"] == 404
    assert json.loads(missing["responseTemplates"]["application/json"]) == {
        "type": "/problems/not-found",
        "title": "Not found",
        "status": 404,
        "detail": "No route matches",
    }
    headers = missing["responseParameters"]
    assert headers["gatewayresponse.header.Content-Type"] == "'application/problem+json'"
    for name, value in SECURITY_HEADERS.items():
        assert headers[f"gatewayresponse.header.{name}"] == f"'{value}'"


def test_template_only_synthesis_cannot_be_deployed(dev: dict[str, Any]) -> None:
    assertion = dev["Rules"]["TemplateOnly"]["Assertions"][0]
    assert assertion["Assert"] == {"Fn::Equals": ["template-only", "deployable"]}


def test_prod_keeps_its_data_and_survives_an_availability_zone(prod: dict[str, Any]) -> None:
    assert len(of_type(prod, "AWS::DynamoDB::Table")) == len(resources.TABLES)
    for table in of_type(prod, "AWS::DynamoDB::Table").values():
        assert table["DeletionPolicy"] == "Retain"
        assert table["Properties"]["DeletionProtectionEnabled"] is True
    for secret in of_type(prod, "AWS::SecretsManager::Secret").values():
        assert secret["DeletionPolicy"] == "Retain"
    (domain,) = of_type(prod, "AWS::OpenSearchService::Domain").values()
    cluster = domain["Properties"]["ClusterConfig"]
    assert cluster["ZoneAwarenessEnabled"] is True
    assert cluster["DedicatedMasterEnabled"] is True
    assert domain["DeletionPolicy"] == "Retain"
    assert len(of_type(prod, "AWS::EC2::NatGateway")) == 2


def test_module_level_stream_handler_of_another_app_gets_its_table(prod: dict[str, Any]) -> None:
    """The probe app decorates at module level (not in a blueprint): the same token path works."""
    properties = functions(prod)["OnProbeRecord"]["Properties"]
    (event,) = properties["Events"].values()
    table = named(prod, "AWS::DynamoDB::Table", "TableName", "sp-prod-probe")
    failures = named(prod, "AWS::SQS::Queue", "QueueName", "sp-prod-probe-stream-failures")
    assert event["Properties"]["Stream"] == {"Fn::GetAtt": [table, "StreamArn"]}
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["Properties"]["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": [failures, "Arn"]}
    assert properties["Environment"]["Variables"]["STREAM_ARN_PROBE"] == {"Fn::GetAtt": [table, "StreamArn"]}


def test_queue_handlers_report_batch_item_failures_and_may_consume_their_queue(prod: dict[str, Any]) -> None:
    function = functions(prod)["OnJob"]
    (event,) = function["Properties"]["Events"].values()
    assert event["Type"] == "SQS"
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert "Fn::Sub" in event["Properties"]["Queue"], "on_sqs_message(queue=<name>)"
    queue = named(prod, "AWS::SQS::Queue", "QueueName", "sp-prod-probe-jobs")
    # chalice builds the queue ARN from its name: the mapping must wait for the queue.
    assert queue in function["DependsOn"]
    consumes = [s for s in _statements(prod) if "sqs:ReceiveMessage" in s["Action"]]
    assert [s["Resource"] for s in consumes] == [{"Fn::GetAtt": [queue, "Arn"]}], "only queues with a handler"


def test_schedules_and_no_api_for_an_app_without_routes(prod: dict[str, Any]) -> None:
    scheduled = {
        name
        for name, function in functions(prod).items()
        for event in (function["Properties"].get("Events") or {}).values()
        if event["Type"] == "Schedule"
    }
    assert scheduled == {"Hourly", "WeekdayReport"}
    assert "RestAPI" not in prod["Resources"]


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_cfn_lint_finds_no_errors(templates: dict[str, Path], stage: str) -> None:
    cfn_lint = shutil.which("cfn-lint", path=str(Path(sys.executable).parent)) or shutil.which("cfn-lint")
    if cfn_lint is None:
        pytest.skip("cfn-lint is not installed: pip install -r infrastructure/requirements-dev.txt")
    result = subprocess.run(
        [cfn_lint, "--format", "json", str(templates[stage])], capture_output=True, text=True, timeout=120
    )
    # Exit status bits: 2 errors, 4 warnings, 8 informational; 1 means cfn-lint itself failed.
    assert result.returncode & 1 == 0, result.stderr
    findings = json.loads(result.stdout)
    errors = [f for f in findings if f["Level"] == "Error"]
    warnings = sorted({f"{f['Rule']['Id']} {f['Message']}" for f in findings if f["Level"] != "Error"})
    # Warnings are allowed; printed so `pytest -rA` shows them. W8003 is the template-only guard.
    print(f"cfn-lint warnings ({stage}):", *warnings, sep="\n  ")
    assert not errors, json.dumps(errors, indent=2)
