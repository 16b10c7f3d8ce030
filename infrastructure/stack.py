"""One stage of the platform in AWS: the Chalice app and everything the contexts declare.

Nothing here names a table, queue or secret: every one comes from the registries in
chalicelib/resources.py, which chalicelib/declarations.py fills with each context's
declarations, so a context that declares a resource gets it deployed, wired to
the functions' role and watched by an alarm without touching this file.

The Chalice construct runs `chalice package` in this process, which imports app.py. The
`@on_dynamodb_record(stream_arn=...)` decorators read STREAM_ARN_<KEY> at that moment, so the
stream ARNs are handed over as CDK tokens through the stage config's environment variables
(chalice exports those into os.environ before importing the app). The SAM template chalice
writes then holds the token strings, which CfnInclude resolves to `Fn::GetAtt` of the tables
(docs/deploy.md, "The stream ARN at import time").
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_opensearchservice as opensearch
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from chalice.cdk import Chalice
from constructs import Construct

from chalicelib import declarations, resources  # noqa: F401  (declarations fill the registry)
from chalicelib.config import Settings, get_settings
from chalicelib.http.errors import PROBLEM_CONTENT_TYPE, problem_body
from chalicelib.http.middleware import SECURITY_HEADERS
from chalicelib.resources import QueueSpec, TableSpec
from infrastructure.packaging import template_only_project, working_directory
from infrastructure.stages import CACHE_ENGINES, StageOptions

ROOT = Path(__file__).resolve().parents[1]
# Tries of a failing stream batch before it goes to the table's failure queue: 1 + 2 retries,
# as the local runtime's DEVSTACK_STREAM_MAX_ATTEMPTS default (3).
STREAM_RETRY_ATTEMPTS = 2
# DynamoDB Streams serves at most two readers per shard at full speed.
MAX_STREAM_READERS = 2
NOT_FOUND_BODY = json.dumps(problem_body(404, "not-found", "Not found", "No route matches"), separators=(",", ":"))


def logical(key: str) -> str:
    """`identity-stream-failures` → `IdentityStreamFailures`, for readable construct ids."""
    return "".join(part.capitalize() for part in key.replace("_", "-").split("-") if part)


def static_header(value: str) -> str:
    """API Gateway takes a static header value between single quotes, verbatim inside them."""
    return f"'{value}'"


@dataclass
class DeployedQueue:
    spec: QueueSpec
    queue: sqs.Queue
    dead_letter: sqs.Queue | None


class PlatformStack(cdk.Stack):
    """The platform for one stage. Its construct id must be the Chalice stage name: chalice's
    construct reads the stage from `str(scope)` to pick the stage in .chalice/config.json."""

    def __init__(self, scope: Construct, options: StageOptions, project_dir: Path = ROOT, **kwargs: Any) -> None:
        super().__init__(scope, options.stage, **kwargs)
        self.options = options
        self.settings: Settings = options.settings()
        profile = options.profile
        self.removal = cdk.RemovalPolicy.RETAIN if profile.retain_data else cdk.RemovalPolicy.DESTROY
        cdk.Tags.of(self).add("project", self.settings.app_name)
        cdk.Tags.of(self).add("stage", options.stage)

        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=profile.nat_gateways,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
                ec2.SubnetConfiguration(name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=22),
            ],
            # DynamoDB traffic skips the NAT gateway (free endpoint, cheaper and faster).
            gateway_endpoints={
                "DynamoDb": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.DYNAMODB)
            },
        )
        self.private_subnets = self.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        self.function_security_group = ec2.SecurityGroup(
            self, "FunctionSecurityGroup", vpc=self.vpc, description="The Chalice functions", allow_all_outbound=True
        )

        self.role = iam.Role(
            self,
            "FunctionRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{self.settings.app_name} {options.stage} functions",
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSLambdaBasicExecutionRole"),
                # ENIs in the VPC (Redis and OpenSearch are reachable only there).
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSLambdaVPCAccessExecutionRole"),
            ],
        )
        self.alarm_topic = sns.Topic(self, "Alarms", display_name=f"{self.settings.app_name} {options.stage} alarms")
        if options.alarm_email:
            self.alarm_topic.add_subscription(subscriptions.EmailSubscription(options.alarm_email))

        self.tables = {key: self._table(spec) for key, spec in resources.TABLES.items()}
        # The local cloud's own queues (the `make events` tap) are not deployed.
        self.queues = {key: self._queue(spec) for key, spec in resources.deployed_queues().items()}
        self.buses = {key: self._event_bus(spec) for key, spec in resources.EVENT_BUSES.items()}
        self.secrets = {key: self._secret(spec) for key, spec in resources.SECRETS.items()}
        self.domain = self._search_domain()
        self.cache = self._cache()
        self.mail_identity = ses.EmailIdentity(self, "MailFrom", identity=ses.Identity.email(self.settings.mail_from))
        self._grant()
        self._alarm_dead_letters()

        self.chalice = self._chalice(project_dir)
        self._template = self._sam_template()
        self.functions = {
            name: self.chalice.get_resource(name)
            for name, resource in self._template["Resources"].items()
            if resource["Type"] == "AWS::Serverless::Function"
        }
        self._stream_readers: dict[str, int] = {}
        self._wire_functions()
        self._gateway_responses()
        if options.template_only:
            self._refuse_deployment()

        cdk.CfnOutput(self, "OpenSearchEndpoint", value=self.domain.domain_endpoint)
        cdk.CfnOutput(self, "RedisEndpoint", value=self.cache.attr_endpoint_address)
        cdk.CfnOutput(self, "AlarmTopic", value=self.alarm_topic.topic_arn)

    # --- declared resources -------------------------------------------------------------

    def _table(self, spec: TableSpec) -> dynamodb.Table:
        def key(k: resources.Key | None) -> dynamodb.Attribute | None:
            return dynamodb.Attribute(name=k.name, type=_ATTRIBUTE_TYPES[k.type]) if k else None

        table = dynamodb.Table(
            self,
            f"Table{logical(spec.key)}",
            table_name=spec.table_name(self.settings),
            partition_key=key(spec.hash_key),  # type: ignore[arg-type]
            sort_key=key(spec.range_key),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES if spec.stream else None,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=spec.ttl_attribute,
            deletion_protection=self.options.profile.retain_data,
            removal_policy=self.removal,
        )
        for index in spec.indexes:
            table.add_global_secondary_index(
                index_name=index.name,
                partition_key=key(index.hash_key),  # type: ignore[arg-type]
                sort_key=key(index.range_key),
                projection_type=dynamodb.ProjectionType.ALL,
            )
        return table

    def _queue(self, spec: QueueSpec) -> DeployedQueue:
        suffix = ".fifo" if spec.fifo else ""
        fifo: dict[str, Any] = {"fifo": True, "content_based_deduplication": True} if spec.fifo else {}
        dead_letter = None
        if spec.dead_letter:
            dead_letter = sqs.Queue(
                self,
                f"Queue{logical(spec.dlq_key)}",
                queue_name=self.settings.resource_name(spec.dlq_key) + suffix,
                retention_period=cdk.Duration.days(14),
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
                **fifo,
            )
        queue = sqs.Queue(
            self,
            f"Queue{logical(spec.key)}",
            queue_name=self.settings.resource_name(spec.key) + suffix,
            visibility_timeout=cdk.Duration.seconds(spec.visibility_timeout_s),
            # A failure queue (no DLQ of its own) keeps what it holds as long as SQS allows.
            retention_period=cdk.Duration.days(4 if spec.dead_letter else 14),
            dead_letter_queue=(
                sqs.DeadLetterQueue(queue=dead_letter, max_receive_count=spec.max_receive_count)
                if dead_letter
                else None
            ),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            **fifo,
        )
        return DeployedQueue(spec, queue, dead_letter)

    def _event_bus(self, spec: resources.EventBusSpec) -> events.EventBus:
        # The consumers' rules only: the `make events` tap (spec.local_tap) is the local cloud's.
        bus = events.EventBus(self, f"Bus{logical(spec.key)}", event_bus_name=self.settings.resource_name(spec.key))
        for rule_name, prefixes, queue_key in spec.rules:
            matchers = [events.Match.prefix(prefix) for prefix in prefixes]
            events.Rule(
                self,
                f"Rule{logical(rule_name)}",
                event_bus=bus,
                rule_name=self.settings.resource_name(rule_name),
                event_pattern=events.EventPattern(
                    detail_type=matchers[0] if len(matchers) == 1 else events.Match.any_of(*matchers)
                ),
                targets=[targets.SqsQueue(self.queues[queue_key].queue)],
            )
        return bus

    def _secret(self, spec: resources.SecretSpec) -> secretsmanager.Secret:
        # Secrets Manager cannot produce the app's formats (an RSA key ring, say): the stack
        # creates the secret with a random placeholder and `python -m infrastructure.seed_secrets`
        # writes the first real value with the spec's generator, so none is ever in the template.
        return secretsmanager.Secret(
            self,
            f"Secret{logical(spec.key)}",
            secret_name=self.settings.resource_name(spec.key),
            description=f"Generated by {spec.generator}; seed with python -m infrastructure.seed_secrets",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=json.dumps({"placeholder": True}),
                generate_string_key="nonce",
                exclude_punctuation=True,
            ),
            removal_policy=self.removal,
        )

    def _search_domain(self) -> opensearch.Domain:
        profile = self.options.profile
        security_group = ec2.SecurityGroup(
            self, "SearchSecurityGroup", vpc=self.vpc, description="OpenSearch", allow_all_outbound=False
        )
        security_group.add_ingress_rule(self.function_security_group, ec2.Port.tcp(443), "HTTPS from the functions")
        zone_awareness = profile.search_availability_zones > 1
        return opensearch.Domain(
            self,
            "Search",
            domain_name=self.settings.resource_name("search"),
            version=opensearch.EngineVersion.OPENSEARCH_2_19,
            capacity=opensearch.CapacityConfig(
                data_nodes=profile.search_data_nodes,
                data_node_instance_type=profile.search_instance_type,
                master_nodes=profile.search_master_nodes or None,
                master_node_instance_type=profile.search_master_instance_type,
                multi_az_with_standby_enabled=False,
            ),
            ebs=opensearch.EbsOptions(volume_size=profile.search_volume_gib, volume_type=ec2.EbsDeviceVolumeType.GP3),
            zone_awareness=opensearch.ZoneAwarenessConfig(
                enabled=zone_awareness,
                availability_zone_count=profile.search_availability_zones if zone_awareness else None,
            ),
            vpc=self.vpc,
            vpc_subnets=[
                ec2.SubnetSelection(subnets=self.private_subnets.subnets[: profile.search_availability_zones])
            ],
            security_groups=[security_group],
            encryption_at_rest=opensearch.EncryptionAtRestOptions(enabled=True),
            node_to_node_encryption=True,
            enforce_https=True,
            tls_security_policy=opensearch.TLSSecurityPolicy.TLS_1_2,
            # Fine-grained access control with the functions' role as master user: requests are
            # SigV4-signed (OPENSEARCH_SIGV4=true) and mapped to the role, no password exists.
            fine_grained_access_control=opensearch.AdvancedSecurityOptions(master_user_arn=self.role.role_arn),
            removal_policy=self.removal,
        )

    def _cache(self) -> elasticache.CfnServerlessCache:
        profile = self.options.profile
        security_group = ec2.SecurityGroup(
            self, "CacheSecurityGroup", vpc=self.vpc, description="ElastiCache Serverless", allow_all_outbound=False
        )
        # Serverless caches answer on 6379 (primary) and 6380 (reader endpoint).
        security_group.add_ingress_rule(
            self.function_security_group, ec2.Port.tcp_range(6379, 6380), "Redis from the functions"
        )
        return elasticache.CfnServerlessCache(
            self,
            "Cache",
            engine=self.options.cache_engine,
            major_engine_version=CACHE_ENGINES[self.options.cache_engine],
            serverless_cache_name=self.settings.resource_name("cache"),
            description=f"{self.settings.app_name} {self.options.stage} cache",
            subnet_ids=self.private_subnets.subnet_ids,
            security_group_ids=[security_group.security_group_id],
            cache_usage_limits=elasticache.CfnServerlessCache.CacheUsageLimitsProperty(
                data_storage=elasticache.CfnServerlessCache.DataStorageProperty(
                    unit="GB", maximum=profile.cache_max_data_gib
                ),
                ecpu_per_second=elasticache.CfnServerlessCache.ECPUPerSecondProperty(
                    maximum=profile.cache_max_ecpu_per_second
                ),
            ),
        )

    # --- least privilege ------------------------------------------------------------------

    def _grant(self) -> None:
        """What the app's code calls, on the resources it calls it on; event sources add theirs."""
        for table in self.tables.values():
            table.grant_read_write_data(self.role)
        # The health check's cheap reachability probe; ListTables has no resource-level form.
        self.role.add_to_policy(iam.PolicyStatement(actions=["dynamodb:ListTables"], resources=["*"]))
        for deployed in self.queues.values():
            deployed.queue.grant_send_messages(self.role)
        for bus in self.buses.values():
            bus.grant_put_events_to(self.role)
        for secret in self.secrets.values():
            secret.grant_read(self.role)
        # es:ESHttp* on the domain and its paths (indexes, _cluster/health for the health check).
        self.domain.grant_read_write(self.role)
        self.mail_identity.grant_send_email(self.role)

    # --- alarms -----------------------------------------------------------------------------

    def _alarm(self, construct_id: str, metric: cloudwatch.IMetric, description: str) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(cloudwatch_actions.SnsAction(self.alarm_topic))
        return alarm

    def _alarm_dead_letters(self) -> None:
        """Anything in a DLQ, or in a stream's failure queue, was given up on and needs a person."""
        failure_queues = {spec.stream_failure_queue for spec in resources.TABLES.values() if spec.stream_failure_queue}
        for key, deployed in self.queues.items():
            parked = deployed.dead_letter or (deployed.queue if key in failure_queues else None)
            if parked is None:
                continue
            self._alarm(
                f"Depth{logical(key)}",
                parked.metric_approximate_number_of_messages_visible(
                    period=cdk.Duration.minutes(1), statistic=cloudwatch.Stats.MAXIMUM
                ),
                f"Messages are waiting in {parked.queue_name}: they failed every retry.",
            )

    # --- the Chalice app --------------------------------------------------------------------

    def _environment(self) -> dict[str, str]:
        """The functions' settings. Stream ARNs are tokens here, and must be: see the module docstring."""
        environment = {
            "STAGE": self.options.stage,
            "RESOURCE_PREFIX": self.settings.resource_prefix,
            "PUBLIC_BASE_URL": self.settings.public_base_url,
            "MAIL_FROM": self.settings.mail_from,
            "JWT_KEYS_SECRET_ID": self.settings.jwt_keys_secret_id,
            "OPENSEARCH_SIGV4": "true",
        }
        for key, table in self.tables.items():
            if resources.TABLES[key].stream:
                environment[f"STREAM_ARN_{resources.stream_env_suffix(key)}"] = table.table_stream_arn  # type: ignore[assignment]
        return environment

    def _late_environment(self) -> dict[str, str]:
        """Settings that are URLs built from tokens. The app validates URLs when it is imported,
        and `chalice package` imports it with the stage's variables in os.environ, where a token
        (`https://${Token[...]}`) fails urlparse; so these are set on the functions afterwards."""
        return {
            "OPENSEARCH_URL": f"https://{self.domain.domain_endpoint}",
            "REDIS_URL": f"rediss://{self.cache.attr_endpoint_address}:{self.cache.attr_endpoint_port}/0",
        }

    def _chalice(self, project_dir: Path) -> Chalice:
        if "app" in sys.modules:
            # chalice imports `app` with importlib: an app imported earlier in this process kept
            # the stream ARNs it saw then, and the template would subscribe to the wrong streams.
            raise RuntimeError(
                "app.py was imported before the stack could pass the stream ARNs; synthesize in a fresh process"
            )
        stage_config = {
            "manage_iam_role": False,
            "iam_role_arn": self.role.role_arn,
            "subnet_ids": self.private_subnets.subnet_ids,
            "security_group_ids": [self.function_security_group.security_group_id],
            "environment_variables": self._environment(),
        }
        outdir = Path(cdk.Stage.of(self).outdir)  # type: ignore[union-attr]
        source = template_only_project(project_dir, outdir) if self.options.template_only else project_dir
        # chalice's construct leaves one chalice.out/<uuid> per synthesis; keep only this one.
        shutil.rmtree(outdir / "chalice.out", ignore_errors=True)
        get_settings.cache_clear()
        with working_directory(outdir):
            construct = Chalice(self, "ChaliceApp", source_dir=str(source), stage_config=stage_config)
        get_settings.cache_clear()
        return construct

    def _sam_template(self) -> dict[str, Any]:
        # The construct keeps the template chalice wrote in its package directory.
        return json.loads((Path(self.chalice._sam_package_dir) / "sam.json").read_text(encoding="utf-8"))

    def _wire_functions(self) -> None:
        streams = {table.table_stream_arn: key for key, table in self.tables.items() if resources.TABLES[key].stream}
        queues_by_name = {resources.queue_name(key, self.settings): deployed for key, deployed in self.queues.items()}
        late = self._late_environment()
        for name, function in self.functions.items():
            for variable, value in late.items():
                function.add_property_override(f"Environment.Variables.{variable}", value)
            # The role's policy must exist before Lambda checks an event source's permissions
            # (the role itself is already referenced, the policy is not).
            function.node.add_dependency(self.role.node.find_child("DefaultPolicy"))
            properties = self._template["Resources"][name]["Properties"]
            for event_name, event in (properties.get("Events") or {}).items():
                path = f"Events.{event_name}.Properties"
                if event["Type"] == "DynamoDB":
                    self._wire_stream(function, path, event["Properties"], streams)
                elif event["Type"] == "SQS":
                    self._wire_queue(function, path, event["Properties"], queues_by_name)
            self._alarm(
                f"Errors{name}",
                _lambda_metric("Errors", function),
                f"{name} raised errors (a failed batch is retried; see its logs).",
            )
            self._alarm(
                f"Throttles{name}",
                _lambda_metric("Throttles", function),
                f"{name} was throttled: raise its reserved or account concurrency.",
            )

    def _wire_stream(
        self, function: cdk.CfnResource, path: str, properties: dict[str, Any], streams: dict[str, str]
    ) -> None:
        key = streams.get(properties["Stream"])
        if key is None:
            raise RuntimeError(
                f"a DynamoDB handler subscribes to {properties['Stream']!r}, which is not a declared table's stream: "
                "declare the table with stream=True in its context's resources.py and use stream_arn(<key>)"
            )
        self._stream_readers[key] = self._stream_readers.get(key, 0) + 1
        if self._stream_readers[key] == MAX_STREAM_READERS + 1:
            cdk.Annotations.of(self).add_warning_v2(
                "serverless-platform:stream-readers",
                f"More than {MAX_STREAM_READERS} handlers read the {key} table's stream: DynamoDB throttles a shard "
                "read by more than two consumers. Fan out from one handler instead.",
            )
        table = self.tables[key]
        table.grant_stream_read(self.role)
        # Chalice cannot ask for partial batch responses; SAM passes this to the event source mapping.
        function.add_property_override(f"{path}.FunctionResponseTypes", ["ReportBatchItemFailures"])
        # Tries = retries + 1, the same budget the local runtime gives the table's stream.
        attempts = resources.TABLES[key].stream_max_attempts
        retries = attempts - 1 if attempts else STREAM_RETRY_ATTEMPTS
        function.add_property_override(f"{path}.MaximumRetryAttempts", retries)
        failure_key = resources.TABLES[key].stream_failure_queue
        if failure_key:
            failure_queue = self.queues[failure_key].queue
            failure_queue.grant_send_messages(self.role)
            function.add_property_override(
                f"{path}.DestinationConfig", {"OnFailure": {"Type": "SQS", "Destination": failure_queue.queue_arn}}
            )

    def _wire_queue(
        self,
        function: cdk.CfnResource,
        path: str,
        properties: dict[str, Any],
        queues_by_name: dict[str, DeployedQueue],
    ) -> None:
        queue = properties["Queue"]
        if isinstance(queue, dict) and "Fn::Sub" in queue:
            # on_sqs_message(queue=<name>): chalice writes `Fn::Sub arn:...:<name>`.
            deployed = queues_by_name.get(queue["Fn::Sub"].rsplit(":", 1)[-1])
        else:
            # on_sqs_message(queue_arn=...): a literal ARN, or a queue's ARN token.
            deployed = next((d for d in self.queues.values() if queue == d.queue.queue_arn), None)
            deployed = deployed or queues_by_name.get(str(queue).rsplit(":", 1)[-1])
        if deployed is None:
            raise RuntimeError(
                f"an SQS handler reads {queue!r}, which is not a declared queue (a context's resources.py)"
            )
        deployed.queue.grant_consume_messages(self.role)
        # The ARN chalice built from the name does not reference the queue: order them.
        function.node.add_dependency(deployed.queue)
        function.add_property_override(f"{path}.FunctionResponseTypes", ["ReportBatchItemFailures"])

    def _gateway_responses(self) -> None:
        """An unknown route is a 404 problem, as locally (devstack/server.py), not API Gateway's
        403 "Missing Authentication Token". Part of the API definition, so a change redeploys the API."""
        if "RestAPI" not in self._template["Resources"]:
            return  # an app without routes has no API
        headers = {"Content-Type": PROBLEM_CONTENT_TYPE, **SECURITY_HEADERS}
        self.chalice.get_resource("RestAPI").add_property_override(
            "DefinitionBody.x-amazon-apigateway-gateway-responses",
            {
                "MISSING_AUTHENTICATION_TOKEN": {
                    "statusCode": 404,
                    "responseParameters": {
                        f"gatewayresponse.header.{name}": static_header(value) for name, value in headers.items()
                    },
                    "responseTemplates": {"application/json": NOT_FOUND_BODY},
                }
            },
        )

    def _refuse_deployment(self) -> None:
        """A template-only synthesis has a stub for the dependency layer: CloudFormation must refuse it."""
        cdk.Annotations.of(self).add_warning_v2(
            "serverless-platform:template-only",
            "templateOnly=true: the Lambda dependencies are a stub and the template is not deployable",
        )
        cdk.CfnRule(
            self,
            "TemplateOnly",
            assertions=[
                cdk.CfnRuleAssertion(
                    assert_=cdk.Fn.condition_equals("template-only", "deployable"),
                    assert_description="Synthesized with templateOnly=true (no Lambda dependencies): "
                    "synthesize without it to deploy. See docs/deploy.md.",
                )
            ],
        )


_ATTRIBUTE_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}


def _lambda_metric(metric_name: str, function: cdk.CfnResource) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace="AWS/Lambda",
        metric_name=metric_name,
        dimensions_map={"FunctionName": function.ref},
        statistic=cloudwatch.Stats.SUM,
        period=cdk.Duration.minutes(5),
    )
