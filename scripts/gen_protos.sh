#!/usr/bin/env bash
# Generate the Python code for every protos/*.proto (messages, type stubs, gRPC stubs).
# The generated files are committed and never edited by hand; a test runs this script into a
# temporary directory and fails when the committed copies differ.
#
# Usage: scripts/gen_protos.sh [OUTPUT_ROOT]   (default: the repository root)
# Imports come out as `from protos import logs_pb2` because protoc runs from the repository root.
set -euo pipefail

cd "$(dirname "$0")/.."
OUTPUT_ROOT=${1:-.}
PYTHON=${PYTHON:-.venv/bin/python}

mkdir -p "$OUTPUT_ROOT/protos"
"$PYTHON" -m grpc_tools.protoc -I. \
    --python_out="$OUTPUT_ROOT" --pyi_out="$OUTPUT_ROOT" --grpc_python_out="$OUTPUT_ROOT" \
    protos/*.proto
