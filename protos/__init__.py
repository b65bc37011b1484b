"""Protocol Buffers contracts and the Python code generated from them by `make protos`.

Only the `.proto` files are written by hand; `*_pb2.py`, `*_pb2.pyi` and `*_pb2_grpc.py` are
generated (scripts/gen_protos.sh) and a test fails when they are stale.
"""
