"""The boto3 yardstick of the cold-start benchmark: alarm-ingest's work in Python.

Run by awslambdaric against the same local Runtime API as the Rust functions
(bootstrap beside this file). Per event, as alarm-ingest does it: parse the
CloudWatch alarm, find the member in the topology (MIRRORGATE_TOPOLOGY, TOML),
read the mirror's item (consistent GetItem), write it back with a conditional
PutItem when it changed, and publish to SNS on a transition. It keeps its own
item (sort key PYBENCH) so it never touches the state the Rust functions keep.
"""

import json
import os
import tomllib

import boto3

TABLE = os.environ["MIRRORGATE_TABLE"]
TOPIC_ARN = os.environ["MIRRORGATE_TOPIC_ARN"]
TOPOLOGY = tomllib.loads(os.environ["MIRRORGATE_TOPOLOGY"])

# Clients built once per cold start, as the Rust functions build theirs.
dynamodb = boto3.client("dynamodb")
sns = boto3.client("sns")


def member_of(detail):
    """(mirror, member) named by the alarm's HealthCheckId / InstanceId dimension or its name."""
    dimensions = {}
    for metric in detail.get("configuration", {}).get("metrics", []):
        dimensions.update(metric.get("metricStat", {}).get("metric", {}).get("dimensions", {}))
    for mirror in TOPOLOGY.get("mirror", []):
        for member in mirror.get("member", []):
            if dimensions.get("HealthCheckId") == member.get("health_check_id") or (
                "InstanceId" in dimensions and dimensions["InstanceId"] == member.get("instance_id")
            ):
                return mirror, member["name"]
        for alarm in mirror.get("alarm", []):
            if alarm["name"] == detail.get("alarmName"):
                return mirror, alarm["member"]
    raise ValueError(f"the alarm {detail.get('alarmName')!r} names nothing in the topology")


def phase_of(mirror, down):
    failover = [m["name"] for m in mirror["member"] if m["kind"] == "failover"]
    return "degraded" if any(name in down for name in failover) else "normal"


def handler(event, context):
    detail = event["detail"]
    mirror, member = member_of(detail)
    alarming = detail["state"]["value"] == "ALARM"
    key = {"pk": {"S": f"MIRROR#{mirror['name']}"}, "sk": {"S": "PYBENCH"}}

    item = dynamodb.get_item(TableName=TABLE, Key=key, ConsistentRead=True).get("Item")
    version = int(item["version"]["N"]) if item else 0
    state = json.loads(item["state"]["S"]) if item else {"down": [], "phase": "normal", "seen": []}
    if event["id"] in state["seen"]:
        return {"mirror": mirror["name"], "verdict": "duplicate"}

    down = set(state["down"])
    (down.add if alarming else down.discard)(member)
    phase = phase_of(mirror, down)
    transition = phase != state["phase"]
    new = {"down": sorted(down), "phase": phase, "seen": (state["seen"] + [event["id"]])[-64:]}
    if new == state:
        return {"mirror": mirror["name"], "verdict": "unchanged"}

    condition = {"ConditionExpression": "attribute_not_exists(pk)"} if version == 0 else {
        "ConditionExpression": "#v = :v",
        "ExpressionAttributeNames": {"#v": "version"},
        "ExpressionAttributeValues": {":v": {"N": str(version)}},
    }
    dynamodb.put_item(
        TableName=TABLE,
        Item={**key, "version": {"N": str(version + 1)}, "phase": {"S": phase}, "state": {"S": json.dumps(new)}},
        **condition,
    )
    if transition:
        sns.publish(
            TopicArn=TOPIC_ARN,
            Subject=f"{mirror['name']}: {state['phase']} -> {phase}",
            Message=f"{member} is {'in ALARM' if alarming else 'OK'}; {mirror['name']} is now {phase}.",
        )
    return {"mirror": mirror["name"], "verdict": "applied", "transition": transition}
