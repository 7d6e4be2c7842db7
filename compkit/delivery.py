"""Delivery of statements by email (绩效反馈：邮件送达).

``compkit statements ... --send`` mails each person their own statement: the statement page as the HTML body,
the PDF attached where one was written beside it. The recipient is the ``email`` column of the employees table;
a person without an address is reported and never mailed (nor anyone else in their place), and an address that
two or more people share is refused for all of them, so nobody receives a colleague's pay.

The SMTP server is named in a settings file outside any git working tree (TOML, see :class:`SmtpSettings`);
the password comes from an environment variable or a file, never from the settings file, the policy or the
repository. A dry run is the default: it lists what would be sent; ``--confirm`` sends.

Sending is throttled (``throttle_seconds`` between messages) and resumable: every delivery is written to a
delivery log (JSON Lines, in the private folder beside the statements) before and after it is handed to the
server: who, to which address, when, the Message-ID and the sha256 of what was sent (HTML body and attachment).
A rerun skips everyone whose statement for the same period was sent, and holds back anyone whose delivery was
started but not confirmed (an interrupted run): it may have arrived, so it is reported for a person to check,
and sent again only when asked by name (``--resend``). No one is ever sent the same statement twice by a rerun.
"""
from __future__ import annotations

import json
import os
import re
import smtplib
import ssl
import time
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from compkit.contract import EMAIL_PATTERN
from compkit.errors import CompkitError, listed, pydantic_message
from compkit.fingerprint import bytes_sha256
from compkit.i18n import M_, N_
from compkit.privacy import _inside_git_tree, refuse_reports_folder

SETTINGS_ENV = "COMPKIT_SMTP_SETTINGS"
DEFAULT_SETTINGS = Path("~/.config/compkit/smtp.toml")
PASSWORD_ENV = "COMPKIT_SMTP_PASSWORD"
_EMAIL = re.compile(EMAIL_PATTERN)

# what happens to each person (the ``action`` column of a plan)
SEND = "send"
SENT = "already sent"
NO_ADDRESS = "no email address"
SHARED = "address shared"
UNCERTAIN = "interrupted: check"
NO_STATEMENT = "no statement file"


class DeliveryError(CompkitError):
    """Statements cannot be delivered as asked (settings, password, server)."""


# ------------------------------------------------------------------------------------------- settings


class SmtpSettings(BaseModel):
    """The ``[smtp]`` table of the settings file, e.g. ``~/.config/compkit/smtp.toml``::

        [smtp]
        host = "smtp.bank.example.cn"
        port = 587
        starttls = true                       # upgrade the connection to TLS before logging in (default)
        user = "hr-statements@bank.example.cn"
        sender = "人力资源部 <hr-statements@bank.example.cn>"
        password_env = "COMPKIT_SMTP_PASSWORD"     # the variable holding the password (default), or
        # password_file = "~/.compkit-smtp-password"   # a file outside any repository
        throttle_seconds = 2.0                # pause between two messages
    """

    model_config = ConfigDict(extra="forbid")

    host: str
    port: int = Field(587, ge=1, le=65535)
    starttls: bool = True
    ssl: bool = False  # implicit TLS (port 465) instead of STARTTLS
    cafile: str | None = None  # a private certificate authority (a bank's own) to trust
    user: str | None = None
    sender: str
    password_env: str = PASSWORD_ENV
    password_file: str | None = None
    throttle_seconds: float = Field(1.0, ge=0)
    timeout_seconds: float = Field(30.0, gt=0)
    subject: str = "{period} 绩效考核与薪酬结果（保密）"
    reply_to: str | None = None

    @field_validator("sender", "reply_to")
    @classmethod
    def _address(cls, v: str | None) -> str | None:
        if v is None:
            return v
        addr = v[v.find("<") + 1:v.rfind(">")] if "<" in v else v
        if not _EMAIL.match(addr.strip()):
            raise ValueError(M_("{value} is not an email address", value=repr(v)))
        return v

    def password(self, environ: dict[str, str] | None = None) -> str | None:
        """The password: the environment variable ``password_env``, else the file ``password_file`` (outside any
        git working tree). None when no user is set (a relay that needs no login)."""
        env = os.environ if environ is None else environ
        if self.user is None:
            return None
        if env.get(self.password_env):
            return env[self.password_env]
        if self.password_file:
            path = Path(self.password_file).expanduser().resolve()
            if not path.is_file():
                raise DeliveryError(M_("password_file {path}: no such file", path=str(self.password_file)))
            repo = _inside_git_tree(path.parent)
            if repo is not None:
                raise DeliveryError(M_("password_file {path} is inside the git working tree {repo}; keep it outside "
                                       "any repository so that it is never committed", path=str(path), repo=str(repo)))
            return path.read_text(encoding="utf-8").strip()
        raise DeliveryError(M_("no SMTP password for {user}: set the environment variable {name} or password_file "
                               "in the settings file (a file outside the repository)", user=self.user,
                               name=self.password_env))


def settings_path(path: str | Path | None = None, environ: dict[str, str] | None = None) -> Path:
    """The settings file: ``path``, else ``$COMPKIT_SMTP_SETTINGS``, else ``~/.config/compkit/smtp.toml``."""
    env = os.environ if environ is None else environ
    chosen = path or env.get(SETTINGS_ENV) or DEFAULT_SETTINGS
    return Path(chosen).expanduser().resolve()


def load_settings(path: str | Path | None = None, environ: dict[str, str] | None = None) -> SmtpSettings:
    """Read and check the SMTP settings file. Refused: a file inside a git working tree (it would be committed),
    a ``password`` written into it, unknown keys, a missing host or sender."""
    file = settings_path(path, environ)
    if not file.is_file():
        raise DeliveryError(M_("no SMTP settings file at {file}: write one (see compkit.delivery.SmtpSettings) "
                               "outside the repository, and name it with --smtp or {name}", file=str(file),
                               name=SETTINGS_ENV))
    repo = _inside_git_tree(file.parent)
    if repo is not None:
        raise DeliveryError(M_("SMTP settings {file}: the file is inside the git working tree {repo}; keep it "
                               "outside any repository (e.g. ~/.config/compkit/smtp.toml)", file=str(file),
                               repo=str(repo)))
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise DeliveryError(M_("SMTP settings {file}: not a readable TOML file ({error})", file=str(file),
                               error=str(err))) from None
    table = raw.get("smtp", raw)
    if "password" in table:
        raise DeliveryError(M_("SMTP settings {file}: a password is written in the file; remove it and set the "
                               "environment variable {name} (or password_file) instead", file=str(file),
                               name=PASSWORD_ENV))
    try:
        return SmtpSettings.model_validate(table)
    except ValidationError as err:
        lines = [M_("{path}: {message}", path="smtp." + ".".join(map(str, e["loc"])),
                    message=pydantic_message(e, N_("unknown key (not a setting of the SMTP settings file; check the "
                                                   "spelling)"))) for e in err.errors()]
        raise DeliveryError(M_("SMTP settings {file}:\n  - {problems}", file=str(file),
                               problems=listed(lines))) from None


# ------------------------------------------------------------------------------------------ the log


def read_log(path: Path) -> pd.DataFrame:
    """The delivery log as a table (one row per event: ``sending``, ``sent`` or ``failed``)."""
    cols = ["event", "employee_id", "period", "email", "at", "message_id", "sha256", "files", "error"]
    if not path.exists():
        return pd.DataFrame(columns=cols)
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return pd.DataFrame(rows).reindex(columns=cols)


def _append(path: Path, record: dict) -> None:
    """One line, flushed to disk before anything else happens (the log must survive an interruption)."""
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def default_log(statements: Path) -> Path:
    """``private/statements`` -> ``private/statements-delivery.jsonl``: beside the statement folder (which a new
    run replaces), in the same private folder."""
    return statements.with_name(statements.name + "-delivery.jsonl")


def delivery_state(log: pd.DataFrame, period: str) -> pd.DataFrame:
    """Each person's last delivery event for ``period``: index employee_id, columns event, at, sha256."""
    mine = log[log["period"].astype(str) == str(period)]
    if not len(mine):
        return pd.DataFrame(columns=["event", "at", "sha256"])
    return mine.groupby("employee_id").tail(1).set_index("employee_id")[["event", "at", "sha256"]]


# ----------------------------------------------------------------------------------------- the plan


def statement_file(folder: Path, employee_id: str) -> Path:
    """The statement page written for ``employee_id`` by :func:`compkit.feedback.write_statements`."""
    from compkit import feedback

    return folder / f"{feedback._safe(str(employee_id))}.html"


def content_hash(html: bytes, attachment: bytes | None = None) -> str:
    """sha256 of what is sent: the HTML body, then the attachment's bytes (if any)."""
    return bytes_sha256(html if attachment is None else html + attachment)


def plan_delivery(employees: pd.DataFrame, folder: str | Path, period: str, log: pd.DataFrame | None = None,
                  resend: Iterable[str] = ()) -> pd.DataFrame:
    """Who gets what: one row per employee with name, email, statement, attachment, sha256 and ``action``:

    ``send``              to be sent;
    ``already sent``      the log shows this period's statement sent to the person (``changed`` says whether
                          the statement differs from what was sent);
    ``no email address``  nothing in the ``email`` column: reported, not sent;
    ``address shared``    the same address is given for two or more people: not sent to any of them;
    ``interrupted: check`` a delivery was started but not confirmed: it may have arrived, so it is not sent
                          again unless the person is named in ``resend``;
    ``no statement file`` no page for the person in the folder.
    """
    folder = Path(folder)
    log = read_log(Path("/nonexistent")) if log is None else log
    state = delivery_state(log, period)
    resend = {str(e) for e in resend}
    ids = employees["employee_id"].astype(str).reset_index(drop=True)
    email = (employees["email"] if "email" in employees else pd.Series(pd.NA, index=employees.index))
    email = email.astype("string").str.strip().reset_index(drop=True)
    key = email.str.lower()
    shared = key.notna() & key.duplicated(keep=False)
    rows = []
    for i, eid in enumerate(ids):
        page = statement_file(folder, eid)
        pdf = page.with_suffix(".pdf")
        html = page.read_bytes() if page.exists() else None
        attachment = pdf.read_bytes() if pdf.exists() else None
        digest = content_hash(html, attachment) if html is not None else ""
        last = state.loc[eid] if eid in state.index else None
        changed = bool(last is not None and last["sha256"] != digest)
        if pd.isna(email.iloc[i]):
            action = NO_ADDRESS
        elif shared.iloc[i]:
            action = SHARED
        elif html is None:
            action = NO_STATEMENT
        elif last is not None and last["event"] == "sent" and eid not in resend:
            action = SENT
        elif last is not None and last["event"] == "sending" and eid not in resend:
            action = UNCERTAIN
        else:
            action = SEND
        rows.append({"employee_id": eid,
                     "name": "" if pd.isna(employees["name"].iloc[i]) else str(employees["name"].iloc[i]),
                     "email": "" if pd.isna(email.iloc[i]) else str(email.iloc[i]), "period": str(period),
                     "statement": page.name if html is not None else "",
                     "attachment": pdf.name if attachment is not None else "", "sha256": digest,
                     "action": action, "changed": changed,
                     "last_event_at": "" if last is None else str(last["at"])})
    return pd.DataFrame(rows)


def describe_plan(plan: pd.DataFrame, dry_run: bool) -> list[str]:
    """Plain lines for the terminal: one per person, then the counts per action."""
    verb = "would send" if dry_run else "sending"
    lines = []
    for r in plan.itertuples(index=False):
        who = f"{r.employee_id} {r.name}".strip()
        files = " + ".join(f for f in (r.statement, r.attachment) if f)
        if r.action == SEND:
            lines.append(f"  {verb}: {who} <{r.email}>: {files} (sha256 {r.sha256[:12]})")
        elif r.action == SENT:
            lines.append(f"  already sent: {who} <{r.email}> on {r.last_event_at}"
                         + (" (the statement has changed since; --resend to send the new one)" if r.changed else ""))
        elif r.action == NO_ADDRESS:
            lines.append(f"  NOT SENT, no email address: {who}")
        elif r.action == SHARED:
            lines.append(f"  NOT SENT, address {r.email} is given for more than one person: {who}")
        elif r.action == UNCERTAIN:
            lines.append(f"  NOT SENT, an earlier delivery to {who} <{r.email}> started at {r.last_event_at} was "
                         "interrupted: check whether it arrived; --resend to send again")
        else:
            lines.append(f"  NOT SENT, no statement file: {who}")
    counts = plan["action"].value_counts()
    lines.append(", ".join(f"{n} {a}" for a, n in counts.items()))
    return lines


# -------------------------------------------------------------------------------------------- sending


def build_message(settings: SmtpSettings, to: str, name: str, subject: str, html: bytes,
                  attachment: tuple[str, bytes] | None, message_id: str) -> EmailMessage:
    """A multipart message: a short plain-text part, the statement as the HTML part, the PDF attached."""
    msg = EmailMessage()
    msg["From"] = settings.sender
    msg["To"] = formataddr((name, to)) if name else to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    if settings.reply_to:
        msg["Reply-To"] = settings.reply_to
    msg.set_content("您的绩效考核与薪酬结果见本邮件的网页版正文" + ("及所附 PDF" if attachment else "") +
                    "。本邮件仅发给您本人，请勿转发。\n"
                    "Your statement is in the HTML part of this message. It is confidential.\n")
    msg.add_alternative(html.decode("utf-8"), subtype="html")
    if attachment is not None:
        msg.add_attachment(attachment[1], maintype="application", subtype="pdf", filename=attachment[0])
    return msg


def _connect(settings: SmtpSettings, password: str | None) -> smtplib.SMTP:
    context = ssl.create_default_context(cafile=settings.cafile)
    try:
        if settings.ssl:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout_seconds,
                                                  context=context)
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds)
        smtp.ehlo()
        if settings.starttls and not settings.ssl:
            if not smtp.has_extn("starttls"):
                smtp.quit()
                raise DeliveryError(M_("{host}:{port} does not offer STARTTLS; statements are not sent over an "
                                       "unencrypted connection (set starttls = false only for a relay inside the "
                                       "bank's own network)", host=settings.host, port=settings.port))
            smtp.starttls(context=context)
            smtp.ehlo()
        if settings.user is not None:
            smtp.login(settings.user, password or "")
    except smtplib.SMTPAuthenticationError as err:
        raise DeliveryError(M_("{host}:{port} refused the login of {user}: {code} {reply}", host=settings.host,
                               port=settings.port, user=settings.user, code=err.smtp_code,
                               reply=repr(err.smtp_error))) from None
    except (OSError, smtplib.SMTPException) as err:
        if isinstance(err, DeliveryError):
            raise
        raise DeliveryError(M_("cannot connect to the SMTP server {host}:{port}: {error}", host=settings.host,
                               port=settings.port, error=str(err))) from None
    return smtp


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def send_plan(plan: pd.DataFrame, folder: str | Path, settings: SmtpSettings, log_path: str | Path,
              password: str | None = None, sleep: Callable[[float], None] = time.sleep,
              limit: int | None = None) -> pd.DataFrame:
    """Send the rows of ``plan`` whose action is ``send``, one connection, ``throttle_seconds`` apart.

    Before each message a ``sending`` line is written to the log, after the server accepts it a ``sent`` line
    (with the Message-ID and the sha256 of the HTML and attachment); a refused recipient gets a ``failed`` line
    (a rerun tries again). ``limit``: send at most this many now (the rest on a later run). Returns the plan with
    an ``outcome`` column (sent, failed: reason, or the plan's action)."""
    folder, log_path = Path(folder), Path(log_path)
    refuse_reports_folder(log_path, "delivery logs")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    out = plan.copy()
    out["outcome"] = out["action"]
    todo = out.index[out["action"] == SEND]
    if limit is not None:
        todo = todo[:limit]
    if not len(todo):
        return out
    domain = settings.sender[settings.sender.rfind("@") + 1:].strip(" >")
    smtp = _connect(settings, password)
    try:
        for n, i in enumerate(todo):
            r = out.loc[i]
            page = folder / r["statement"]
            html = page.read_bytes()
            attachment = (r["attachment"], (folder / r["attachment"]).read_bytes()) if r["attachment"] else None
            digest = content_hash(html, attachment[1] if attachment else None)
            message_id = make_msgid(idstring="compkit", domain=domain)
            subject = settings.subject.format(period=r["period"], name=r["name"])
            msg = build_message(settings, r["email"], r["name"], subject, html, attachment, message_id)
            record = {"employee_id": r["employee_id"], "period": r["period"], "email": r["email"],
                      "message_id": message_id, "sha256": digest,
                      "files": [f for f in (r["statement"], r["attachment"]) if f]}
            if n:
                sleep(settings.throttle_seconds)
            _append(log_path, {**record, "event": "sending", "at": _now()})
            try:
                smtp.send_message(msg)
            except smtplib.SMTPRecipientsRefused as err:
                reason = "; ".join(f"{code} {text.decode(errors='replace')}" for code, text in
                                   err.recipients.values())
                _append(log_path, {**record, "event": "failed", "at": _now(), "error": reason})
                out.loc[i, "outcome"] = f"failed: {reason}"
                continue
            _append(log_path, {**record, "event": "sent", "at": _now()})
            out.loc[i, "outcome"] = "sent"
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            pass
    return out


@dataclass
class DeliveryReport:
    plan: pd.DataFrame
    log: Path
    dry_run: bool

    def lines(self) -> list[str]:
        head = ("dry run (nothing sent; add --confirm to send):" if self.dry_run
                else f"delivery (log: {self.log}):")
        body = describe_plan(self.plan, self.dry_run)
        if not self.dry_run and "outcome" in self.plan:
            sent = int((self.plan["outcome"] == "sent").sum())
            failed = self.plan.loc[self.plan["outcome"].str.startswith("failed"), ["employee_id", "outcome"]]
            body.append(f"sent {sent} message(s)" + "".join(f"; {r.employee_id} {r.outcome}"
                                                           for r in failed.itertuples()))
        return [head, *body]


def deliver_statements(employees: pd.DataFrame, folder: str | Path, period: str, confirm: bool = False,
                       settings: SmtpSettings | None = None, log_path: str | Path | None = None,
                       resend: Iterable[str] = (), environ: dict[str, str] | None = None,
                       sleep: Callable[[float], None] = time.sleep, limit: int | None = None) -> DeliveryReport:
    """Plan (and with ``confirm``, send) the statements in ``folder`` to the people in ``employees``.

    ``period``: the cycle (``2025``) or the last month of an interim statement (``2025-06``): a person gets one
    statement per period. A dry run (``confirm`` False) needs no settings and sends nothing."""
    folder = Path(folder)
    log_path = default_log(folder) if log_path is None else Path(log_path)
    log = read_log(log_path)
    unknown = sorted(set(map(str, resend)) - set(employees["employee_id"].astype(str)))
    if unknown:
        raise DeliveryError(M_("--resend {ids}: not an employee_id of the employees table", ids=", ".join(unknown)))
    plan = plan_delivery(employees, folder, period, log, resend)
    if not confirm:
        return DeliveryReport(plan, log_path, dry_run=True)
    if settings is None:
        raise DeliveryError(M_("sending needs the SMTP settings (--smtp FILE or {name})", name=SETTINGS_ENV))
    password = settings.password(environ)
    sent = send_plan(plan, folder, settings, log_path, password=password, sleep=sleep, limit=limit)
    return DeliveryReport(sent, log_path, dry_run=False)


def statement_period(period: str | None, cycle: str) -> str:
    """The period a statement covers, as the delivery log records it: the cycle for a final statement, the last
    month (YYYY-MM) for an interim one."""
    from compkit.feedback import through_month

    if period is None:
        return cycle
    through = through_month(period, cycle)
    return cycle if through == cycle_last_month(cycle) else through


def cycle_last_month(cycle: str) -> str:
    from compkit.data import cycle_periods

    return cycle_periods(cycle)[-1]


def send_statements_command(args, settings: SmtpSettings | None) -> int:
    """``compkit statements ... --send [--confirm]`` after the statements are written: print the plan (or what
    was sent). Exit status 1 when a message failed."""
    from compkit.data import load_dataset
    from compkit.policy import load_policy

    policy = load_policy(args.policy)
    data = load_dataset(args.data, policy=policy, cycle=args.cycle)
    out = refuse_reports_folder(args.out, "statements")
    report = deliver_statements(data.employees, out, statement_period(args.period, data.cycle),
                                confirm=args.confirm, settings=settings, log_path=args.delivery_log,
                                resend=args.resend, limit=args.send_limit)
    for line in report.lines():
        print(line)
    failed = report.plan.get("outcome", pd.Series(dtype=str)).astype(str).str.startswith("failed").any()
    return 1 if failed else 0
