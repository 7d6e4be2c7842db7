"""Delivery of statements by email, against a real SMTP server (aiosmtpd) started on localhost by the tests."""
from __future__ import annotations

import email
import json
import shutil
import socket
import ssl
from email import policy as email_policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from compkit.data import load_dataset
from compkit.delivery import (
    DeliveryError,
    SmtpSettings,
    content_hash,
    deliver_statements,
    load_settings,
    plan_delivery,
    read_log,
)
from compkit.errors import DataError
from compkit.feedback import write_statements
from tests.conftest import POLICY_2025, tiny_tables, write_tables

ADDRESSES = ["li.na@bank.example.cn", "wang.wei@bank.example.cn", "zhang.min@bank.example.cn", None]


class Inbox:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(email.message_from_bytes(envelope.content, policy=email_policy.default))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


def _settings(port: int, **kw) -> SmtpSettings:
    return SmtpSettings(host="127.0.0.1", port=port, starttls=False, sender="HR <hr@bank.example.cn>",
                        throttle_seconds=0, timeout_seconds=5, **kw)


@pytest.fixture(scope="module")
def written_once(tmp_path_factory):
    """The tiny dataset with an email column (E4 has none), its statements written, and a PDF beside E1's."""
    from compkit.policy import load_policy

    root = tmp_path_factory.mktemp("written")
    tables = tiny_tables()
    tables["employees"]["email"] = ADDRESSES
    data_dir = write_tables(tables, root / "data")
    out = root / "private" / "statements"
    write_statements(POLICY_2025, data_dir, out)
    (out / "E1.pdf").write_bytes(b"%PDF-1.4 statement of E1")
    return load_dataset(data_dir, policy=load_policy(POLICY_2025)), out, data_dir


@pytest.fixture()
def written(written_once, tmp_path: Path):
    """A fresh copy of the statements for each test (each has its own delivery log)."""
    data, out, data_dir = written_once
    copy = tmp_path / "private" / "statements"
    shutil.copytree(out, copy)
    return data, copy, data_dir


def test_dry_run_lists_and_sends_nothing(written, server) -> None:
    data, out, _ = written
    inbox, _port = server
    report = deliver_statements(data.employees, out, "2025")
    plan = report.plan.set_index("employee_id")
    assert report.dry_run and inbox.messages == []
    assert plan["action"].to_dict() == {"E1": "send", "E2": "send", "E3": "send", "E4": "no email address"}
    assert plan.loc["E1", "attachment"] == "E1.pdf" and plan.loc["E2", "attachment"] == ""
    text = "\n".join(report.lines())
    assert "would send: E1 Li Na <li.na@bank.example.cn>: E1.html + E1.pdf" in text
    assert "NOT SENT, no email address: E4 Liu Yang" in text
    assert not (out.parent / "statements-delivery.jsonl").exists()  # a dry run writes no log


def test_send_delivers_each_person_their_own_statement(written, server) -> None:
    data, out, _ = written
    inbox, port = server
    report = deliver_statements(data.employees, out, "2025", confirm=True, settings=_settings(port))
    assert sorted(r[1][0] for r in inbox.envelopes) == sorted(a for a in ADDRESSES if a)
    by_to = {m["To"].addresses[0].addr_spec: m for m in inbox.messages}
    for eid, addr in zip(["E1", "E2", "E3"], ADDRESSES):
        msg = by_to[addr]
        html = msg.get_body(("html",)).get_content()
        page = (out / f"{eid}.html").read_text(encoding="utf-8")
        assert html.replace("\r\n", "\n").rstrip("\n") == page.rstrip("\n")  # their own page (SMTP: CRLF lines)
        assert msg["Subject"] == "2025 绩效考核与薪酬结果（保密）"
        assert msg["From"] == "HR <hr@bank.example.cn>"
    attachments = [(a.get_filename(), a.get_content()) for a in by_to[ADDRESSES[0]].iter_attachments()]
    assert attachments == [("E1.pdf", b"%PDF-1.4 statement of E1")]
    assert list(by_to[ADDRESSES[1]].iter_attachments()) == []
    # the log: who, when, message id, sha256 of what was sent
    log = read_log(out.parent / "statements-delivery.jsonl")
    sent = log[log["event"] == "sent"].set_index("employee_id")
    assert sorted(sent.index) == ["E1", "E2", "E3"]
    e1 = (out / "E1.html").read_bytes()
    assert sent.loc["E1", "sha256"] == content_hash(e1, b"%PDF-1.4 statement of E1")
    assert sent.loc["E1", "message_id"] == by_to[ADDRESSES[0]]["Message-ID"]
    assert report.plan.set_index("employee_id").loc["E4", "outcome"] == "no email address"
    # a rerun sends nothing
    again = deliver_statements(data.employees, out, "2025", confirm=True, settings=_settings(port))
    assert len(inbox.messages) == 3
    assert set(again.plan["action"]) == {"already sent", "no email address"}
    # an interim statement is another period: sent again
    deliver_statements(data.employees, out, "2025-06", confirm=True, settings=_settings(port))
    assert len(inbox.messages) == 6


def test_interrupted_run_resumes_without_sending_twice(written, server) -> None:
    data, out, _ = written
    inbox, port = server
    calls = []

    def interrupt(seconds: float) -> None:  # the throttle pause before the second message
        calls.append(seconds)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        deliver_statements(data.employees, out, "2025", confirm=True, settings=_settings(port, ), sleep=interrupt)
    assert len(inbox.messages) == 1 and calls == [0]
    deliver_statements(data.employees, out, "2025", confirm=True, settings=_settings(port))
    received = sorted(m["To"].addresses[0].addr_spec for m in inbox.messages)
    assert received == sorted(a for a in ADDRESSES if a)  # everyone once, no one twice


def test_started_but_unconfirmed_delivery_is_held_back(written, server) -> None:
    """A run killed after handing a message to the server but before logging 'sent': the person may have it, so
    a rerun does not send again unless asked by name."""
    data, out, _ = written
    inbox, port = server
    log = out.parent / "statements-delivery.jsonl"
    log.write_text(json.dumps({"event": "sending", "employee_id": "E2", "period": "2025", "email": ADDRESSES[1],
                               "at": "2026-01-10T09:00:00+00:00", "message_id": "<x@bank>", "sha256": "ab"})
                   + "\n", encoding="utf-8")
    report = deliver_statements(data.employees, out, "2025", confirm=True, settings=_settings(port))
    assert sorted(m["To"].addresses[0].addr_spec for m in inbox.messages) == [ADDRESSES[0], ADDRESSES[2]]
    assert "delivery to E2 Wang Wei <wang.wei@bank.example.cn> started at 2026-01-10T09:00:00+00:00 was " \
           "interrupted" in "\n".join(report.lines())
    deliver_statements(data.employees, out, "2025", confirm=True, settings=_settings(port), resend=["E2"])
    assert len(inbox.messages) == 3 and inbox.messages[-1]["To"].addresses[0].addr_spec == ADDRESSES[1]
    with pytest.raises(DeliveryError, match="--resend E9: not an employee_id"):
        deliver_statements(data.employees, out, "2025", resend=["E9"])


def test_shared_address_is_sent_to_no_one(written) -> None:
    data, out, _ = written
    emp = data.employees.copy()
    emp["email"] = ["a@bank.example.cn", "A@bank.example.cn ", "c@bank.example.cn", "d@bank.example.cn"]
    plan = plan_delivery(emp, out, "2025").set_index("employee_id")["action"]
    assert plan.to_dict() == {"E1": "address shared", "E2": "address shared", "E3": "send", "E4": "send"}


def test_send_limit_sends_in_batches(written, server) -> None:
    data, out, _ = written
    inbox, port = server
    first = deliver_statements(data.employees, out, "2025", confirm=True, settings=_settings(port), limit=2)
    assert len(inbox.messages) == 2 and (first.plan["outcome"] == "send").sum() == 1
    deliver_statements(data.employees, out, "2025", confirm=True, settings=_settings(port), limit=2)
    assert len(inbox.messages) == 3


def test_refused_recipient_is_logged_failed_and_retried(written) -> None:
    data, out, _ = written

    class Refusing(Inbox):
        async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
            if address.startswith("wang"):
                return "550 no such mailbox"
            envelope.rcpt_tos.append(address)
            return "250 OK"

    inbox = Refusing()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        report = deliver_statements(data.employees, out, "2025", confirm=True, settings=_settings(controller.port))
    finally:
        controller.stop()
    outcome = report.plan.set_index("employee_id")["outcome"]
    assert outcome["E2"].startswith("failed: 550 no such mailbox") and outcome["E1"] == "sent"
    assert plan_delivery(data.employees, out, "2025", read_log(report.log)).set_index(
        "employee_id").loc["E2", "action"] == "send"  # tried again on the next run


def test_starttls_and_login(written, tmp_path: Path) -> None:
    """STARTTLS with the bank's own certificate authority, then a login with the password from the environment."""
    trustme = pytest.importorskip("trustme")
    data, out, _ = written
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_ctx)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret", handled=False)

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port(), tls_context=server_ctx,
                            require_starttls=True, authenticator=authenticator, auth_require_tls=True)
    controller.start()
    try:
        settings = _settings(controller.port, user="hr@bank.example.cn", cafile=str(ca_file)).model_copy(
            update={"starttls": True})
        deliver_statements(data.employees, out, "2025", confirm=True, settings=settings,
                           environ={"COMPKIT_SMTP_PASSWORD": "s3cret"})
        assert len(inbox.messages) == 3 and logins[0] == (b"hr@bank.example.cn", b"s3cret")
        with pytest.raises(DeliveryError, match="refused the login of hr@bank.example.cn"):
            deliver_statements(data.employees, out, "2025-06", confirm=True, settings=settings,
                               environ={"COMPKIT_SMTP_PASSWORD": "wrong"})
    finally:
        controller.stop()


def test_no_cleartext_when_starttls_is_asked(written, server) -> None:
    data, out, _ = written
    inbox, port = server
    settings = _settings(port).model_copy(update={"starttls": True})
    with pytest.raises(DeliveryError, match="does not offer STARTTLS"):
        deliver_statements(data.employees, out, "2025", confirm=True, settings=settings)
    assert inbox.messages == []
    log = read_log(out.parent / "statements-delivery.jsonl")
    assert len(log) == 0


# ------------------------------------------------------------------------------------------ settings


def test_settings_file(tmp_path: Path) -> None:
    f = tmp_path / "smtp.toml"
    f.write_text('[smtp]\nhost = "smtp.bank.example.cn"\nport = 587\nuser = "hr@bank.example.cn"\n'
                 'sender = "人力资源部 <hr@bank.example.cn>"\n', encoding="utf-8")
    s = load_settings(f)
    assert (s.host, s.port, s.starttls, s.throttle_seconds) == ("smtp.bank.example.cn", 587, True, 1.0)
    assert s.password({"COMPKIT_SMTP_PASSWORD": "pw"}) == "pw"
    with pytest.raises(DeliveryError, match="no SMTP password for hr@bank.example.cn"):
        s.password({})
    pw = tmp_path / "pw"
    pw.write_text("from-file\n")
    assert s.model_copy(update={"password_file": str(pw)}).password({}) == "from-file"
    assert load_settings(None, {"COMPKIT_SMTP_SETTINGS": str(f)}).host == "smtp.bank.example.cn"


@pytest.mark.parametrize("text, message", [
    ('[smtp]\nhost = "h"\nsender = "hr@bank.example.cn"\npassword = "x"\n', "a password is written in the file"),
    ('[smtp]\nsender = "hr@bank.example.cn"\n', "smtp.host: required key is missing"),
    ('[smtp]\nhost = "h"\nsender = "not an address"\n', "smtp.sender: 'not an address' is not an"),
    ('[smtp]\nhost = "h"\nsender = "hr@bank.example.cn"\nprot = 25\n', "smtp.prot: unknown key (not a setting"),
    ('[smtp\nhost = "h"\n', "not a readable TOML file"),
])
def test_bad_settings(tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "smtp.toml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(DeliveryError, match=message.replace("(", r"\(")):
        load_settings(f)


def test_settings_inside_a_repository_are_refused(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    f = repo / "smtp.toml"
    f.write_text('[smtp]\nhost = "h"\nsender = "hr@bank.example.cn"\n')
    with pytest.raises(DeliveryError, match="inside the git working tree"):
        load_settings(f)
    with pytest.raises(DeliveryError, match="no SMTP settings file at"):
        load_settings(tmp_path / "absent.toml")
    pw = repo / "pw"
    pw.write_text("x")
    s = SmtpSettings(host="h", sender="hr@bank.example.cn", user="u", password_file=str(pw))
    with pytest.raises(DeliveryError, match="inside the git working tree"):
        s.password({})


def test_bad_email_in_the_data_is_a_clear_error(tmp_path: Path) -> None:
    from compkit.policy import load_policy

    tables = tiny_tables()
    tables["employees"]["email"] = ["li.na@bank.example.cn", "wang wei@bank", None, "zhang@bank.example.cn"]
    folder = write_tables(tables, tmp_path / "bad")
    with pytest.raises(DataError, match=r"employees.csv, row 3, column 'email': found 'wang wei@bank'; expected an "
                                        r"email address"):
        load_dataset(folder, policy=load_policy(POLICY_2025))


# ------------------------------------------------------------------------------------------ the command


def test_statements_command_send(written, server, tmp_path: Path, capsys, monkeypatch) -> None:
    from compkit.cli import main

    _, out, data_dir = written
    inbox, port = server
    args = ["statements", "--policy", str(POLICY_2025), "--data", str(data_dir), "--out", str(out), "--send"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "dry run (nothing sent; add --confirm to send)" in printed and "3 send, 1 no email address" in printed
    assert inbox.messages == []
    # no settings: refused before anything is written
    monkeypatch.setenv("COMPKIT_SMTP_SETTINGS", str(tmp_path / "absent.toml"))
    out2 = tmp_path / "private" / "other"
    assert main(args[:-3] + ["--out", str(out2), "--send", "--confirm"]) == 1
    assert "处没有 SMTP 设置文件" in capsys.readouterr().err and not out2.exists()
    settings = tmp_path / "smtp.toml"
    settings.write_text(f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nstarttls = false\n'
                        'sender = "hr@bank.example.cn"\nthrottle_seconds = 0\n', encoding="utf-8")
    assert main(args + ["--confirm", "--smtp", str(settings)]) == 0
    printed = capsys.readouterr().out
    assert "sent 3 message(s)" in printed and len(inbox.messages) == 3
    assert main(args + ["--confirm", "--smtp", str(settings)]) == 0
    assert "3 already sent, 1 no email address" in capsys.readouterr().out and len(inbox.messages) == 3
