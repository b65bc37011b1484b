"""The committed code in protos/ is exactly what `make protos` generates from the .proto files."""

import os
import subprocess
import sys
from pathlib import Path

from common.config import ROOT

GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def generated_files(root: Path) -> dict[str, str]:
    return {
        path.name: path.read_text()
        for path in sorted((root / "protos").iterdir())
        if path.name.endswith(GENERATED_SUFFIXES)
    }


def test_committed_generated_code_matches_the_protos(tmp_path):
    subprocess.run(
        [ROOT / "scripts" / "gen_protos.sh", tmp_path],
        env={**os.environ, "PYTHON": sys.executable},
        check=True,
        capture_output=True,
    )
    fresh = generated_files(tmp_path)
    proto_names = {path.stem for path in (ROOT / "protos").glob("*.proto")}

    assert {name.split("_pb2")[0] for name in fresh} == proto_names
    assert generated_files(ROOT) == fresh, "protos/ is stale: run `make protos` and commit"
