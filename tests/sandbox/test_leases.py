"""coordination.k8s.io/v1 Leases, the collection's run lock, as kube-apiserver serves them."""

from __future__ import annotations

import datetime
import json
import threading
import uuid

import pytest
import yaml
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

NS = "ml"
LEASES = f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases"
MICRO = "%Y-%m-%dT%H:%M:%S.%fZ"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def lease(name: str, holder: str = "run-1", **spec) -> dict:
    now = datetime.datetime.now(datetime.timezone.utc).strftime(MICRO)
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name},
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": 60,
            "acquireTime": now,
            "renewTime": now,
            "leaseTransitions": 0,
            **spec,
        },
    }


@pytest.fixture(scope="module")
def coordination(apiserver):
    return client.CoordinationV1Api(config.new_client_from_config(config_file=str(apiserver.kubeconfig)))


def test_lease_crud_with_the_python_client(apiserver, coordination):
    name = unique("lock")
    acquired = datetime.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=datetime.timezone.utc)
    body = client.V1Lease(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1LeaseSpec(
            holder_identity="ci-run-1", lease_duration_seconds=30, acquire_time=acquired, renew_time=acquired
        ),
    )
    created = coordination.create_namespaced_lease(NS, body)
    assert created.spec.holder_identity == "ci-run-1" and created.spec.renew_time == acquired
    assert created.metadata.generation is None  # Leases have no spec/status split
    listed = coordination.list_namespaced_lease(NS)
    assert name in [item.metadata.name for item in listed.items]
    created.spec.renew_time = acquired + datetime.timedelta(seconds=10)
    renewed = coordination.replace_namespaced_lease(name, NS, created)
    assert renewed.metadata.resource_version != created.metadata.resource_version
    with pytest.raises(ApiException) as stale:  # created still carries the first resourceVersion
        coordination.replace_namespaced_lease(name, NS, created)
    assert stale.value.status == 409
    assert json.loads(stale.value.body)["message"] == (
        f'Operation cannot be fulfilled on leases.coordination.k8s.io "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    patched = coordination.patch_namespaced_lease(
        name, NS, {"spec": {"holderIdentity": "ci-run-2", "leaseTransitions": 1}}
    )
    assert (patched.spec.holder_identity, patched.spec.lease_transitions) == ("ci-run-2", 1)
    coordination.delete_namespaced_lease(name, NS)
    with pytest.raises(ApiException) as gone:
        coordination.read_namespaced_lease(name, NS)
    assert gone.value.status == 404
    assert json.loads(gone.value.body)["message"] == f'leases.coordination.k8s.io "{name}" not found'


def test_a_second_create_is_409_already_exists(apiserver):
    name = unique("lock")
    assert apiserver.request("POST", LEASES, json=lease(name)).status_code == 201
    again = apiserver.request("POST", LEASES, json=lease(name, holder="run-2"))
    assert again.status_code == 409
    assert again.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f'leases.coordination.k8s.io "{name}" already exists',
        "reason": "AlreadyExists",
        "details": {"name": name, "group": "coordination.k8s.io", "kind": "leases"},
        "code": 409,
    }
    held = apiserver.request("GET", f"{LEASES}/{name}").json()
    assert held["spec"]["holderIdentity"] == "run-1"


@pytest.mark.parametrize(
    "spec, field, message",
    [
        ({"leaseDurationSeconds": 0}, "spec.leaseDurationSeconds", "Invalid value: 0: must be greater than 0"),
        ({"leaseDurationSeconds": -5}, "spec.leaseDurationSeconds", "Invalid value: -5: must be greater than 0"),
        ({"leaseTransitions": -1}, "spec.leaseTransitions", "Invalid value: -1: must be greater than or equal to 0"),
    ],
)
def test_invalid_lease_spec_is_422(apiserver, spec, field, message):
    name = unique("bad")
    response = apiserver.request("POST", LEASES, json=lease(name, **spec))
    assert response.status_code == 422
    assert response.json()["message"] == f'Lease.coordination.k8s.io "{name}" is invalid: {field}: {message}'
    assert response.json()["details"]["causes"] == [{"reason": "FieldValueInvalid", "message": message, "field": field}]


@pytest.mark.parametrize(
    "value, error",
    [
        # A MicroTime needs exactly six fractional digits, as Go's layout says.
        ("2026-01-02T03:04:05Z", 'cannot parse "Z" as ".000000"'),
        ("2026-01-02T03:04:05.123Z", 'cannot parse ".123Z" as ".000000"'),
        ("2026-01-02 03:04:05.123456Z", 'cannot parse " 03:04:05.123456Z" as "T"'),
        ("yesterday", 'cannot parse "yesterday" as "2006"'),
    ],
)
def test_micro_time_that_does_not_parse_is_400_like_the_real_decoder(apiserver, value, error):
    response = apiserver.request("POST", LEASES, json=lease(unique("bad"), renewTime=value))
    assert response.status_code == 400 and response.json()["reason"] == "BadRequest"
    assert response.json()["message"] == (
        f'Lease in version "v1" cannot be handled as a Lease: parsing time "{value}" as '
        f'"2006-01-02T15:04:05.000000Z07:00": {error}'
    )


def test_wrong_types_do_not_decode(apiserver):
    name = unique("bad")
    response = apiserver.request("POST", LEASES, json=lease(name, leaseDurationSeconds="60"))
    assert response.status_code == 400
    assert response.json()["message"] == (
        'Lease in version "v1" cannot be handled as a Lease: json: cannot unmarshal string into Go struct field '
        "LeaseSpec.spec.leaseDurationSeconds of type int32"
    )
    with_offset = lease(name, renewTime="2026-01-02T03:04:05.123456+02:00")
    assert apiserver.request("POST", LEASES, json=with_offset).status_code == 201
    # A patch whose result does not decode is 422 on the field "patch", as the real patch handler says it.
    patched = apiserver.request(
        "PATCH",
        f"{LEASES}/{name}",
        json={"spec": {"renewTime": "2026-01-02T03:04:05Z"}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert patched.status_code == 422
    assert patched.json()["message"].startswith(' "" is invalid: patch: Invalid value: "{')
    assert patched.json()["details"]["causes"][0]["field"] == "patch"


def test_python_client_datetimes_without_microseconds_are_refused(apiserver, coordination):
    # isoformat() leaves the fraction out when it is zero: the real server refuses such a
    # Lease, so the sandbox must too, or the run lock would pass here and fail on a cluster.
    whole_second = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    body = client.V1Lease(
        metadata=client.V1ObjectMeta(name=unique("lock")),
        spec=client.V1LeaseSpec(holder_identity="x", renew_time=whole_second),
    )
    with pytest.raises(ApiException) as refused:
        coordination.create_namespaced_lease(NS, body)
    assert refused.value.status == 400
    assert 'cannot parse "+00:00" as ".000000"' in json.loads(refused.value.body)["message"]


def test_coordinated_leader_election_fields_are_dropped(apiserver):
    name = unique("lock")
    created = apiserver.request(
        "POST", LEASES, json=lease(name, strategy="OldestEmulationVersion", preferredHolder="x")
    ).json()
    assert "strategy" not in created["spec"] and "preferredHolder" not in created["spec"]


def test_kubectl_get_lease_and_patch_types(apiserver):
    name = unique("lock")
    apiserver.kubectl("apply", "-f", "-", input=yaml.safe_dump(lease(name, holder="kubectl-run")))
    table = apiserver.kubectl("-n", NS, "get", "lease", name).stdout.splitlines()
    assert table[0].split() == ["NAME", "HOLDER", "AGE"]
    assert table[1].split()[:2] == [name, "kubectl-run"]
    apiserver.kubectl("-n", NS, "patch", "lease", name, "--type=merge", "-p", '{"spec":{"holderIdentity":"m"}}')
    apiserver.kubectl("-n", NS, "patch", "lease", name, "-p", '{"spec":{"leaseTransitions":2}}')
    apiserver.kubectl(
        "-n",
        NS,
        "patch",
        "lease",
        name,
        "--type=json",
        "-p",
        '[{"op":"replace","path":"/spec/leaseDurationSeconds","value":15}]',
    )
    applied = lease(name, holder="ssa")
    apiserver.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", input=yaml.safe_dump(applied))
    got = json.loads(apiserver.kubectl("-n", NS, "get", "lease", name, "-o", "json").stdout)
    assert (got["spec"]["holderIdentity"], got["spec"]["leaseTransitions"], got["spec"]["leaseDurationSeconds"]) == (
        "ssa",
        0,
        60,
    )
    invalid = apiserver.kubectl(
        "-n", NS, "patch", "lease", name, "--type=merge", "-p", '{"spec":{"leaseDurationSeconds":0}}', check=False
    )
    assert invalid.returncode == 1 and "must be greater than 0" in invalid.stderr
    assert f'lease.coordination.k8s.io "{name}" deleted' in apiserver.kubectl("-n", NS, "delete", "lease", name).stdout


def test_watch_sees_a_lease_renewed(apiserver, coordination):
    name = unique("lock")
    created = apiserver.request("POST", LEASES, json=lease(name)).json()

    def renew() -> None:
        body = dict(
            created, spec=dict(created["spec"], renewTime=datetime.datetime.now(datetime.timezone.utc).strftime(MICRO))
        )
        apiserver.request("PUT", f"{LEASES}/{name}", json=body)

    timer = threading.Timer(0.5, renew)
    timer.start()
    events = []
    for event in watch.Watch().stream(
        coordination.list_namespaced_lease,
        NS,
        field_selector=f"metadata.name={name}",
        resource_version=created["metadata"]["resourceVersion"],
        timeout_seconds=3,
    ):
        events.append(event["type"])
        break
    timer.join()
    assert events == ["MODIFIED"]
