"""What a private node's management API says: queues (type, leader, members, counts), nodes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

CREDENTIALS = ("guest", "guest")


@dataclass(frozen=True)
class QueueInfo:
    name: str
    type: str
    leader: str | None  # the node hosting the queue; for a quorum queue, its leader
    members: tuple[str, ...]
    consumers: int | None  # statistics, sampled every second: None until first sampled
    messages: int | None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> QueueInfo:
        node = data.get("node")
        return cls(
            name=data["name"],
            type=data.get("type", "classic"),
            leader=data.get("leader") or node,
            members=tuple(data.get("members") or ([node] if node else [])),
            consumers=data.get("consumers"),
            messages=data.get("messages"),
        )


def get(management_url: str, path: str, timeout: float = 5) -> Any:
    response = requests.get(f"{management_url}/api/{path}", auth=CREDENTIALS, timeout=timeout)
    response.raise_for_status()
    return response.json()


def answers(management_url: str) -> bool:
    try:
        get(management_url, "overview", timeout=2)
    except requests.RequestException:
        return False
    return True


def queue_details(management_url: str, name: str, vhost: str = "/") -> dict[str, Any]:
    """Everything the API says about a queue (consumer_details, messages_unacknowledged, ...)."""
    return get(management_url, f"queues/{quote(vhost, safe='')}/{quote(name, safe='')}")


def running_nodes(management_url: str) -> list[str]:
    """The running members of the node's cluster."""
    return [node["name"] for node in get(management_url, "nodes") if node.get("running")]
