"""An outside gRPC client (Python's grpcio, on gRPC C-core) against examples/grpc.rs.

Usage: grpc_client.py ADDRESS USER_TOKEN ADMIN_TOKEN. Prints one line per call:
`<call>: <code> <message or status> | <www-authenticate or ->`; tests/grpc.rs compares them.
"""
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

address, user, admin = sys.argv[1:4]
stub = health_pb2_grpc.HealthStub(grpc.insecure_channel(address))


def call(name, method, *authorizations, service=""):
    metadata = [("authorization", a) for a in authorizations if a]
    request = health_pb2.HealthCheckRequest(service=service)
    try:
        answer = method(request, metadata=metadata, timeout=10)
        if not hasattr(answer, "status"):  # a stream: its first message
            answer = next(answer)
        status = health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)
        print(f"{name}: OK {status}")
    except grpc.RpcError as e:
        trailers = dict(e.trailing_metadata() or ())
        challenge = trailers.get("www-authenticate", "-")
        print(f"{name}: {e.code().name} {e.details()} | {challenge}")


call("check none", stub.Check, None)
call("check user", stub.Check, "Bearer " + user)
call("check forged", stub.Check, "Bearer " + user[:-2] + ("AA" if user[-2:] != "AA" else "BB"))
call("check unknown service", stub.Check, "Bearer " + user, service="nope")
call("watch user", stub.Watch, "Bearer " + user)
call("watch admin", stub.Watch, "Bearer " + admin)
call("check malformed", stub.Check, "Bearer")
call("check two tokens", stub.Check, "Bearer " + user, "Bearer " + admin)
