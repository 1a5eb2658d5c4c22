"""Aurora Serverless v2 capacity through the RDS API, validated before every call.

RDS (and moto even more so) accepts or mangles some bad requests: moto takes min > max and
answers HTTP 500 for a missing cluster. So existence is checked with a describe first, and the
bounds are checked here against Aurora's documented limits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from control_plane.aws.errors import AWS_FAILURES, AwsNotFound, translate
from control_plane.errors import InvalidInput

ACU_MIN = Decimal("0.5")
ACU_MAX = Decimal("256")
ACU_STEP = Decimal("0.5")


@dataclass(frozen=True)
class AuroraScaling:
    cluster_id: str
    status: str
    min_acu: Decimal | None
    max_acu: Decimal | None

    @property
    def is_serverless_v2(self) -> bool:
        return self.min_acu is not None and self.max_acu is not None


def validate_bounds(min_acu: Decimal, max_acu: Decimal) -> None:
    for label, value in (("minimum", min_acu), ("maximum", max_acu)):
        if value < ACU_MIN or value > ACU_MAX:
            raise InvalidInput(f"Aurora Serverless v2 {label} capacity must be between {ACU_MIN} and {ACU_MAX} ACU, "
                               f"got {value}.")
        if value % ACU_STEP:
            raise InvalidInput(f"Aurora Serverless v2 capacity moves in steps of {ACU_STEP} ACU, got {value}.")
    if min_acu > max_acu:
        raise InvalidInput(f"Minimum capacity {min_acu} ACU exceeds maximum {max_acu} ACU.")


def _scaling_of(cluster: dict[str, Any]) -> AuroraScaling:
    config = cluster.get("ServerlessV2ScalingConfiguration") or {}
    low, high = config.get("MinCapacity"), config.get("MaxCapacity")
    return AuroraScaling(
        cluster_id=cluster["DBClusterIdentifier"],
        status=str(cluster.get("Status") or "unknown"),
        min_acu=None if low is None else Decimal(str(low)),
        max_acu=None if high is None else Decimal(str(high)),
    )


class AuroraAdapter:
    def __init__(self, rds: Any) -> None:
        self._rds = rds

    def describe_many(self, cluster_ids: Iterable[str]) -> dict[str, AuroraScaling]:
        """The clusters that exist among `cluster_ids` (one call per 100 ids); missing ones are absent."""
        wanted = sorted(set(cluster_ids))
        found: dict[str, AuroraScaling] = {}
        for start in range(0, len(wanted), 100):
            chunk = wanted[start:start + 100]
            try:
                pages = self._rds.get_paginator("describe_db_clusters").paginate(
                    Filters=[{"Name": "db-cluster-id", "Values": chunk}])
                for page in pages:
                    for cluster in page.get("DBClusters", []):
                        if cluster["DBClusterIdentifier"] in chunk:
                            found[cluster["DBClusterIdentifier"]] = _scaling_of(cluster)
            except AWS_FAILURES as exc:
                raise translate(exc, "RDS describe_db_clusters") from exc
        return found

    def describe(self, cluster_id: str) -> AuroraScaling:
        found = self.describe_many([cluster_id]).get(cluster_id)
        if found is None:
            raise AwsNotFound(f"Aurora cluster {cluster_id!r} does not exist in this AWS account and region.")
        return found

    def set_capacity(self, cluster_id: str, min_acu: Decimal, max_acu: Decimal) -> AuroraScaling:
        validate_bounds(min_acu, max_acu)
        self.describe(cluster_id)  # moto answers HTTP 500 for a missing cluster; fail clearly instead
        try:
            response = self._rds.modify_db_cluster(
                DBClusterIdentifier=cluster_id,
                ServerlessV2ScalingConfiguration={"MinCapacity": float(min_acu), "MaxCapacity": float(max_acu)},
                ApplyImmediately=True,
            )
        except AWS_FAILURES as exc:
            raise translate(exc, f"RDS modify_db_cluster on {cluster_id!r}") from exc
        return _scaling_of(response["DBCluster"])
