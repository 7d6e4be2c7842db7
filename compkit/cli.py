"""The ``compkit`` command: sample, validate, evaluate, review, statements, appeal, targets.

Errors meant for the user (a bad policy file, bad data) are printed without a traceback and exit with 1;
a wrong command line exits with 2 (argparse's convention). Outputs are written atomically: a failed run
leaves nothing half-done.
"""
from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from compkit import __version__, i18n
from compkit.errors import CompkitError
from compkit.i18n import N_


def _add_policy_data(p: argparse.ArgumentParser, _: Callable[[str], str], candidate: bool = False,
                     encoding: bool = False) -> None:
    """--policy, --data, --cycle (and --encoding) with their help in the parser's language (``_``)."""
    p.add_argument("--policy", required=True, type=Path, help=_("policy YAML file (e.g. data/policies/2025.yaml)"))
    p.add_argument("--data", required=True, type=Path,
                   help=_("dataset: a folder of CSV/Parquet files or an Excel workbook (e.g. data/sample)"))
    p.add_argument("--cycle", default=None,
                   help=_("cycle to evaluate: YYYY or YYYYH1/YYYYH2 (default: the one holding the latest month)"))
    if encoding:
        p.add_argument("--encoding", default=None,
                       help=_("encoding of the CSV files, e.g. gbk or gb18030 (default: UTF-8 with or without BOM, "
                            "else GB18030)"))


def _lang(args: argparse.Namespace, policy: object = None) -> tuple[str, Callable[[str], str]]:
    """The language of the messages (--lang, else the policy's, else zh-CN) and its ``_``."""
    lang = i18n.resolve(getattr(args, "lang", None), policy)
    return lang, i18n.gettext(lang)


def cmd_sample(args: argparse.Namespace) -> int:
    from compkit.sample import make_sample

    _lang_, _ = _lang(args)
    sample = make_sample(managers=args.managers, year=args.year, seed=args.seed)
    written = sample.write(args.out)
    print(_("wrote a sample of {n} customer managers for {year} (seed {seed}) to {out}:").format(
        n=args.managers, year=args.year, seed=args.seed, out=args.out))
    for path in written:
        print(f"  {Path(path).name}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from compkit.data import load_dataset
    from compkit.policy import load_policy

    policy = load_policy(args.policy)
    data = load_dataset(args.data, policy=policy, cycle=args.cycle, encoding=args.encoding)
    emp = data.employees
    joiners = int((emp["hire_date"] >= data.cycle_start).sum())
    leavers = int((emp["exit_date"].notna() & (emp["exit_date"] <= data.cycle_end)).sum())
    months = sorted(data.metrics["period"].unique())
    lang, _ = _lang(args, policy)
    print(_("{data}: valid for policy {policy} {version}, cycle {cycle}").format(
        data=args.data, policy=policy.policy, version=policy.version, cycle=data.cycle))
    if data.set_aside:
        print(f"  {data.set_aside_note()}")
    people = _("people: {n} ({joiners} joined and {leavers} left during the cycle), months: {months} ({first} to "
               "{last})").format(n=len(emp), joiners=joiners, leavers=leavers, months=len(months), first=months[0],
                                 last=months[-1])
    print(f"  {people}")
    summary = data.summary()
    width = max(len(t) for t in summary["table"])
    for rec in summary.itertuples(index=False):
        counts = _("{rows} rows, {people} people").format(rows=f"{rec.rows:>8,}", people=f"{rec.employees:>6,}")
        print(f"  {rec.table:<{width}}  {counts}")
    if data.notes:
        print(_("accepted as the policy's inputs options say ({n}):").format(n=len(data.notes)))
        for note in data.notes[:50]:
            print(f"  - {note.text(lang)}")
        if len(data.notes) > 50:
            more = _("... and {n} more").format(n=len(data.notes) - 50)
            print(f"  {more}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from compkit.atomic import check_output
    from compkit.data import load_dataset
    from compkit.engine import evaluate
    from compkit.headers import sheet_label
    from compkit.policy import load_policy

    out = Path(args.out)
    check_output(out, "evaluate", {"data": args.data, "policy file": args.policy},
                 kind="file" if out.suffix.lower() == ".xlsx" else "folder")
    policy = load_policy(args.policy)
    data = load_dataset(args.data, policy=policy, cycle=args.cycle, encoding=args.encoding)
    from compkit.supervision import anomalies, anomaly_counts, reconciliation

    outcomes = evaluate(policy, data)
    lang, _ = _lang(args, policy)
    checks = {"reconciliation": reconciliation(data, outcomes, policy), "anomalies": anomalies(policy, data, outcomes)}
    if out.suffix.lower() == ".xlsx":
        outcomes.to_excel(out, extra=checks, lang=lang)
        sheet = lambda name: sheet_label(name, lang)  # noqa: E731 - the workbook's sheet names
    else:
        outcomes.to_csv(out, extra=checks)
        sheet = lambda name: f"{name}.csv"  # noqa: E731
    totals = outcomes.totals()
    print(_("evaluated {n} people, cycle {cycle}, policy {version}; wrote {out}").format(
        n=len(outcomes.summary), cycle=data.cycle, version=policy.version, out=out))
    if data.set_aside:
        print(f"  {data.set_aside_note()}")
    unit = i18n.currency_label(policy.currency, lang)
    for name, value in totals.items():
        print(f"  {i18n.term(name, lang):<22} {value:>18,.2f} {unit}")
    failed = checks["reconciliation"].loc[~checks["reconciliation"]["ok"], "check"].tolist()
    print(_("reconciliation: every check adds up to the cent") if not failed else
          _("reconciliation: FAILED: {checks}").format(checks=", ".join(failed)))
    counts = anomaly_counts(checks["anomalies"])
    flagged = counts[counts["flags"] > 0]
    print(_("supervision flags (see '{sheet}'): {flags}").format(
        sheet=sheet("anomalies"), flags=", ".join(f"{r.check} {r.flags}" for r in flagged.itertuples()) or _("none")))
    _print_compliance(outcomes, policy.currency, lang, sheet)
    return 0 if not failed else 1


def _print_compliance(outcomes, currency: str, lang: str | None = None,
                      sheet: Callable[[str], str] = lambda name: name) -> None:
    """One line per failed sound-pay check (rule names in ``lang``), and the clawbacks and wage bill in a sentence
    each."""
    from compkit.compliance import in_words

    _ = i18n.gettext(lang)
    unit = i18n.currency_label(currency, lang)
    checks = outcomes.compliance
    if len(checks):
        failed = in_words(checks[checks["status"] == "fail"], lang)
        print(_("sound-pay checks (see '{sheet}'): {failed} of {total} fail").format(
            sheet=sheet("compliance"), failed=len(failed), total=len(checks))
              + "".join("\n  {line}".format(line=_("{rule} [{population}]: {value} against {limit}, {people} people")
                                             .format(rule=r.rule, population=r.population, value=f"{r.value:.4g}",
                                                     limit=f"{r.limit:.4g}", people=r.people_affected))
                        for r in failed.itertuples()))
    claims = outcomes.clawbacks
    if len(claims):
        print(_("clawbacks (see '{sheet}'): {n} claims, {cancelled} {unit} cancelled from deferred pay, {recover} "
                "{unit} to recover from pay made").format(sheet=sheet("clawbacks"), n=len(claims), unit=unit,
                                                cancelled=f"{claims['cancelled'].sum():,.2f}",
                                                recover=f"{claims['to_recover'].sum():,.2f}"))
    if len(outcomes.allocation):
        top = outcomes.allocation.iloc[0]
        print(_("wage bill (see '{sheet}'): {pool} {unit} allocated over {levels} levels, {paid} paid out").format(
            sheet=sheet("allocation"), pool=f"{top['pool']:,.2f}", unit=unit,
            levels=int(outcomes.allocation["level"].max()), paid=f"{top['paid']:,.2f}"))


def cmd_review(args: argparse.Namespace) -> int:
    from compkit.report import run_review

    index = run_review(year=args.year, policy=args.policy, candidate=args.candidate, data=args.data, out=args.out,
                       budget=args.budget, scenarios=args.scenarios, seed=args.seed, lang=args.lang,
                       private=args.private, scheduler=args.scheduler)
    print(i18n.gettext(args.lang)("review written: {index}").format(index=index))
    return 0


def cmd_statements(args: argparse.Namespace) -> int:
    from compkit.feedback import write_statements

    settings = None
    if args.send and args.confirm:  # settings and password checked before anything is written
        from compkit.delivery import load_settings

        settings = load_settings(args.smtp)
        settings.password()
    written = write_statements(policy_path=args.policy, data_path=args.data, out=args.out, period=args.period,
                               cycle=args.cycle, publish=args.publish, lang=args.lang, pdf=args.pdf,
                               workers=args.workers)
    pages = sum(1 for p in written if p.suffix == ".html")
    _ = i18n.gettext(_statement_lang(args))
    print(_("wrote {n} statement(s) and statements.xlsx to {out} (private: do not share the folder)").format(
        n=pages, out=args.out))
    pdfs = sum(1 for p in written if p.suffix == ".pdf")
    if pdfs:
        print(_("and {n} PDF(s) (A4), one per person").format(n=pdfs))
    if args.publish is not None:
        print(_("published tables (no names, no employee ids): {folder}").format(folder=args.publish))
    if args.send:
        from compkit.delivery import send_statements_command

        return send_statements_command(args, settings)
    return 0


def _statement_lang(args: argparse.Namespace) -> str:
    """--lang, else the policy file's language (read once more: statements already validated it)."""
    if args.lang:
        return i18n.resolve(args.lang)
    from compkit.policy import load_policy

    return i18n.resolve(None, load_policy(args.policy))


def cmd_rules(args: argparse.Namespace) -> int:
    from compkit.rules import write_rules

    path = write_rules(args.policy, args.out, lang=args.lang)
    print(i18n.gettext(_statement_lang(args))("wrote the appraisal rules document (考核办法) to {path}").format(
        path=path))
    return 0


def cmd_appeal(args: argparse.Namespace) -> int:
    from compkit.appeals import run_appeals

    print(run_appeals(policy_path=args.policy, data_path=args.data, appeals_path=args.appeals, out=args.out,
                      cycle=args.cycle, as_of=args.as_of, lang=args.lang))
    return 0


def cmd_targets(args: argparse.Namespace) -> int:
    from compkit.targets import run_targets

    for line in run_targets(args.policy, args.data, args.unit_targets, args.out, share_reaching=args.share,
                            by=args.by, cycle=args.cycle, lang=args.lang):
        print(line)
    return 0


def build_parser(lang: str | None = None) -> argparse.ArgumentParser:
    """The command line, its help in ``lang`` (default Chinese). argparse's own words (usage, errors) follow
    the same language inside :func:`main` (see :func:`_argparse_language`)."""
    _ = i18n.gettext(lang)
    parser = argparse.ArgumentParser(
        prog="compkit",
        description=_("Policy modelling for the pay and performance appraisal of customer managers (客户经理)."),
        epilog=_("Run 'compkit COMMAND --help' for the options of a command."))
    parser.add_argument("--version", action="version", version=f"compkit {__version__}",
                        help=_("show program's version number and exit"))
    sub = parser.add_subparsers(dest="command", metavar=_("COMMAND"), title=_("commands"))
    _add = sub.add_parser

    def add_parser(*a, **k):  # every command takes --lang
        p = _add(*a, **k)
        p.add_argument("--lang", default=None, choices=["zh-CN", "en"],
                       help=_("language of what people read (statements, reports, workbook headers, messages); "
                            "default: the policy's language (zh-CN)"))
        return p

    sub.add_parser = add_parser  # type: ignore[method-assign]

    p = sub.add_parser("sample", help=_("write a synthetic, reproducible dataset of customer managers"),
                       description=_("Write a realistic synthetic dataset (same seed -> identical files)."))
    p.add_argument("--managers", type=int, default=1000, help=_("number of customer managers (default 1000)"))
    p.add_argument("--year", type=int, default=2025, help=_("cycle year (default 2025)"))
    p.add_argument("--seed", type=int, default=2025, help=_("random seed (default 2025)"))
    p.add_argument("--out", type=Path, required=True, help=_("folder to write the CSV files into"))
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("validate", help=_("check a dataset against the data contract and a policy"),
                       description=_("Validate a policy file and a dataset; print every problem found, or a summary."))
    _add_policy_data(p, _, encoding=True)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("evaluate", help=_("score, rate and pay everyone under a policy"),
                       description=_("Evaluate a policy on a dataset and write the outcome tables."))
    _add_policy_data(p, _, encoding=True)
    p.add_argument("--out", type=Path, required=True,
                   help=_("results.xlsx (a workbook, a sheet per table) or a folder (one CSV per table)"))
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("review", help=_("the yearly policy review: calibration, fairness and policy review reports"),
                       description=_("Run the review notebooks with papermill and write HTML reports, index.html "
                                   "and manifest.json."))
    p.add_argument("--year", required=True, help=_("the year under review (e.g. 2025)"))
    p.add_argument("--policy", required=True, type=Path, help=_("this year's policy YAML"))
    p.add_argument("--candidate", required=True, type=Path, help=_("next year's candidate policy YAML"))
    p.add_argument("--data", required=True, type=Path, help=_("this year's dataset"))
    p.add_argument("--out", required=True, type=Path, help=_("report folder (e.g. reports/2025)"))
    p.add_argument("--budget", type=float, default=None, help=_("cost budget (default: the policy's budget)"))
    p.add_argument("--scenarios", type=int, default=1000, help=_("Monte Carlo scenarios (default 1000)"))
    p.add_argument("--seed", type=int, default=0, help=_("random seed of the simulation (default 0)"))
    p.add_argument("--private", type=Path, default=None,
                   help=_("private folder (refused under reports/) for the per-person tables of the review "
                        "(calibrated scores, changes under the candidate); default: not written"))
    p.add_argument("--scheduler", default=None,
                   help=_("a Dask scheduler's address (tcp://host:8786): the Monte Carlo's scenarios run on its "
                        "workers, with the same results as here (pip install 'compkit[dask]'); default: this "
                        "machine's cores"))
    p.set_defaults(func=cmd_review)

    p = sub.add_parser("statements", help=_("per-employee feedback statements (confidential)"),
                       description=_("Write one statement per employee (HTML) and a workbook of all, to a private "
                                   "folder outside reports/."))
    _add_policy_data(p, _)
    p.add_argument("--out", type=Path, required=True,
                   help=_("private folder for the statements (refused under reports/), e.g. private/statements"))
    p.add_argument("--period", default=None,
                   help=_("interim statement, cycle to date through a month (2025-06) or quarter (2025Q2), or "
                        "'latest': the latest month or complete quarter as the policy's feedback.frequency says; "
                        "default: the final statement for the whole cycle"))
    p.add_argument("--publish", type=Path, default=None,
                   help=_("also write the published tables (results with pseudonyms, ratings by branch) to this "
                        "folder; needs COMPKIT_PSEUDONYM_KEY or COMPKIT_PSEUDONYM_KEY_FILE"))
    p.add_argument("--send", action="store_true",
                   help=_("email each person their own statement (the employees' email column); a dry run that "
                        "lists what would be sent unless --confirm is given"))
    p.add_argument("--confirm", action="store_true", help=_("with --send: really send (default: dry run)"))
    p.add_argument("--smtp", type=Path, default=None,
                   help=_("SMTP settings file outside the repository (default: $COMPKIT_SMTP_SETTINGS or "
                        "~/.config/compkit/smtp.toml); the password from $COMPKIT_SMTP_PASSWORD or a file"))
    p.add_argument("--resend", action="append", default=[], metavar="EMPLOYEE_ID",
                   help=_("with --send: send this person's statement again although the delivery log shows it sent "
                        "or interrupted (repeatable)"))
    p.add_argument("--send-limit", dest="send_limit", type=int, default=None,
                   help=_("with --send --confirm: send at most this many messages now (the rest on a later run)"))
    p.add_argument("--delivery-log", dest="delivery_log", type=Path, default=None,
                   help=_("the delivery log (default: OUT-delivery.jsonl beside the statement folder)"))
    p.add_argument("--pdf", action="store_true",
                   help=_("also print each statement to a PDF (A4) with headless Chromium (apt-get install chromium)"))
    p.add_argument("--workers", type=int, default=None,
                   help=_("processes that write the statement pages (default: $COMPKIT_WORKERS, else the number of "
                        "CPUs); the files are the same whatever the number"))
    p.set_defaults(func=cmd_statements)

    p = sub.add_parser("rules", help=_("the appraisal rules document (考核办法) employees read before the cycle"),
                       description=_("Write OUT/rules.html from the policy file: each indicator with its weight and "
                                   "curve in words and a chart, rating bands and guided shares, commission tiers, "
                                   "the bonus curve, the salary review matrix, promotion and demotion rules, the "
                                   "appeal window."))
    p.add_argument("--policy", required=True, type=Path, help=_("policy YAML file (e.g. data/policies/2025.yaml)"))
    p.add_argument("--out", required=True, type=Path, help=_("folder to write rules.html into"))
    p.set_defaults(func=cmd_rules)

    p = sub.add_parser("appeal", help=_("apply upheld appeals, re-evaluate, and log the audit trail"),
                       description=_("Correct a copy of the data for upheld appeals, re-evaluate with the same "
                                   "engine, write the before/after diff and the register (with days to decision) "
                                   "to OUT/<run id>/, and append each decision to OUT/audit_log.jsonl. The "
                                   "original data and earlier results are never changed; the same inputs twice "
                                   "change nothing."))
    _add_policy_data(p, _)
    p.add_argument("--appeals", type=Path, default=None,
                   help=_("appeals CSV or .xlsx (the appeals table of the contract); default: the dataset's own "
                        "appeals table"))
    p.add_argument("--out", type=Path, required=True,
                   help=_("private folder for the results and the audit log (refused under reports/)"))
    p.add_argument("--as-of", dest="as_of", default=None,
                   help=_("date (YYYY-MM-DD) to count open appeals' days from (default: the latest date in the "
                        "register)"))
    p.set_defaults(func=cmd_appeal)

    p = sub.add_parser("targets", help=_("next cycle's targets for each person, broken down from the unit targets"),
                       description=_("Break each unit's next-cycle target down to its customer managers from their "
                                   "own results and the unit's market, so that a chosen share can reach 100%%; "
                                   "write the monthly targets (employee_id, period, indicator, target) as a "
                                   "targets table the next cycle's dataset loads."))
    _add_policy_data(p, _)
    p.add_argument("--unit-targets", dest="unit_targets", type=Path, required=True,
                   help=_("CSV or .xlsx: branch (or --by), indicator, target (the unit's total for the next cycle)"))
    p.add_argument("--share", type=float, default=0.5,
                   help=_("share of managers who should reach 100%% of their target (default 0.5)"))
    p.add_argument("--by", default="branch", help=_("the unit column of the employees table (default branch)"))
    p.add_argument("--out", type=Path, required=True,
                   help=_("the targets file to write, e.g. private/targets.csv (refused under reports/)"))
    p.set_defaults(func=cmd_targets)
    return parser


# argparse's own messages that a user of compkit meets (Python 3.11's wording), marked for the catalog so that
# usage lines and command-line errors read in the user's language like every other message.
ARGPARSE_MESSAGES = (
    N_("usage: "), N_("positional arguments"), N_("options"), N_("show this help message and exit"),
    N_("show program's version number and exit"), N_("%(prog)s: error: %(message)s\n"),
    N_("argument %(argument_name)s: %(message)s"), N_("the following arguments are required: %s"),
    N_("unrecognized arguments: %s"), N_("expected one argument"), N_("expected at most one argument"),
    N_("expected at least one argument"), N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("invalid %(type)s value: %(value)r"), N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("not allowed with argument %s"), N_("ignored explicit argument %r"), N_("one of the arguments %s is required"),
)


@contextlib.contextmanager
def _argparse_language(lang: str) -> Iterator[None]:
    """argparse's own words (``usage:``, ``the following arguments are required``...) in ``lang`` while parsing.

    argparse looks its messages up through the module's ``_`` (gettext), the hook its documentation names for
    translating them; compkit points it at its own catalog for the parse and puts the original back after."""
    original = argparse._  # type: ignore[attr-defined]
    argparse._ = i18n.gettext(lang)  # type: ignore[attr-defined]
    try:
        yield
    finally:
        argparse._ = original  # type: ignore[attr-defined]


def _argv_lang(argv: Sequence[str]) -> str:
    """The language of the command line's help and errors, read before parsing: ``--lang`` if given, else the
    language the ``--policy`` file names (as :func:`_error_lang` reads it), else Chinese."""
    found: dict[str, str] = {}
    for i, word in enumerate(argv):
        for option in ("--lang", "--policy"):
            if word == option and i + 1 < len(argv):
                found[option] = argv[i + 1]
            elif word.startswith(option + "="):
                found[option] = word.split("=", 1)[1]
    lang = found.get("--lang")
    if lang not in (None, "zh-CN", "en"):
        lang = None  # an unknown --lang is itself an error; say it in the default language
    return _error_lang(argparse.Namespace(lang=lang, policy=found.get("--policy")))


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    lang = _argv_lang(argv)
    with _argparse_language(lang):  # argparse words its -h and group titles when the parser is built
        parser = build_parser(lang)
        args = parser.parse_args(argv)
        if not getattr(args, "command", None):
            parser.print_help()
            return 2
    func: Callable[[argparse.Namespace], int] = args.func
    lang = _error_lang(args)
    before = i18n.use(lang)  # str(error) in the run's language too (an error's text inside another message)
    try:
        return func(args)
    except CompkitError as err:
        print(f"compkit {args.command}: {err.message(lang)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(i18n.gettext(lang)("interrupted; nothing was written"), file=sys.stderr)
        return 130
    except OSError as err:  # permission denied, disk full, name too long...: one line, never a traceback
        print(f"compkit {args.command}: {os_error_message(err, lang)}", file=sys.stderr)
        return 1
    finally:
        i18n.use(before)


def _error_lang(args: argparse.Namespace) -> str:
    """The language of an error message: --lang, else the ``language`` the policy file names (read leniently:
    the file may be the very thing that is wrong), else Chinese."""
    if getattr(args, "lang", None):
        return i18n.resolve(args.lang)
    policy = getattr(args, "policy", None)
    try:
        import yaml

        with open(policy, encoding="utf-8") as fh:
            language = (yaml.safe_load(fh) or {}).get("language")
        return i18n.resolve(language)
    except Exception:  # noqa: BLE001 - no policy, unreadable, not YAML, no or an unknown language: the default
        return i18n.DEFAULT


def os_error_message(err: OSError, lang: str | None = None) -> str:
    """One line for a file-system error in ``lang``: what failed, on which file, and what to do."""
    import errno

    _ = i18n.gettext(lang)
    hints = {errno.ENOSPC: N_("the disk is full; free some space and run again"),
             errno.EDQUOT: N_("the disk quota is exceeded; free some space and run again"),
             errno.EACCES: N_("permission denied; choose a folder you may write to"),
             errno.EPERM: N_("operation not permitted; choose a folder you may write to"),
             errno.ENAMETOOLONG: N_("a file name is too long (an id of more than 60 characters?); shorten the path"),
             errno.EROFS: N_("the file system is read-only; choose another folder"),
             errno.ENOENT: N_("no such file or folder")}
    hint = hints.get(err.errno or -1)
    text = _(hint) if hint else (err.strerror or str(err))
    if err.filename and err.filename2:
        line = _("cannot read or write {file} -> {other}: {problem}; earlier outputs were left as they were").format(
            file=err.filename, other=err.filename2, problem=text)
    elif err.filename:
        line = _("cannot read or write {file}: {problem}; earlier outputs were left as they were").format(
            file=err.filename, problem=text)
    else:
        line = _("cannot read or write: {problem}; earlier outputs were left as they were").format(problem=text)
    return line.replace("\n", " ")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
