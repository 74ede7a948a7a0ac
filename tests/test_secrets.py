"""Secrets never show: not in a message, a link, or any file a command writes. Each test here
runs commands with secrets of its own and hands what they printed and wrote to ``seen``; the
last test greps all of it for every secret used."""

from __future__ import annotations

import os
from datetime import timedelta
from urllib.parse import quote, quote_plus

import pytest
from click.testing import CliRunner

from fake_graph import SECRET, graph_service, make_records, pfx_certificate  # noqa: F401
from loader.cli import main
from test_fetch import FAST, NOW

URI_PASSWORD = "uri-pass/w@rd+never~shown"
ODD_SECRET = "odd~secret+with/slashes=and spaces&more"
SECRETS = (SECRET, URI_PASSWORD, ODD_SECRET, "pfx-password-never-shown-2")
SEEN: list[str] = []  # every output and file the tests below produced


def callgraph(*args, env=None):
    result = CliRunner().invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)
    SEEN.append(result.stdout + result.stderr)
    return result.exit_code, result.stdout, result.stderr


def written(directory) -> None:
    for root, _, files in os.walk(directory):
        for name in files:
            SEEN.append(open(os.path.join(root, name), errors="replace").read())


@pytest.mark.parametrize("echo", ["json", "text"])
@pytest.mark.parametrize("secret", [SECRET, ODD_SECRET])
def test_a_token_endpoint_that_echoes_the_request_gets_its_code_and_description_shown_not_the_secret(
        graph_service, tmp_path, monkeypatch, echo, secret):
    graph_service(records=make_records(2, NOW - timedelta(hours=1)), echo_request=echo)
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "wrong" + secret)
    code, stdout, stderr = callgraph("fetch", "--since", "2h", "--out", tmp_path / "x.jsonl", *FAST)
    written(tmp_path)
    assert code == 1
    assert stderr.splitlines() == [{
        "json": "Error: Microsoft Entra ID refused a token for app 66666666-7777-8888-9999-000000000000 in tenant "
                "11111111-2222-3333-4444-555555555555: invalid_request: AADSTS900144: The request is odd; "
                "client_secret=***",
        "text": f"Error: cannot get a token from {os.environ['AZURE_AUTHORITY_HOST']}: its answer is not a sign-in "
                "service's (not JSON): check --authority-host (or AZURE_AUTHORITY_HOST) and any proxy in between",
    }[echo]]


def test_credentials_in_the_uri_are_refused_and_never_shown(cli_env, neo4j_server, tmp_path):
    host = neo4j_server.uri.partition("://")[2]
    for uri in (f"neo4j://neo4j:{URI_PASSWORD}@{host}", f"bolt://neo4j:{URI_PASSWORD}@{host}",
                f"neo4j://{URI_PASSWORD}@{host}"):
        scheme = uri.partition("://")[0]
        for command in (["schema"], ["load", tmp_path], ["query", "who-calls-whom"], ["summarize"]):
            code, stdout, stderr = callgraph(*command, env={"NEO4J_URI": uri})
            assert code == 1
            assert stderr.splitlines() == [
                f"Error: NEO4J_URI (or --uri) '{scheme}://***@{host}' carries credentials: leave them out of the URI "
                "and set NEO4J_USERNAME and NEO4J_PASSWORD (or --username/--password) instead"]
        code, stdout, _ = callgraph("browser", "--uri", uri, "--username", "alice")
        assert code == 0
        links = [line for line in stdout.splitlines() if "connectURL=" in line]
        assert links and all(f"connectURL={scheme}%3A%2F%2Falice%40{host.replace(':', '%3A')}&" in line
                             for line in links)


def test_a_wrong_certificate_password_is_said_so(graph_service, tmp_path, monkeypatch):
    fake = graph_service(records=make_records(1, NOW - timedelta(hours=1)), secret=None)
    pfx_path, fake.certificate_pem = pfx_certificate(fake.ca, tmp_path, "the-right-one")
    monkeypatch.delenv("AZURE_CLIENT_SECRET")
    monkeypatch.setenv("AZURE_CLIENT_CERTIFICATE_PATH", pfx_path)
    monkeypatch.setenv("AZURE_CLIENT_CERTIFICATE_PASSWORD", SECRETS[3])
    code, _, stderr = callgraph("fetch", "--since", "2h", "--out", tmp_path / "x.jsonl", *FAST)
    written(tmp_path)
    assert code == 1
    assert stderr.splitlines() == [f"Error: cannot read the certificate {pfx_path}: the password is wrong "
                                   "(AZURE_CLIENT_CERTIFICATE_PASSWORD), or the file holds no private key"]


def test_a_missing_ca_bundle_is_one_line(graph_service, tmp_path, monkeypatch):
    graph_service(records=make_records(1, NOW - timedelta(hours=1)))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "nowhere.pem"))
    code, _, stderr = callgraph("fetch", "--since", "2h", "--out", tmp_path / "x.jsonl", *FAST)
    assert code == 1
    assert stderr.splitlines() == [f"Error: SSL_CERT_FILE names {tmp_path / 'nowhere.pem'}, which is no file: point "
                                   "it at a file of CA certificates (PEM), or unset it to trust the usual ones"]
    (tmp_path / "junk.pem").write_text("not a certificate\n")
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "junk.pem"))
    code, _, stderr = callgraph("fetch", "--since", "2h", "--out", tmp_path / "x.jsonl", *FAST)
    assert code == 1
    assert len(stderr.splitlines()) == 1 and stderr.startswith(f"Error: cannot use the CA bundle {tmp_path}/junk.pem")


def test_no_secret_shows_in_anything_the_tests_above_printed_or_wrote():
    """Runs last in this file (pytest keeps the order of a file)."""
    assert len(SEEN) > 20
    for secret in SECRETS:
        for form in (secret, quote(secret, safe=""), quote_plus(secret)):
            assert not [text for text in SEEN if form in text], form
