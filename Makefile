# sfn-iam developer commands. `make demo` and `make test` create .venv themselves when it is missing.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# checkov pins versions (boto3...) that clash with requirements-dev.txt: it gets a virtualenv of its own.
SCAN_VENV := .venv-scan
# cosmic-ray (mutation testing) lives apart from the project's tools too; the tests it runs use $(VENV).
MUTATE_VENV := .venv-mutate
# `make mutate MODULE=layers/sfn_iam/sfn_iam/engine/policy.py` for one module (see mutation/modules.toml);
# SURVIVORS=1 re-runs only the last session's survivors (docs/mutation.md)
MODULE ?=
# sam build needs the Lambda runtime's exact Python (python3.13) on PATH: the venv is built from it.
# A pyenv shim may exist and still refuse to run (when 3.13 is not the global version): try each candidate.
PYTHON313 ?= $(shell for p in $$(ls -d $$HOME/.pyenv/versions/3.13*/bin/python3.13 2>/dev/null | sort -r) \
	$$(command -v python3.13 2>/dev/null); do "$$p" --version >/dev/null 2>&1 && { echo "$$p"; break; }; done)
export PATH := $(CURDIR)/$(BIN):$(PATH)
export SAM_CLI_TELEMETRY := 0
EVENT ?= events/create_state_machine.json

.PHONY: venv scan-venv mutate-venv mutate demo test lint typecheck unit sam-validate cfn-lint sam-build cfn-lint-stacksets scan bench \
	check-self \
	invoke clean

venv: $(BIN)/.installed

$(BIN)/.installed: requirements-dev.txt pyproject.toml
	@test -n "$(PYTHON313)" || { echo "python3.13 not found (needed for the python3.13 Lambda runtime)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON313) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $@

scan-venv: $(SCAN_VENV)/.installed

$(SCAN_VENV)/.installed: requirements-scan.txt
	@test -n "$(PYTHON313)" || { echo "python3.13 not found"; exit 1; }
	test -x $(SCAN_VENV)/bin/python || $(PYTHON313) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install -q --upgrade pip
	$(SCAN_VENV)/bin/python -m pip install -q -r requirements-scan.txt
	touch $@

mutate-venv: $(MUTATE_VENV)/.installed

$(MUTATE_VENV)/.installed: requirements-mutate.txt
	@test -n "$(PYTHON313)" || { echo "python3.13 not found"; exit 1; }
	test -x $(MUTATE_VENV)/bin/python || $(PYTHON313) -m venv $(MUTATE_VENV)
	$(MUTATE_VENV)/bin/python -m pip install -q --upgrade pip
	$(MUTATE_VENV)/bin/python -m pip install -q -r requirements-mutate.txt
	touch $@

# Mutation testing of the engine, guardrails, policy builder and role fixing (slow: not part of `make test`).
# docs/mutation.md says how to read the report and what to do with a surviving mutant.
mutate: venv mutate-venv
	$(MUTATE_VENV)/bin/python scripts/mutate.py --python $(BIN)/python $(if $(MODULE),--module $(MODULE)) $(if $(SURVIVORS),--survivors)

# `make demo` installs only requirements-demo.txt (unless .venv already has the whole development set): the CLI on one
# example definition (the policy document it prints, with its resources), then the role fixer end to end on moto.
$(BIN)/.demo-installed: requirements-demo.txt pyproject.toml
	@test -n "$(PYTHON313)" || { echo "python3.13 not found (needed for the python3.13 Lambda runtime)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON313) -m venv $(VENV)
	test -f $(BIN)/.installed || { $(BIN)/python -m pip install -q --upgrade pip \
		&& $(BIN)/python -m pip install -q -r requirements-demo.txt && $(BIN)/python -m pip install -q --no-deps -e .; }
	touch $@

demo: $(BIN)/.demo-installed
	@echo "== sfn-iam policy: the least-privilege policy one definition needs, read offline"
	$(BIN)/sfn-iam policy examples/order_processing.asl.json --region us-east-1 --account 123456789012
	@echo "== the role fixer end to end: CloudTrail events through the Lambda handler, on moto"
	$(BIN)/python -m scripts.demo

lint: venv
	$(BIN)/ruff check .

typecheck: venv
	$(BIN)/mypy

unit: venv
	$(BIN)/python -m pytest

sam-validate: venv
	$(BIN)/sam validate --lint --template template.yaml

# cfn-lint with .cfnlintrc (informational rules and mandatory security rules); `sam validate --lint` ignores that file.
cfn-lint: venv
	$(BIN)/cfn-lint template.yaml

sam-build: venv
	$(BIN)/sam build --template template.yaml
	$(BIN)/python scripts/check_layer.py .aws-sam/build/SfnIamLayer/python

# The organisation roll-out template, and the expanded sfn-iam template a service-managed StackSet deploys
# (StackSets do not run the AWS::Serverless transform; stacksets/expand_template.py does it offline).
cfn-lint-stacksets: venv
	$(BIN)/cfn-lint stacksets/org-rollout.yaml
	mkdir -p .aws-sam
	$(BIN)/python stacksets/expand_template.py --placeholder-code template.yaml > .aws-sam/expanded-lint.json
	$(BIN)/cfn-lint .aws-sam/expanded-lint.json

# checkov, offline, over template.yaml, the expanded StackSet template and org-rollout.yaml (scripts/scan.py says how):
# no failed check, every skip with its reason. docs/security.md, "Template scanning".
scan: venv scan-venv
	$(BIN)/python scripts/scan.py --checkov $(SCAN_VENV)/bin/checkov

# Our own tool over our own template: the sweep state machine's role grants exactly what its definition needs (0 missing,
# 0 excess); any finding fails (statemachines/sfn-iam.toml suppresses only the names CloudFormation generates).
check-self: venv
	$(BIN)/sfn-iam check template.yaml --region us-east-1 --account 123456789012 --stack-name sfn-iam \
		--config statemachines/sfn-iam.toml --fail-on low

test: lint typecheck unit sam-validate cfn-lint check-self sam-build cfn-lint-stacksets scan

bench: venv
	for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

invoke: venv
	$(BIN)/python -m scripts.invoke_local $(EVENT)

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache .mutate
