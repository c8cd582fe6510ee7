"""Where the tenant URL and API key come from, and how the key is sent, on both paths.

Options on the task (directly or through module_defaults) win; then the task's
`environment` keyword; then the environment the task runs in. The key goes as
`Authorization: Bearer` unless auth_header says x-user-token.
"""

from __future__ import annotations

from helpers.plays import GET, INFO, POST, assert_json_headers, play, task

OWNER = {"owner": "blue-team"}
CASE_42 = {"source": "edr", "ticket": "OPS-1"}


def test_credentials_from_the_environment_ansible_runs_in(plays, sim):
    out = plays.run(
        play(
            [
                task("add from env", case_id=42, metadata=OWNER),
                task("read from env", INFO, case_id=42),
                task("the option beats the env", case_id=42, metadata=OWNER, api_key="wrong-key", ignore_errors=True),
            ],
            defaults=None,
        ),
        env={"TINES_TENANT_URL": sim.url, "TINES_API_KEY": sim.api_key},
    )
    assert out.rc == 0, out
    assert out.calls("add from env") == [GET(42), POST(42, OWNER)]
    assert out.task("add from env")["added"] == OWNER
    assert out.calls("read from env") == [GET(42)]
    assert out.task("read from env")["metadata"] == {**CASE_42, **OWNER}
    for name in ("add from env", "read from env"):
        for entry in out.requests(name):
            assert_json_headers(entry)

    assert out.status("the option beats the env") == "failed"
    assert out.task("the option beats the env")["status"] == 401
    assert [e["headers"]["authorization"] for e in out.requests("the option beats the env")] == ["Bearer wrong-key"]


def test_credentials_from_the_environment_keyword(plays, sim):
    both = {"TINES_TENANT_URL": "{{ tines_url }}", "TINES_API_KEY": "{{ tines_key }}"}
    out = plays.run(
        play(
            [
                task("task environment", case_id=42, metadata=OWNER, environment=both),
                {"name": "block", "environment": both, "block": [task("block environment", INFO, case_id=42)]},
                # Only the URL in the keyword: the key comes from the environment ansible-playbook runs in.
                task(
                    "key from the outer env",
                    case_id=7,
                    metadata=OWNER,
                    environment={"TINES_TENANT_URL": "{{ tines_url }}"},
                    ignore_errors=True,
                ),
            ],
            defaults=None,
        ),
        env={"TINES_API_KEY": "outer-key"},  # and no TINES_TENANT_URL
    )
    assert out.rc == 0, out
    assert out.calls("task environment") == [GET(42), POST(42, OWNER)]
    assert out.calls("block environment") == [GET(42)]
    assert out.task("block environment")["metadata"] == {**CASE_42, **OWNER}
    for name in ("task environment", "block environment"):
        for entry in out.requests(name):
            assert_json_headers(entry)

    assert out.status("key from the outer env") == "failed"
    assert out.task("key from the outer env")["status"] == 401
    assert [e["headers"]["authorization"] for e in out.requests("key from the outer env")] == ["Bearer outer-key"]
    assert sim.get_case(7) == {}


def test_module_defaults_group_and_auth_header(plays, sim):
    group = {"tenant_url": "{{ tines_url }}", "api_key": "{{ tines_key }}", "auth_header": "x-user-token"}
    out = plays.run(
        play(
            [
                task("add with X-User-Token", case_id=42, metadata=OWNER),
                task("read with X-User-Token", INFO, case_id=42),
                task("bearer on the task", case_id=7, metadata=OWNER, auth_header="bearer"),
                task("read with bearer", INFO, case_id=7, auth_header="bearer"),
            ],
            defaults=group,
        )
    )
    assert out.rc == 0, out
    assert out.calls("add with X-User-Token") == [GET(42), POST(42, OWNER)]
    assert out.calls("read with X-User-Token") == [GET(42)]
    for name in ("add with X-User-Token", "read with X-User-Token"):
        for entry in out.requests(name):
            assert entry["headers"].get("x-user-token") == sim.api_key, name
            assert "authorization" not in entry["headers"], name
            assert entry["headers"]["content-type"] == "application/json", name
    assert out.task("read with X-User-Token")["metadata"] == {**CASE_42, **OWNER}

    assert out.calls("bearer on the task") == [GET(7), POST(7, OWNER)]
    assert out.calls("read with bearer") == [GET(7)]
    for name in ("bearer on the task", "read with bearer"):
        for entry in out.requests(name):
            assert_json_headers(entry)  # Authorization: Bearer and no X-User-Token
    assert out.task("read with bearer")["metadata"] == OWNER


def test_tenant_url_forms(plays, sim):
    host_port = f"127.0.0.1:{sim.port}"
    out = plays.run(
        play(
            [
                # A bare host gets https://. The simulator speaks plain HTTP, so the TLS handshake fails.
                task(
                    "bare host",
                    case_id=42,
                    metadata=OWNER,
                    tenant_url=host_port,
                    max_retries=0,
                    timeout=5,
                    ignore_errors=True,
                ),
                task("trailing slash", case_id=42, metadata=OWNER, tenant_url="{{ tines_url }}/"),
            ]
        )
    )
    assert out.rc == 0, out
    assert out.status("bare host") == "failed"
    message = out.task("bare host")["msg"]
    assert message.startswith("GET /api/v2/cases/42/metadata: "), message
    assert f"https://{host_port}" in message, message
    assert out.calls("bare host") == []
    assert out.calls("trailing slash") == [GET(42), POST(42, OWNER)]
