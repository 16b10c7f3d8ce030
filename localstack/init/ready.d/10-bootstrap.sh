#!/usr/bin/env bash
# LocalStack READY hook: create every resource the contexts declare (chalicelib/declarations.py) by running the
# project's own bootstrap (python -m devstack.bootstrap), so LocalStack, the embedded local cloud
# and the CDK stack are built from one declaration and cannot drift.
#
# LocalStack runs this once it accepts requests, on every container start; the bootstrap is
# idempotent, so a restart (or a later `make bootstrap` from the host) changes nothing.
# The compose file passes the SP_* variables; the defaults below match the app's own defaults so
# the host (tests, `make bootstrap`) and this hook name resources identically.
set -euo pipefail

log() { printf '[sp-bootstrap] %s\n' "$*"; }
die() {
	log "ERROR: $*"
	exit 1
}

# set -e alone exits silently; say which command failed so `docker compose logs` explains it.
trap 'log "ERROR: \"$BASH_COMMAND\" failed (line $LINENO)"' ERR

started=$SECONDS
project_dir=${SP_PROJECT_DIR:-/opt/project}
endpoint=${SP_BOOTSTRAP_ENDPOINT:-http://localhost:4566}
venv=${SP_BOOTSTRAP_VENV:-/tmp/sp-bootstrap-venv}
python=${SP_BOOTSTRAP_PYTHON:-}
region=${SP_AWS_REGION:-us-east-1}
stage=${SP_STAGE:-local}
prefix=${SP_RESOURCE_PREFIX:-}
# The bootstrap verifies this sender as an SES identity; the app must send from the same address.
mail_from=${SP_MAIL_FROM:-}
# Comma-separated, like DEVSTACK_DECLARATIONS for `make run`: extra modules whose declare() calls
# add resources.
declarations=${SP_DECLARATIONS:-}

[[ -f $project_dir/devstack/bootstrap.py ]] || die "no project at $project_dir (is the repository mounted?)"

# What the bootstrap may import is chalicelib code (a secret's generator, say), whose dependencies
# are by definition requirements.txt, the Lambda package's; boto3 comes with Lambda and is pinned in
# requirements-dev.txt. Installing exactly that keeps the hook from keeping a list of its own that
# drifts. chalice, moto and the rest of the dev tooling are not needed.
boto3_pin=$(grep -E '^boto3==' "$project_dir/requirements-dev.txt" || true)
[[ -n $boto3_pin ]] || die "requirements-dev.txt has no boto3== pin"
fingerprint="$boto3_pin $(cksum <"$project_dir/requirements.txt")"

has_boto3() { "$1" -c 'import boto3' >/dev/null 2>&1; }

if [[ -n $python ]]; then
	has_boto3 "$python" || die "SP_BOOTSTRAP_PYTHON=$python cannot import boto3"
	log "using $python (SP_BOOTSTRAP_PYTHON)"
elif [[ -x $venv/bin/python && "$(cat "$venv/.fingerprint" 2>/dev/null || true)" == "$fingerprint" ]]; then
	python=$venv/bin/python
	log "reusing $venv"
else
	log "creating $venv: $boto3_pin + requirements.txt"
	rm -rf "$venv"
	python3 -m venv "$venv"
	if "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input \
		"$boto3_pin" -r "$project_dir/requirements.txt"; then
		printf '%s\n' "$fingerprint" >"$venv/.fingerprint"
		python=$venv/bin/python
	else
		# No network in the container (proxy, offline laptop): LocalStack's own runtime ships boto3
		# (and cryptography). Versions differ from the pins, but the bootstrap calls stable APIs.
		fallback=${SP_BOOTSTRAP_FALLBACK_PYTHON:-/opt/code/localstack/.venv/bin/python}
		[[ -x $fallback ]] && has_boto3 "$fallback" \
			|| die "pip install failed and $fallback has no boto3"
		python=$fallback
		log "WARNING: pip install failed; falling back to LocalStack's runtime python $python"
	fi
fi
log "boto3 $("$python" -c 'import boto3; print(boto3.__version__)') on $("$python" -c 'import sys; print(sys.version.split()[0])')"

args=(-m devstack.bootstrap --no-search)
modules=()
for module in ${declarations//,/ }; do
	modules+=("$module")
done
if ((${#modules[@]})); then
	args+=(--declarations "${modules[@]}")
fi

log "bootstrapping against $endpoint (region $region, stage $stage, prefix ${prefix:-sp-$stage})"
cd "$project_dir"
# A clean environment: LocalStack's own variables must not leak into Settings, and the mount is
# read-only, hence no bytecode. The credentials select LocalStack's default account 000000000000,
# the one the host-side tests and `make bootstrap` use.
env -i \
	PATH="$PATH" \
	HOME="${HOME:-/tmp}" \
	PYTHONPATH="$project_dir" \
	PYTHONDONTWRITEBYTECODE=1 \
	AWS_ENDPOINT_URL="$endpoint" \
	AWS_REGION="$region" \
	AWS_DEFAULT_REGION="$region" \
	AWS_ACCESS_KEY_ID=test \
	AWS_SECRET_ACCESS_KEY=test \
	STAGE="$stage" \
	RESOURCE_PREFIX="$prefix" \
	MAIL_FROM="$mail_from" \
	"$python" "${args[@]}"
log "done in $((SECONDS - started)) s"
